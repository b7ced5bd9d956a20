// Standbys of a table restored from its own topic (restore_from: source) against the real broker,
// under exactly_once and at_least_once: an order stream joined with a customers table, one
// partition, standby_replicas 1 on two processes. The standby reads the table's topic only up to
// the group's committed offset: while the active process reads 20 more customer rows and fails to
// commit them, the standby does not apply them (the topic holds them all the while), and when the
// active process dies with them uncommitted, the other one takes the task over from its standby
// restoring nothing, processes the 20 rows as its input and joins every order with the customer
// record of its time.
#include <atomic>

#include "tests/runtime/join_test_support.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;
namespace fs = std::filesystem;

constexpr std::int32_t partitions = 1;
constexpr int first_rows = 50;  // customers c0..c49, "v1"
constexpr int held_rows = 20;   // c0..c19 again, "v2", processed but never committed by the first

std::string key_of(int customer_index) {
  return "c" + std::to_string(customer_index);
}

std::vector<std::pair<std::string, std::optional<std::string>>> customer_rows(int count,
                                                                              const char* name) {
  std::vector<std::pair<std::string, std::optional<std::string>>> rows;
  rows.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) rows.emplace_back(key_of(i), customer(name));
  return rows;
}

// While `hold` is set every commit fails where the delivery guarantee would make the input
// offsets the group's: under exactly-once just before commit_transaction (a retriable error: the
// transaction is aborted and the records processed again, until the fifth failure in a row stops
// the process); under at-least-once once the outputs are confirmed, before the stores and the
// offsets (the process stops at once). Either way the group's committed offset stays where it was.
commit_hooks holding(operators::delivery_guarantee delivery, const std::atomic<bool>& hold) {
  commit_hooks hooks;
  auto fail = [&hold] {
    if (hold) {
      throw kafka::kafka_error(std::make_error_code(std::errc::timed_out),
                               "injected: the commit is held", true);
    }
  };
  if (delivery == operators::delivery_guarantee::exactly_once) {
    hooks.before_transaction_commit = fail;
  } else {
    hooks.after_kafka_commit = fail;
  }
  return hooks;
}

struct fixture {
  std::string orders = test::unique_topic("standby-orders");
  std::string customers = test::unique_topic("standby-customers");
  std::string output = test::unique_topic("standby-enriched");
  std::string app = test::unique_topic("standby-join-app");
  runtime_config config_a;
  runtime_config config_b;

  fixture() {
    for (const auto& topic : {orders, customers}) {
      run_coroutine([&](asio::any_io_executor executor) {
        return create_topic(executor, topic, partitions);
      });
    }
    config_a.client = client();
    config_a.state_dir = fs::temp_directory_path() / ("sluice-it-" + app);
    config_a.standby_replicas = 1;
    config_a.session_timeout = std::chrono::milliseconds(6000);
    config_b = config_a;
    config_a.process_id = "process-a";
    config_b.process_id = "process-b";
    config_b.state_dir = fs::temp_directory_path() / ("sluice-it-" + app + "-b");
  }
  ~fixture() {
    for (const auto& dir : {config_a.state_dir, config_b.state_dir}) fs::remove_all(dir);
  }
  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;

  void produce(const std::string& topic,
               std::vector<std::pair<std::string, std::optional<std::string>>> records) const {
    run_coroutine(
        [&](asio::any_io_executor executor) { return produce_json(executor, topic, 0, records); });
  }
};

class standby_source_table : public ::testing::TestWithParam<operators::delivery_guarantee> {};

TEST_P(standby_source_table, follows_up_to_the_committed_offset_and_the_takeover_restores_nothing) {
  fixture f;
  const auto topology = enrichment(f.app, f.orders, f.customers, f.output, GetParam(),
                                   operators::table_restore::source);
  f.produce(f.customers, customer_rows(first_rows, "v1"));
  f.produce(f.orders, {{key_of(0), order(1)}});

  std::atomic<bool> hold{false};
  auto config_a = f.config_a;
  config_a.hooks = holding(GetParam(), hold);
  running_app a(topology, config_a);
  a.start();
  ASSERT_TRUE(wait_until_committed(f.app, f.customers, {first_rows}, partitions));
  ASSERT_TRUE(wait_for_outputs(a, f.output, 1, partitions));

  // The second process holds the task's standby (the task stays where it runs) and follows the
  // table's topic up to the committed offset: every row there.
  running_app b(topology, f.config_b);
  b.start();
  ASSERT_TRUE(eventually([&] {
    return b.metrics().standby_records.load() >= std::uint64_t{first_rows};
  })) << "the standby follows the table's topic";
  EXPECT_EQ(b.metrics().assigned_tasks.load(), 0u) << "the task stays where it runs";

  // The first process reads 20 more rows but never commits them; then it stops on the failed
  // commits (and leaves the group), the rows still uncommitted.
  hold = true;
  f.produce(f.customers, customer_rows(held_rows, "v2"));
  ASSERT_TRUE(eventually([&] { return a.finished(); }, std::chrono::seconds(90)))
      << "the first process stops on its held commits";
  EXPECT_THROW(a.join(), kafka::kafka_error);
  EXPECT_GE(a.metrics().records_in.load(), std::uint64_t{first_rows + 1 + held_rows})
      << "the first process read the held rows";

  // The second process takes the task over from its standby, which is exactly at the committed
  // offset: nothing to restore. The held rows are its input.
  ASSERT_TRUE(
      eventually([&] { return b.metrics().assigned_tasks.load() == 1; }, std::chrono::seconds(90)))
      << "the second process runs the task";
  EXPECT_EQ(b.metrics().standby_records.load(), std::uint64_t{first_rows})
      << "the standby read past the group's committed offset";
  EXPECT_EQ(b.metrics().restored_records.load(), 0u)
      << "the takeover restores only what the standby lacked of the committed offset";
  ASSERT_TRUE(wait_until_committed(f.app, f.customers, {first_rows + held_rows}, partitions));
  f.produce(f.orders, {{key_of(0), order(2)},
                       {key_of(held_rows - 1), order(3)},
                       {key_of(held_rows), order(4)},
                       {key_of(first_rows - 1), order(5)},
                       {key_of(first_rows), order(6)}});
  ASSERT_TRUE(wait_for_outputs(b, f.output, 6, partitions));
  b.stop();

  // Each order with the customer record of its time.
  const keyed_results expected{{"1", {"v1"}}, {"2", {"v2"}}, {"3", {"v2"}},
                               {"4", {"v1"}}, {"5", {"v1"}}, {"6", {""}}};
  expect_delivered(GetParam(), joined(f.output, partitions), expected);
}

INSTANTIATE_TEST_SUITE_P(delivery, standby_source_table,
                         ::testing::Values(operators::delivery_guarantee::at_least_once,
                                           operators::delivery_guarantee::exactly_once),
                         delivery_name);

}  // namespace
}  // namespace sluice::runtime
