// stream_app against the real broker: a windowed count/sum pipeline, at-least-once and
// exactly-once, a restart that keeps its state (restores nothing), and a restart with the state
// directory gone (restores the stores from their changelogs and goes on counting).
#include "runtime/stream_app.hpp"

#include "kafka/admin/admin_client.hpp"
#include "kafka/consumer/consumer.hpp"
#include "kafka/producer/producer.hpp"
#include "tests/support/run_coroutine.hpp"
#include "tests/support/test_cluster.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <thread>

namespace sluice::runtime {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using sluice::test::run_coroutine;

constexpr std::int64_t minute = 60'000;
// Event times near now (the broker's time-based retention would delete older records at once), at
// the start of a minute, so that every record of a test falls into one window.
const std::int64_t base_time = [] {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  return now.count() - now.count() % minute;
}();

kafka::client_config client() {
  kafka::client_config config;
  config.bootstrap_servers = kafka::parse_bootstrap_servers(test::bootstrap_servers());
  return config;
}

operators::topology counting_pipeline(const std::string& app, const std::string& input, const std::string& output,
                                      operators::delivery_guarantee delivery) {
  operators::topology t;
  t.name = app;
  t.delivery = delivery;
  t.commit_interval = std::chrono::milliseconds(200);
  t.sources.push_back({{input}, operators::data_format::string, operators::data_format::json});
  operators::windowed_aggregation_spec aggregation;
  aggregation.name = "per-minute";
  aggregation.window.kind = operators::window_kind::tumbling;
  aggregation.window.size = std::chrono::minutes(1);
  aggregation.aggregations.push_back({"count", operators::aggregate_function::count, "", ""});
  aggregation.aggregations.push_back({"total", operators::aggregate_function::sum, "value.amount", ""});
  t.aggregation = aggregation;
  t.sink = {output, operators::data_format::string, operators::data_format::json};
  return t;
}

asio::awaitable<void> create_topic(asio::any_io_executor executor, std::string name, std::int32_t partitions) {
  kafka::cluster cluster(executor, client());
  co_await cluster.start();
  kafka::admin_client admin(cluster);
  std::vector<kafka::new_topic> topics(1);
  topics[0].name = name;
  topics[0].partitions = partitions;
  topics[0].replication_factor = 1;
  auto results = co_await admin.create_topics(topics);
  results.at(0).error.throw_if_failed("creating " + name);
  cluster.close();
}

// `count` records for user-a and user-b alternately, amount = index, all in the first minute.
asio::awaitable<void> produce_orders(asio::any_io_executor executor, std::string topic, int first, int count) {
  kafka::producer_config config;
  static_cast<kafka::client_config&>(config) = client();
  kafka::producer producer(executor, config);
  co_await producer.start();
  for (int i = first; i < first + count; ++i) {
    std::string key = i % 2 == 0 ? "user-a" : "user-b";
    std::string value = json::serialize(json::object{{"amount", i}});
    co_await producer.send(topic, kafka::protocol::to_bytes(value), kafka::protocol::to_bytes(key), std::nullopt,
                           base_time + i);
  }
  co_await producer.flush();
  co_await producer.stop();
}

// The latest output value per key, reading the whole topic (read_committed).
asio::awaitable<std::map<std::string, json::object>> latest_outputs(asio::any_io_executor executor, std::string topic,
                                                                    std::int32_t partitions) {
  kafka::consumer_config config;
  static_cast<kafka::client_config&>(config) = client();
  config.isolation = kafka::isolation_level::read_committed;
  config.offset_reset = kafka::auto_offset_reset::earliest;
  kafka::consumer consumer(executor, config);
  co_await consumer.start();
  std::vector<kafka::topic_partition> all;
  for (std::int32_t p = 0; p < partitions; ++p) all.push_back({topic, p});
  consumer.assign(all);
  co_await consumer.seek_to_beginning(all);
  auto ends = co_await consumer.end_offsets(all);
  std::map<std::string, json::object> latest;
  for (int idle = 0; idle < 20;) {
    bool done = true;
    for (const auto& tp : all) done = done && co_await consumer.position(tp) >= ends[tp];
    if (done) break;
    auto batch = co_await consumer.getmany(std::chrono::milliseconds(500));
    if (batch.empty()) ++idle;
    for (const auto& record : batch) {
      latest[std::string(record.key_string())] = json::parse(record.value_string()).as_object();
    }
  }
  co_await consumer.stop();
  co_return latest;
}

// Runs the app on its own thread until `expected` outputs per key show up (or a deadline), then
// stops it and returns its metrics' restored record count.
struct app_run {
  std::uint64_t restored = 0;
  std::uint64_t records_in = 0;
};

app_run run_app_until(const operators::topology& topology, const runtime_config& config, const std::string& output,
                      std::int32_t partitions, std::map<std::string, std::int64_t> expected_counts) {
  operators::function_registry registry;
  asio::io_context app_context;
  stream_app app(app_context.get_executor(), topology, config, registry);
  auto finished = asio::co_spawn(app_context, app.run(), asio::use_future);
  std::thread runner([&] { app_context.run(); });

  bool reached = false;
  for (int attempt = 0; attempt < 60 && !reached; ++attempt) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (finished.wait_for(std::chrono::seconds(0)) == std::future_status::ready) break;  // failed early
    auto latest = run_coroutine([&](asio::any_io_executor executor) { return latest_outputs(executor, output, partitions); });
    reached = true;
    for (const auto& [key, count] : expected_counts) {
      reached = reached && latest.contains(key) && latest[key].at("count").as_int64() == count;
    }
  }
  app.request_stop();
  // run() returns once it has committed and left the group; background work the clients leave
  // (a reconnect timer, say) must not keep the test waiting, so the context stops then.
  finished.wait();
  app_context.stop();
  runner.join();
  finished.get();  // rethrows what stopped the app
  EXPECT_TRUE(reached) << "the pipeline's output never reached the expected counts";
  return {app.metrics().restored_records.load(), app.metrics().records_in.load()};
}

