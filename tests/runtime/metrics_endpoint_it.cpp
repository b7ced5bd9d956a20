// The HTTP endpoint of a real run: /metrics moves as records flow and a restore finishes, /ready
// turns 200 once joined and restored, /health answers throughout. Checked against the topics
// themselves, not against the app's own counters.

#include <filesystem>

#include "tests/runtime/app_test_support.hpp"
#include "tests/runtime/http_client.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;
namespace fs = std::filesystem;
using kafka::isolation_level;

constexpr std::int32_t partitions = 2;

struct endpoint_fixture {
  std::string input = test::unique_topic("metered-orders");
  std::string output = test::unique_topic("metered-counts");
  std::string app = test::unique_topic("metered-app");
  operators::topology topology =
      counting_pipeline(app, input, output, operators::delivery_guarantee::exactly_once);
  runtime_config config;

  endpoint_fixture() {
    run_coroutine(
        [&](asio::any_io_executor executor) { return create_topic(executor, input, partitions); });
    config.client = client();
    config.endpoint = runtime_config::http_endpoint_config{.address = "127.0.0.1", .port = 0};
  }
  ~endpoint_fixture() {
    for (const auto* suffix : {"-a", "-b"}) fs::remove_all(state_dir(suffix));
  }
  fs::path state_dir(const std::string& suffix) const {
    return fs::temp_directory_path() / ("sluice-it-" + app + suffix);
  }

  void produce(std::int32_t partition, const std::string& key, int first, int count) const {
    run_coroutine([&](asio::any_io_executor executor) {
      return produce_orders(executor, input, partition, key, first, count);
    });
  }

  std::size_t records_in(const std::string& topic, std::int32_t partition,
                         isolation_level isolation) const {
    std::size_t count = 0;
    run_coroutine([&](asio::any_io_executor executor) {
      return read_to_end(executor, {{topic, partition}}, isolation,
                         [&](const kafka::consumer_record&) { ++count; });
    });
    return count;
  }

  std::size_t changelog_records() const {
    std::size_t total = 0;
    for (const auto& [store, topic] : changelog_topics(topology)) {
      for (std::int32_t p = 0; p < partitions; ++p)
        total += records_in(topic, p, isolation_level::read_committed);
    }
    return total;
  }
};

std::uint16_t endpoint_port(const running_app& running) {
  EXPECT_TRUE(eventually([&] { return running.app().endpoint_port() != 0 || running.finished(); }));
  return running.app().endpoint_port();
}

std::string partition_label(std::int32_t partition) {
  return "partition=\"" + std::to_string(partition) + "\"";
}

TEST(metrics_endpoint, scrapes_follow_records_and_restores_in_a_real_run) {
  endpoint_fixture f;
  f.produce(0, "user-a", 0, 20);
  f.produce(1, "user-b", 0, 30);

  f.config.state_dir = f.state_dir("-a");
  {
    running_app first(f.topology, f.config);
    first.start();
    const auto port = endpoint_port(first);
    ASSERT_NE(port, 0);
    EXPECT_EQ(http_request(port, "/health").status, 200u);

    std::string text;
    double commits_seen = 0;  // a commit after the records, so that their outputs are committed
    auto processed = [&](double a, double b) {
      return eventually([&] {
        if (http_request(port, "/ready").status != 200) return false;
        text = http_request(port, "/metrics").body;
        return metric_value(text, "sluice_records_in_total", {partition_label(0)}) == a &&
               metric_value(text, "sluice_records_in_total", {partition_label(1)}) == b &&
               metric_value(text, "sluice_consumer_lag_records", {partition_label(0)}) == 0 &&
               metric_value(text, "sluice_consumer_lag_records", {partition_label(1)}) == 0 &&
               metric_value(text, "sluice_commit_seconds_count") > commits_seen;
      });
    };
    ASSERT_TRUE(processed(20, 30)) << text;
    EXPECT_EQ(metric_value(text, "sluice_ready"), 1);
    EXPECT_EQ(metric_value(text, "sluice_tasks", {"state=\"running\""}), 2);
    EXPECT_EQ(metric_value(text, "sluice_tasks", {"state=\"restoring\""}), 0);
    EXPECT_EQ(metric_value(text, "sluice_state_memory_budget_bytes"),
              static_cast<double>(f.config.memory.total_bytes));
    commits_seen = metric_value(text, "sluice_commit_seconds_count").value_or(0);
    EXPECT_GT(metric_value(text, "sluice_poll_seconds_count").value_or(0), 0) << text;
    // Every commit that reached Kafka had its store writes timed (a commit with nothing to
    // commit is neither).
    EXPECT_EQ(metric_value(text, "sluice_store_write_seconds_count"), commits_seen) << text;
    EXPECT_GE(metric_value(text, "sluice_producer_records_total").value_or(0), 50) << text;

    // The values move with the input.
    f.produce(0, "user-a", 20, 10);
    ASSERT_TRUE(processed(30, 30)) << text;
    first.stop();
    // What the app says it sent is what the output topic holds, committed.
    std::size_t outputs = 0;
    for (std::int32_t p = 0; p < partitions; ++p)
      outputs += f.records_in(f.output, p, isolation_level::read_committed);
    EXPECT_EQ(metric_value(text, "sluice_records_out_total", {"topic=\"" + f.output + "\""}),
              static_cast<double>(outputs))
        << text;
  }

  // A second instance with no local state restores every changelog record before it is ready.
  const auto changelog = f.changelog_records();
  ASSERT_GT(changelog, 0u);
  f.config.state_dir = f.state_dir("-b");
  running_app second(f.topology, f.config);
  second.start();
  const auto port = endpoint_port(second);
  ASSERT_NE(port, 0);
  std::string text;
  ASSERT_TRUE(eventually([&] {
    if (http_request(port, "/ready").status != 200) return false;
    text = http_request(port, "/metrics").body;
    return metric_value(text, "sluice_tasks", {"state=\"running\""}) == 2;
  })) << text;
  EXPECT_EQ(metric_value(text, "sluice_restored_records_total"), static_cast<double>(changelog))
      << text;
  EXPECT_EQ(metric_value(text, "sluice_tasks", {"state=\"restoring\""}), 0);
  EXPECT_EQ(metric_value(text, "sluice_restore_remaining_records"), std::nullopt)
      << "no store left restoring";
  second.stop();
}

}  // namespace
}  // namespace sluice::runtime
