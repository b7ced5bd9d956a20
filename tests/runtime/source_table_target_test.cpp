// source_table_target: a table restored from its own topic is restored (and followed by a
// standby) from that input partition, up to the given end, each record turned into exactly the
// store change processing makes of it. RocksDB for real, no broker.
#include "runtime/source_table_target.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>

#include "operators/table_row.hpp"
#include "tests/runtime/join_test_support.hpp"

namespace sluice::runtime {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

kafka::consumer_record record_of(const std::string& key, const std::optional<std::string>& value,
                                 std::int64_t offset) {
  kafka::consumer_record r;
  r.topic = "customers";
  r.partition = 1;
  r.offset = offset;
  r.key = kafka::protocol::as_bytes_view(key);
  if (value) r.value = kafka::protocol::as_bytes_view(*value);
  return r;
}

TEST(source_table_target, reads_the_input_partition_up_to_the_end_as_processing_would_apply_it) {
  const auto topology = test_support::enrichment("source-target-test", "orders", "customers", "out",
                                                 operators::delivery_guarantee::exactly_once,
                                                 operators::table_restore::source);
  const auto plan = operators::plan_topology(topology);
  const auto dir =
      fs::temp_directory_path() / ("sluice-source-target-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  operators::function_registry registry;
  {
    auto t = open_task(
        {0, 1}, plan.sub_topologies.at(0), dir, topology.name,
        std::make_shared<state::rocksdb::memory_budget>(state::rocksdb::memory_budget_config{}),
        registry);
    auto source = std::find_if(t->stores().begin(), t->stores().end(),
                               [](const task_store& entry) { return entry.from_source(); });
    ASSERT_NE(source, t->stores().end()) << "the table's store is restored from its topic";

    const auto target = source_table_target(*t, *source, 42);
    EXPECT_EQ(target.store, &source->store->store());
    EXPECT_EQ(target.changelog, (kafka::topic_partition{"customers", 1}))
        << "the task's partition of the table's own topic";
    EXPECT_EQ(target.end, 42);
    ASSERT_TRUE(target.convert);

    const std::string row = R"({"name":"Ann"})";
    EXPECT_EQ(target.convert(record_of("c1", row, 3)),
              operators::table_row_change(json::value("c1"), json::parse(row)))
        << "a row as processing writes it";
    EXPECT_EQ(target.convert(record_of("c1", std::nullopt, 4)),
              operators::table_row_change(json::value("c1"), json::value(nullptr)))
        << "a tombstone deletes the row";
    ASSERT_TRUE(target.convert(record_of("c1", std::nullopt, 4)));
    EXPECT_FALSE(target.convert(record_of("c1", std::nullopt, 4))->value);
    EXPECT_FALSE(target.convert(record_of("c2", "not json", 5))) << "undecodable: skipped";
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sluice::runtime
