// standby_tasks' knowledge of local state that is not open: the offset sums a member reports for
// task directories left on disk (what lets the assignor send a task back to where its state is),
// and the deletion of state unused for longer than the cleanup delay. RocksDB for real; the
// consumer is never started (no broker: nothing here reads a changelog).
#include "runtime/standby_tasks.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include "kafka/consumer/consumer.hpp"
#include "tests/runtime/app_test_support.hpp"

namespace sluice::runtime {
namespace {

namespace fs = std::filesystem;

// Never started: a placeholder address is enough.
kafka::client_config unstarted_client() {
  kafka::client_config config;
  config.bootstrap_servers = kafka::parse_bootstrap_servers("127.0.0.1:1");
  return config;
}

// Never called here: no standby is opened.
asio::awaitable<std::map<kafka::topic_partition, std::int64_t>> no_lookup(
    std::vector<kafka::topic_partition> /*partitions*/) {
  co_return std::map<kafka::topic_partition, std::int64_t>{};
}

struct fixture {
  fixture()
      : topology(test_support::counting_pipeline("standby-test", "in", "out",
                                                 operators::delivery_guarantee::exactly_once)),
        plan(operators::plan_topology(topology)),
        app_dir(fs::temp_directory_path() / ("sluice-standby-test-" + std::to_string(::getpid())) /
                topology.name),
        memory(std::make_shared<state::rocksdb::memory_budget>(
            state::rocksdb::memory_budget_config{})),
        consumer(context.get_executor(), restore_consumer_config(unstarted_client())) {
    fs::remove_all(app_dir.parent_path());
    fs::create_directories(app_dir);
  }
  ~fixture() { fs::remove_all(app_dir.parent_path()); }

  // A task directory whose every store committed up to `offset` (0: created, nothing committed).
  void leave_state(task_id id, std::int64_t offset) {
    auto t = open_task(id, plan.sub_topologies.at(0), app_dir, topology.name, memory, registry);
    if (offset > 0) {
      for (auto& entry : t->stores()) entry.store->store().commit({offset});
    }
    t->flush();
  }

  asio::io_context context;
  operators::topology topology;
  operators::topology_plan plan;
  operators::function_registry registry;
  fs::path app_dir;
  std::shared_ptr<state::rocksdb::memory_budget> memory;
  kafka::consumer consumer;
};

TEST(standby_tasks, the_report_gives_the_offset_sums_of_state_left_on_disk) {
  fixture f;
  const auto stores = static_cast<std::int64_t>(f.plan.sub_topologies.at(0).stores.size());
  ASSERT_GT(stores, 0);
  f.leave_state({0, 1}, 40);
  f.leave_state({0, 2}, 0);  // a directory without committed state is no state
  fs::create_directories(f.app_dir / "not-a-task");
  standby_tasks standbys(f.topology, f.plan, f.registry, f.app_dir, f.memory, f.consumer,
                         no_lookup);
  standbys.scan_local_state({});
  const auto report = standbys.report("host:1", {});
  EXPECT_EQ(report.process, "host:1");
  EXPECT_EQ(report.offset_sums, (std::map<task_id, std::int64_t>{{{0, 1}, 40 * stores}}));
  EXPECT_TRUE(report.standbys.empty());
  standbys.remember_on_disk({0, 3}, 7);
  EXPECT_EQ(standbys.report("host:1", {}).offset_sums.at({0, 3}), 7)
      << "a task closed here is reported too";
}

TEST(standby_tasks, state_unused_past_the_delay_is_deleted_but_never_an_open_tasks) {
  fixture f;
  f.leave_state({0, 0}, 10);
  f.leave_state({0, 1}, 10);
  standby_tasks standbys(f.topology, f.plan, f.registry, f.app_dir, f.memory, f.consumer,
                         no_lookup);
  standbys.scan_local_state({});
  EXPECT_EQ(standbys.delete_unused_state(std::chrono::hours(1), {}), 0U)
      << "not unused for long enough";
  EXPECT_TRUE(fs::exists(f.app_dir / "0_0"));
  EXPECT_EQ(standbys.delete_unused_state(std::chrono::seconds(0), {{0, 1}}), 1U);
  EXPECT_FALSE(fs::exists(f.app_dir / "0_0"));
  EXPECT_TRUE(fs::exists(f.app_dir / "0_1")) << "0_1 is active here";
  EXPECT_EQ(standbys.report("host:1", {}).offset_sums.count({0, 0}), 0U)
      << "deleted state is not reported";
}

}  // namespace
}  // namespace sluice::runtime
