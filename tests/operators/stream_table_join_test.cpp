// Stream-table joins in the operators: the planner (where the table is read, where a key change
// cuts), validation, and the sub-topology processor applying table records and joining.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "operators/sub_topology_processor.hpp"
#include "operators/table_row.hpp"
#include "operators/topology_validation.hpp"
#include "tests/operators/operator_test_support.hpp"

namespace sluice::operators {
namespace {

using testing::contains;
using testing::make_step;
using testing::problems;
using namespace std::chrono_literals;

step join_step(std::string table, join_kind kind = join_kind::inner, std::string name = "j") {
  step s;
  s.kind = step_kind::join;
  s.name = std::move(name);
  s.into = table;
  s.table = std::move(table);
  s.join = kind;
  return s;
}

topology enrichment(std::vector<step> steps) {
  topology t;
  t.name = "app";
  t.sources = {source_spec{{"orders"}, data_format::string, data_format::json}};
  t.tables = {
      table_source_spec{"customers", "customer-topic", data_format::string, data_format::json}};
  t.steps = std::move(steps);
  t.sinks = {sink_spec{"out", data_format::string, data_format::json}};
  return t;
}

TEST(stream_table_join_plan, the_sub_topology_with_the_join_reads_the_table_topic_into_a_store) {
  auto plan = plan_topology(enrichment({join_step("customers")}));
  ASSERT_EQ(plan.sub_topologies.size(), 1U);
  const auto& sub = plan.sub_topologies[0];
  ASSERT_EQ(sub.sources.size(), 2U);
  EXPECT_EQ(sub.sources[1],
            (source_spec{{"customer-topic"}, data_format::string, data_format::json}));
  ASSERT_EQ(sub.tables.size(), 1U);
  EXPECT_EQ(sub.tables[0].name, "customers");
  ASSERT_EQ(sub.stores.size(), 1U);
  EXPECT_EQ(sub.stores[0], (store_plan{"customers-table", store_kind::key_value,
                                       "app-customers-table-changelog", 0ms}));
}

TEST(stream_table_join_plan, a_table_restored_from_its_topic_has_no_changelog) {
  auto t = enrichment({join_step("customers")});
  t.tables[0].restore_from = table_restore::source;
  auto plan = plan_topology(t);
  const auto& sub = plan.sub_topologies.at(0);
  ASSERT_EQ(sub.stores.size(), 1U);
  EXPECT_EQ(sub.stores[0],
            (store_plan{"customers-table", store_kind::key_value, "", 0ms, "customer-topic"}));
  EXPECT_FALSE(sub.stores[0].changelogged());
  // The topic it is restored from is the one the task reads the table from.
  EXPECT_EQ(sub.sources.at(1).topics, (std::vector<std::string>{"customer-topic"}));
  EXPECT_TRUE(plan.changelog_topics.empty());
}

TEST(stream_table_join_plan, only_the_table_restored_from_its_topic_loses_its_changelog) {
  auto t = enrichment({join_step("customers"), join_step("regions", join_kind::left, "j2")});
  t.tables.push_back(table_source_spec{"regions",
                                       "region-topic",
                                       data_format::string,
                                       data_format::json,
                                       {},
                                       table_restore::source});
  t.table =
      table_aggregation_spec{"per-key", {aggregation_spec{"n", aggregate_function::count, "", ""}}};
  auto plan = plan_topology(t);
  EXPECT_EQ(plan.changelog_topics, (std::vector<std::string>{"app-customers-table-changelog",
                                                             "app-per-key-store-changelog"}));
  const auto& stores = plan.sub_topologies.at(0).stores;
  ASSERT_EQ(stores.size(), 3U);
  EXPECT_TRUE(stores[0].changelogged());
  EXPECT_EQ(stores[1].source_topic, "region-topic");
}

TEST(stream_table_join_plan, restore_from_names_round_trip) {
  for (auto restore : {table_restore::changelog, table_restore::source}) {
    EXPECT_EQ(parse_table_restore(to_string(restore)), restore);
  }
  EXPECT_EQ(parse_table_restore("compacted"), std::nullopt);
}

TEST(stream_table_join_plan, a_key_change_before_the_join_and_again_before_the_table_makes_three) {
  auto t = enrichment({make_step(step_kind::select_key, "value.customer", "by-customer"),
                       join_step("customers"),
                       make_step(step_kind::select_key, "value.customers.country", "by-country")});
  t.table = table_aggregation_spec{"per-country",
                                   {aggregation_spec{"n", aggregate_function::count, "", ""}}};
  auto plan = plan_topology(t);
  ASSERT_EQ(plan.sub_topologies.size(), 3U);
  EXPECT_EQ(plan.repartition_topics, (std::vector<std::string>{"app-by-customer-repartition",
                                                               "app-by-country-repartition"}));
  const auto& first = plan.sub_topologies[0];
  const auto& second = plan.sub_topologies[1];
  const auto& third = plan.sub_topologies[2];
  EXPECT_EQ(first.steps.size(), 1U);
  EXPECT_TRUE(first.tables.empty());
  EXPECT_EQ(first.sinks.at(0).topic, "app-by-customer-repartition");
  EXPECT_EQ(second.sources.size(), 2U);  // the repartition topic and the table's topic
  EXPECT_EQ(second.steps.size(), 2U);    // the join and the second key change
  EXPECT_EQ(second.tables.size(), 1U);
  EXPECT_EQ(second.sinks.at(0).topic, "app-by-country-repartition");
  EXPECT_TRUE(third.steps.empty());
  EXPECT_TRUE(third.table);
  EXPECT_EQ(third.sinks.at(0).topic, "out");
  EXPECT_EQ(plan.changelog_topics, (std::vector<std::string>{"app-customers-table-changelog",
                                                             "app-per-country-store-changelog"}));
}

TEST(stream_table_join_validation, every_mistake_names_its_field) {
  auto t = enrichment({join_step("customrs", join_kind::inner, "a"),
                       join_step("customers", join_kind::inner, "b"),
                       join_step("customers", join_kind::left, "c")});
  t.tables.push_back(table_source_spec{"unused", "orders", data_format::string, data_format::json});
  t.after.push_back(join_step("customers", join_kind::inner, "d"));
  const auto all = problems(t);
  EXPECT_TRUE(
      contains(all, "steps[0].join.table: no table 'customrs' in tables: (customers, unused)"))
      << ::testing::PrintToString(all);
  EXPECT_TRUE(contains(all, "tables[0]: table 'customers' is joined by 2 steps"));
  EXPECT_TRUE(contains(all, "tables[1]: table 'unused' is not joined by any step"));
  EXPECT_TRUE(contains(all, "tables[1].topic: topic 'orders' is also a stream source"));
  EXPECT_TRUE(contains(
      all, "after[0].join: a join runs in steps: (not after an aggregation nor in a sink)"));
}

TEST(stream_table_join_validation, a_valid_join_passes) {
  EXPECT_TRUE(problems(enrichment({join_step("customers", join_kind::left)})).empty());
}

raw_record raw(std::string topic, std::optional<std::string> key, std::optional<std::string> value,
               std::int64_t offset) {
  return raw_record{
      record_origin{std::move(topic), 0, offset}, std::move(key), std::move(value), 7, {}};
}

class join_harness {
 public:
  explicit join_harness(join_kind kind)
      : plan_(plan_topology(enrichment({join_step("customers", kind)})).sub_topologies.at(0)),
        processor_(plan_, stores_, registry_) {}

