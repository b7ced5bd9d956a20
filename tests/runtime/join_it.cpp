// Stream-table joins against the real broker, under each delivery guarantee: orders enriched with
// the latest customer record from a topic read as a table; a second process with an empty state
// directory restores the table from its changelog and joins on; a table restored from its own
// topic (restore_from: source) gets no changelog and comes back, through a rebalance and
// restarts, up to the committed offset; a table whose topic has another partition count than the
// stream is refused with both topics named. Every order's result is checked as its mode promises
// (delivery_checks.hpp): exactly once under exactly_once.
#include <set>

#include "tests/runtime/app_test_support.hpp"
#include "tests/runtime/delivery_checks.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;
namespace fs = std::filesystem;

constexpr std::int32_t partitions = 2;

operators::topology enrichment(
    const std::string& app, const std::string& orders, const std::string& customers,
    const std::string& output, operators::delivery_guarantee delivery,
    operators::table_restore restore_from = operators::table_restore::changelog) {
  operators::topology t;
  t.name = app;
  t.delivery = delivery;
  t.commit_interval = std::chrono::milliseconds(100);
  t.sources.push_back({{orders}, operators::data_format::string, operators::data_format::json});
  t.tables.push_back({"customers",
                      customers,
                      operators::data_format::string,
                      operators::data_format::json,
                      {},
                      restore_from});
  operators::step join;
  join.kind = operators::step_kind::join;
  join.name = "with-customer";
  join.table = "customers";
  join.join = operators::join_kind::left;
  join.into = "customer";
  t.steps.push_back(join);
  t.sinks = {{output, operators::data_format::string, operators::data_format::json}};
  return t;
}

// Every record a millisecond after the one produced before it: a task takes its table's and its
// stream's records in timestamp order, so a customer update is applied before any order produced
// after it, however the two topics' fetches fall. The tests wait for the group's committed
// offsets before they produce an order, and under at_most_once those say fetched, not applied.
std::int64_t next_timestamp() {
  static std::int64_t produced = 0;
  return base_time() + produced++;
}

asio::awaitable<void> produce_json(
    asio::any_io_executor executor, std::string topic, std::int32_t partition,
    std::vector<std::pair<std::string, std::optional<std::string>>> records) {
  kafka::producer_config config;
  static_cast<kafka::client_config&>(config) = client();
  kafka::producer producer(executor, config);
  co_await producer.start();
  for (const auto& [key, value] : records) {
    std::optional<kafka::protocol::bytes> bytes;
    if (value) bytes = kafka::protocol::to_bytes(*value);
    co_await producer.send(topic, std::move(bytes), kafka::protocol::to_bytes(key),
                           kafka::partition_id{partition}, kafka::timestamp_ms{next_timestamp()});
  }
  co_await producer.flush();
  co_await producer.stop();
}

// order id -> the customer names it was joined with ("" for null), in log order, every output
// read_committed.
keyed_results joined(const std::string& output) {
  std::vector<kafka::topic_partition> all;
  all.reserve(partitions);
  for (std::int32_t p = 0; p < partitions; ++p) all.push_back({output, p});
  keyed_results out;
  run_coroutine([&](asio::any_io_executor executor) {
    return read_to_end(
        executor, all, kafka::isolation_level::read_committed,
        [&](const kafka::consumer_record& r) {
          const auto value = json::parse(r.value_string()).as_object();
          const auto& customer = value.at("customer");
          out[std::to_string(value.at("id").as_int64())].push_back(
              customer.is_null() ? std::string() : std::string(customer.at("name").as_string()));
        });
  });
  return out;
}

bool wait_for_outputs(const running_app& app, const std::string& output, std::size_t count) {
  return wait_until(app, [&] { return distinct_results(joined(output)) >= count; });
}

asio::awaitable<std::map<kafka::topic_partition, kafka::committed_offset>> group_offsets(
    asio::any_io_executor executor, std::string group) {
  kafka::cluster cluster(executor, client());
  co_await cluster.start();
  kafka::admin_client admin(cluster);
  auto committed = co_await admin.list_group_offsets(group, std::nullopt);
  cluster.close();
  co_return committed;
}