class stream_app_it : public ::testing::TestWithParam<operators::delivery_guarantee> {};

TEST_P(stream_app_it, windowed_counts_survive_restarts_and_a_lost_state_directory) {
  const auto delivery = GetParam();
  const auto input = test::unique_topic("orders");
  const auto output = test::unique_topic("order-counts");
  const auto app = test::unique_topic("counter-app");
  const std::int32_t partitions = 2;
  run_coroutine([&](asio::any_io_executor executor) { return create_topic(executor, input, partitions); });

  runtime_config config;
  config.client = client();
  config.state_dir = std::filesystem::temp_directory_path() / ("sluice-it-" + app);
  std::filesystem::remove_all(config.state_dir);
  const auto topology = counting_pipeline(app, input, output, delivery);

  // 1. Ten orders: five per user.
  run_coroutine([&](asio::any_io_executor executor) { return produce_orders(executor, input, 0, 10); });
  auto first = run_app_until(topology, config, output, partitions, {{"user-a", 5}, {"user-b", 5}});
  EXPECT_EQ(first.restored, 0u);
  EXPECT_EQ(first.records_in, 10u);

  // 2. A clean restart keeps the state on disk: nothing to restore, the counts go on.
  run_coroutine([&](asio::any_io_executor executor) { return produce_orders(executor, input, 10, 4); });
  auto second = run_app_until(topology, config, output, partitions, {{"user-a", 7}, {"user-b", 7}});
  EXPECT_EQ(second.restored, 0u);
  EXPECT_EQ(second.records_in, 4u);  // resumed from the committed offsets

  // 3. The state directory is gone: the stores come back from their changelogs.
  std::filesystem::remove_all(config.state_dir);
  run_coroutine([&](asio::any_io_executor executor) { return produce_orders(executor, input, 14, 2); });
  auto third = run_app_until(topology, config, output, partitions, {{"user-a", 8}, {"user-b", 8}});
  EXPECT_GT(third.restored, 0u);
  EXPECT_EQ(third.records_in, 2u);

  auto latest = run_coroutine([&](asio::any_io_executor executor) { return latest_outputs(executor, output, partitions); });
  // Amounts 0..15: even ones are user-a's (0+2+...+14 = 56), odd ones user-b's (1+3+...+15 = 64).
  EXPECT_EQ(latest["user-a"].at("total").to_number<double>(), 56.0);
  EXPECT_EQ(latest["user-b"].at("total").to_number<double>(), 64.0);
  EXPECT_EQ(latest["user-a"].at("window_start").as_int64(), base_time - base_time % minute);
  std::filesystem::remove_all(config.state_dir);
}

INSTANTIATE_TEST_SUITE_P(delivery, stream_app_it,
                         ::testing::Values(operators::delivery_guarantee::at_least_once,
                                           operators::delivery_guarantee::exactly_once),
                         [](const auto& info) { return std::string(operators::to_string(info.param)); });

}  // namespace
}  // namespace sluice::runtime
