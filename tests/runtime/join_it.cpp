// Stream-table joins against the real broker, under each delivery guarantee: orders enriched with
// the latest customer record from a topic read as a table; a second process with an empty state
// directory restores the table from its changelog and joins on; a table restored from its own
// topic (restore_from: source) gets no changelog and comes back, through a rebalance and
// restarts, up to the committed offset; a table whose topic has another partition count than the
// stream is refused with both topics named. Every order's result is checked as its mode promises
// (delivery_checks.hpp): exactly once under exactly_once.
#include <set>

#include "tests/runtime/join_test_support.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;
namespace fs = std::filesystem;

constexpr std::int32_t partitions = 2;

asio::awaitable<std::vector<kafka::topic_listing>> topics(asio::any_io_executor executor) {
  kafka::cluster cluster(executor, client());
  co_await cluster.start();
  kafka::admin_client admin(cluster);
  auto listed = co_await admin.list_topics();
  cluster.close();
  co_return listed;
}

struct fixture {
  std::string orders = test::unique_topic("orders");
  std::string customers = test::unique_topic("customers");
  std::string output = test::unique_topic("enriched");
  std::string app = test::unique_topic("join-app");
  runtime_config config;

  explicit fixture(std::int32_t customer_partitions = partitions) {
    run_coroutine(
        [&](asio::any_io_executor executor) { return create_topic(executor, orders, partitions); });
    run_coroutine([&](asio::any_io_executor executor) {
      return create_topic(executor, customers, customer_partitions);
    });
    config.client = client();
    config.state_dir = state_dir("");
  }
  ~fixture() {
    for (const auto* suffix : {"", "-b", "-c"}) fs::remove_all(state_dir(suffix));
  }
  fs::path state_dir(const std::string& suffix) const {
    return fs::temp_directory_path() / ("sluice-it-" + app + suffix);
  }
  // Ann (c1) and Bo (c2): c1 lives in partition 0 of both topics, c2 in partition 1,
  // co-partitioned by hand.
  void produce_first_customers() const {
    produce(customers, 0, {{"c1", customer("Ann")}});
    produce(customers, 1, {{"c2", customer("Bo")}});
  }
  // Once `app` applied them, orders 1 (c1), 2 (c3, no customer) and 3 (c2) are joined.
  bool first_orders_joined(const running_app& app) const {
    if (!wait_until_committed(this->app, customers, {1}, partitions)) return false;
    produce(orders, 0, {{"c1", order(1)}, {"c3", order(2)}});
    produce(orders, 1, {{"c2", order(3)}});
    return wait_for_outputs(app, output, 3, partitions);
  }
  void produce(const std::string& topic, std::int32_t partition,
               std::vector<std::pair<std::string, std::optional<std::string>>> records) const {
    run_coroutine([&](asio::any_io_executor executor) {
      return produce_json(executor, topic, partition, records);
    });
  }
};

class runtime_join : public ::testing::TestWithParam<operators::delivery_guarantee> {};

TEST_P(runtime_join,
       orders_take_the_latest_customer_as_the_mode_promises_and_the_table_is_restored) {
  fixture f;
  const auto topology = enrichment(f.app, f.orders, f.customers, f.output, GetParam());
  f.produce_first_customers();
  {
    running_app a(topology, f.config);
    a.start();
    ASSERT_TRUE(f.first_orders_joined(a));
    a.stop();
  }
  // Ann is renamed and Bo deleted while nobody runs; a second process with no state takes over.
  f.produce(f.customers, 0, {{"c1", customer("Anna")}});
  f.produce(f.customers, 1, {{"c2", std::nullopt}});
  auto config_b = f.config;
  config_b.state_dir = f.state_dir("-b");
  running_app b(topology, config_b);
  b.start();
  ASSERT_TRUE(wait_until_committed(f.app, f.customers, {2}, partitions));
  EXPECT_GT(b.metrics().restored_records.load(), 0u) << "the table came back from its changelog";
  f.produce(f.orders, 0, {{"c1", order(4)}});
  f.produce(f.orders, 1, {{"c2", order(5)}});
  ASSERT_TRUE(wait_for_outputs(b, f.output, 5, partitions));
  b.stop();

  // Each order with the customer record of its time.
  const keyed_results expected{
      {"1", {"Ann"}}, {"2", {""}}, {"3", {"Bo"}}, {"4", {"Anna"}}, {"5", {""}}};
  expect_delivered(GetParam(), joined(f.output, partitions), expected);
}