  // The values the record produced, as JSON text; fails the test on an error.
  std::vector<std::string> feed(std::string topic, std::optional<std::string> key,
                                std::optional<std::string> value) {
    std::vector<output_record> out;
    auto e =
        processor_.process(raw(std::move(topic), std::move(key), std::move(value), offset_++), out);
    EXPECT_FALSE(e) << (e ? e->describe() : "");
    std::vector<std::string> values;
    values.reserve(out.size());
    for (const auto& o : out) values.push_back(o.value.value_or("<null>"));
    return values;
  }
  std::optional<processing_error> feed_error(std::string topic, std::string key,
                                             std::string value) {
    std::vector<output_record> out;
    auto e =
        processor_.process(raw(std::move(topic), std::move(key), std::move(value), offset_++), out);
    EXPECT_TRUE(out.empty());
    return e;
  }
  const sub_topology_processor& processor() const { return processor_; }
  state::kv_store& table() { return stores_.kv_store(plan_.stores.at(0)); }
  const table_source_spec& table_spec() const { return plan_.tables.at(0); }

 private:
  sub_topology plan_;
  in_memory_store_provider stores_;
  function_registry registry_;
  sub_topology_processor processor_;
  std::int64_t offset_ = 0;
};

using strings = std::vector<std::string>;

TEST(stream_table_join, a_left_join_adds_the_latest_table_value_or_null) {
  join_harness h(join_kind::left);
  EXPECT_EQ(h.feed("orders", "c1", R"({"id":1})"), (strings{R"({"id":1,"customers":null})"}));
  EXPECT_EQ(h.feed("customer-topic", "c1", R"({"name":"Ann"})"), strings{});  // no output
  EXPECT_EQ(h.feed("orders", "c1", R"({"id":2})"),
            (strings{R"({"id":2,"customers":{"name":"Ann"}})"}));
  h.feed("customer-topic", "c1", R"({"name":"Anna"})");
  EXPECT_EQ(h.feed("orders", "c1", R"({"id":3})"),
            (strings{R"({"id":3,"customers":{"name":"Anna"}})"}));
  h.feed("customer-topic", "c1", std::nullopt);  // a tombstone deletes the customer
  EXPECT_EQ(h.feed("orders", "c1", R"({"id":4})"), (strings{R"({"id":4,"customers":null})"}));
  EXPECT_EQ(h.processor().metrics().snapshot().table_records, 3U);
}

// A table restored from its own topic (table_restore::source) turns each record of the topic into
// its store change with table_row_change: exactly the bytes processing the record writes.
TEST(stream_table_join, a_row_restored_from_the_topic_is_what_processing_writes) {
  join_harness h(join_kind::left);
  h.feed("customer-topic", "c1", R"({"name": "Ann", "since": 2020})");
  const auto restored = table_row_change(h.table_spec(), std::string("c1"),
                                         std::string(R"({"name": "Ann", "since": 2020})"),
                                         record_origin{"customer-topic", 0, 0});
  ASSERT_TRUE(restored);
  ASSERT_TRUE(restored->value);
  EXPECT_EQ(h.table().get(restored->key), restored->value);

  const auto tombstone = table_row_change(h.table_spec(), std::string("c1"), std::nullopt,
                                          record_origin{"customer-topic", 0, 1});
  ASSERT_TRUE(tombstone);
  EXPECT_EQ(tombstone->key, restored->key);
  EXPECT_FALSE(tombstone->value) << "a null value deletes the row";
  EXPECT_FALSE(table_row_change(h.table_spec(), std::nullopt, std::string("{}"),
                                record_origin{"customer-topic", 0, 2}))
      << "no row without a key";
  EXPECT_FALSE(table_row_change(h.table_spec(), std::string("c1"), std::string("{not json"),
                                record_origin{"customer-topic", 0, 3}))
      << "a record that does not decode is skipped";
}

TEST(stream_table_join, an_inner_join_drops_keys_the_table_lacks) {
  join_harness h(join_kind::inner);
  h.feed("customer-topic", "c1", R"({"name":"Ann"})");
  h.feed("customer-topic", std::nullopt, R"({"name":"nobody"})");  // no key: ignored
  EXPECT_EQ(h.feed("orders", "c2", R"({"id":1})"), strings{});
  EXPECT_EQ(h.feed("orders", "c1", R"({"id":2})"),
            (strings{R"({"id":2,"customers":{"name":"Ann"}})"}));
  EXPECT_EQ(h.processor().metrics().snapshot().table_records, 1U);
}

TEST(stream_table_join, a_value_that_is_not_an_object_is_an_error_naming_the_table) {
  join_harness h(join_kind::left);
  auto e = h.feed_error("orders", "c1", "[1,2]");
  ASSERT_TRUE(e);
  EXPECT_NE(e->describe().find(
                "join with table 'customers' adds member 'customers' to the value, which must be "
                "an object, got [1,2]"),
            std::string::npos)
      << e->describe();
}

}  // namespace
}  // namespace sluice::operators