asio::awaitable<std::vector<kafka::topic_listing>> topics(asio::any_io_executor executor) {
  kafka::cluster cluster(executor, client());
  co_await cluster.start();
  kafka::admin_client admin(cluster);
  auto listed = co_await admin.list_topics();
  cluster.close();
  co_return listed;
}

// Until the group's committed offsets of `topic` reach `ends` (one per partition; one number:
// the same for every partition): the table records are applied.
bool wait_until_committed(const std::string& group, const std::string& topic,
                          std::vector<std::int64_t> ends) {
  for (int attempt = 0; attempt < 60; ++attempt) {
    const auto committed = run_coroutine(
        [&](asio::any_io_executor executor) { return group_offsets(executor, group); });
    bool reached = true;
    for (std::int32_t p = 0; p < partitions; ++p) {
      auto found = committed.find({topic, p});
      const auto end = ends.at(std::min<std::size_t>(static_cast<std::size_t>(p), ends.size() - 1));
      reached = reached && found != committed.end() && found->second.offset >= end;
    }
    if (reached) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return false;
}

std::string order(int id) {
  return json::serialize(json::object{{"id", id}});
}
std::string customer(const char* name) {
  return json::serialize(json::object{{"name", name}});
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
    if (!wait_until_committed(this->app, customers, {1})) return false;
    produce(orders, 0, {{"c1", order(1)}, {"c3", order(2)}});
    produce(orders, 1, {{"c2", order(3)}});
    return wait_for_outputs(app, output, 3);
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
  ASSERT_TRUE(wait_until_committed(f.app, f.customers, {2}));
  EXPECT_GT(b.metrics().restored_records.load(), 0u) << "the table came back from its changelog";
  f.produce(f.orders, 0, {{"c1", order(4)}});
  f.produce(f.orders, 1, {{"c2", order(5)}});
  ASSERT_TRUE(wait_for_outputs(b, f.output, 5));
  b.stop();

  // Each order with the customer record of its time.
  const keyed_results expected{
      {"1", {"Ann"}}, {"2", {""}}, {"3", {"Bo"}}, {"4", {"Anna"}}, {"5", {""}}};
  expect_delivered(GetParam(), joined(f.output), expected);
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
    ASSERT_TRUE(wait_until_committed(f.app, f.customers, {2}));
    f.produce(f.orders, 0, {{"c1", order(4)}});
    f.produce(f.orders, 1, {{"c2", order(5)}});
    ASSERT_TRUE(wait_for_outputs(b, f.output, 5));

    // The first one leaves: the second takes every task over.
    a.stop();
    f.produce(f.customers, 0, {{"c1", customer("Anne")}});
    ASSERT_TRUE(wait_until_committed(f.app, f.customers, {3, 2}));
    f.produce(f.orders, 0, {{"c1", order(6)}});
    ASSERT_TRUE(wait_for_outputs(b, f.output, 6));
    b.stop();
  }
  // While nobody runs, the table topic moves past the committed offsets; a third process with an
  // empty state directory restores up to the committed offsets only (3 rows of partition 0, the
  // row and the tombstone of partition 1), then processes "Zed" as input.
  f.produce(f.customers, 0, {{"c1", customer("Zed")}});
  running_app c(topology, config_c);
  c.start();
  ASSERT_TRUE(wait_until_committed(f.app, f.customers, {4, 2}));
  EXPECT_EQ(c.metrics().restored_records.load(), 5u)
      << "restored from the table's topic, up to the committed offsets and not past them";
  f.produce(f.orders, 0, {{"c1", order(7)}});
  f.produce(f.orders, 1, {{"c2", order(8)}});
  ASSERT_TRUE(wait_for_outputs(c, f.output, 8));
  c.stop();

  // Each order with the customer record of its time.
  const keyed_results expected{{"1", {"Ann"}}, {"2", {""}},     {"3", {"Bo"}},  {"4", {"Anna"}},
                               {"5", {""}},    {"6", {"Anne"}}, {"7", {"Zed"}}, {"8", {""}}};
  expect_delivered(GetParam(), joined(f.output), expected);
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