// The application's topics whose names end in "-changelog".
std::vector<std::string> changelogs_of(const std::string& app) {
  std::vector<std::string> found;
  for (const auto& topic : run_coroutine(topics)) {
    if (topic.name.starts_with(app) && topic.name.ends_with("-changelog"))
      found.push_back(topic.name);
  }
  return found;
}

TEST_P(runtime_join, a_table_restored_from_its_topic_has_no_changelog_and_joins_as_promised) {
  fixture f;
  const auto topology = enrichment(f.app, f.orders, f.customers, f.output, GetParam(),
                                   operators::table_restore::source);
  f.produce_first_customers();
  auto config_b = f.config;
  config_b.state_dir = f.state_dir("-b");
  auto config_c = f.config;
  config_c.state_dir = f.state_dir("-c");
  {
    running_app a(topology, f.config);
    a.start();
    ASSERT_TRUE(f.first_orders_joined(a));

    // A second process joins mid-stream: a rebalance moves a task to it, whose table comes back
    // from the topic (its state directory is empty).
    running_app b(topology, config_b);
    b.start();
    f.produce(f.customers, 0, {{"c1", customer("Anna")}});
    f.produce(f.customers, 1, {{"c2", std::nullopt}});
    ASSERT_TRUE(wait_until_committed(f.app, f.customers, {2}, partitions));
    f.produce(f.orders, 0, {{"c1", order(4)}});
    f.produce(f.orders, 1, {{"c2", order(5)}});
    ASSERT_TRUE(wait_for_outputs(b, f.output, 5, partitions));

    // The first one leaves: the second takes every task over.
    a.stop();
    f.produce(f.customers, 0, {{"c1", customer("Anne")}});
    ASSERT_TRUE(wait_until_committed(f.app, f.customers, {3, 2}, partitions));
    f.produce(f.orders, 0, {{"c1", order(6)}});
    ASSERT_TRUE(wait_for_outputs(b, f.output, 6, partitions));
    b.stop();
  }
  // While nobody runs, the table topic moves past the committed offsets; a third process with an
  // empty state directory restores up to the committed offsets only (3 rows of partition 0, the
  // row and the tombstone of partition 1), then processes "Zed" as input.
  f.produce(f.customers, 0, {{"c1", customer("Zed")}});
  running_app c(topology, config_c);
  c.start();
  ASSERT_TRUE(wait_until_committed(f.app, f.customers, {4, 2}, partitions));
  EXPECT_EQ(c.metrics().restored_records.load(), 5u)
      << "restored from the table's topic, up to the committed offsets and not past them";
  f.produce(f.orders, 0, {{"c1", order(7)}});
  f.produce(f.orders, 1, {{"c2", order(8)}});
  ASSERT_TRUE(wait_for_outputs(c, f.output, 8, partitions));
  c.stop();

  // Each order with the customer record of its time.
  const keyed_results expected{{"1", {"Ann"}}, {"2", {""}},     {"3", {"Bo"}},  {"4", {"Anna"}},
                               {"5", {""}},    {"6", {"Anne"}}, {"7", {"Zed"}}, {"8", {""}}};
  expect_delivered(GetParam(), joined(f.output, partitions), expected);
  EXPECT_TRUE(changelogs_of(f.app).empty()) << "the table's store has no changelog topic";
}

INSTANTIATE_TEST_SUITE_P(delivery, runtime_join, every_delivery(), delivery_name);

TEST(runtime_join_refused, a_table_with_another_partition_count_is_refused) {
  fixture f(partitions + 1);
  running_app a(enrichment(f.app, f.orders, f.customers, f.output,
                           operators::delivery_guarantee::exactly_once),
                f.config);
  a.start();
  try {
    a.join();
    FAIL() << "expected the app to refuse the join";
  } catch (const std::exception& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("table 'customers' (topic '" + f.customers + "', 3 partitions)"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("topic '" + f.orders + "' (2 partitions)"), std::string::npos)
        << message;
    EXPECT_NE(message.find("co-partitioned"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace sluice::runtime
