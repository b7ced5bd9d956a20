// stream_app against the real broker: a windowed count/sum pipeline, under each delivery
// guarantee (clean stops: every mode's counts come out exact here), a restart that keeps its state
// (restores nothing), and a restart with the state directory gone (restores the stores from their
// changelogs and goes on counting).
#include "tests/runtime/app_test_support.hpp"
#include "tests/runtime/delivery_checks.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;

constexpr std::int32_t partitions = 2;

struct app_run {
  std::uint64_t restored = 0;
  std::uint64_t records_in = 0;
};

// Runs the app on its own thread until the output shows `expected_counts` per key (or a
// deadline), then stops it (rethrowing what stopped it, if anything did) and returns its metrics.
app_run run_app_until(const operators::topology& topology, const runtime_config& config,
                      const std::string& output,
                      const std::map<std::string, std::int64_t>& expected_counts) {
  running_app app(topology, config);
  app.start();
  const bool reached = wait_for_counts(app, output, partitions, expected_counts);
  app.stop();
  EXPECT_TRUE(reached) << "the pipeline's output never reached the expected counts";
  return {app.metrics().restored_records.load(), app.metrics().records_in.load()};
}

// `count` orders per user: user-a's amounts from `first` on partition 0, user-b's from 100 +
// `first` on partition 1.
void produce_for_both_users(const std::string& input, int first, int count) {
  run_coroutine([&](asio::any_io_executor executor) {
    return produce_orders(executor, input, 0, "user-a", first, count);
  });
  run_coroutine([&](asio::any_io_executor executor) {
    return produce_orders(executor, input, 1, "user-b", 100 + first, count);
  });
}

class stream_app_it : public ::testing::TestWithParam<operators::delivery_guarantee> {};

TEST_P(stream_app_it, windowed_counts_survive_restarts_and_a_lost_state_directory) {
  const auto input = test::unique_topic("orders");
  const auto output = test::unique_topic("order-counts");
  const auto app = test::unique_topic("counter-app");
  run_coroutine(
      [&](asio::any_io_executor executor) { return create_topic(executor, input, partitions); });

  runtime_config config;
  config.client = client();
  config.state_dir = std::filesystem::temp_directory_path() / ("sluice-it-" + app);
  std::filesystem::remove_all(config.state_dir);
  const auto topology = counting_pipeline(app, input, output, GetParam());

  // 1. Ten orders: five per user.
  produce_for_both_users(input, 0, 5);
  auto first = run_app_until(topology, config, output, {{"user-a", 5}, {"user-b", 5}});
  EXPECT_EQ(first.restored, 0u);
  EXPECT_EQ(first.records_in, 10u);

  // 2. A clean restart keeps the state on disk: nothing to restore, the counts go on.
  produce_for_both_users(input, 5, 2);
  auto second = run_app_until(topology, config, output, {{"user-a", 7}, {"user-b", 7}});
  EXPECT_EQ(second.restored, 0u);
  EXPECT_EQ(second.records_in, 4u);  // resumed from the committed offsets

  // 3. The state directory is gone: the stores come back from their changelogs.
  std::filesystem::remove_all(config.state_dir);
  produce_for_both_users(input, 7, 1);
  auto third = run_app_until(topology, config, output, {{"user-a", 8}, {"user-b", 8}});
  EXPECT_GT(third.restored, 0u);
  EXPECT_EQ(third.records_in, 2u);

  auto latest = latest_outputs(output, partitions);
  // user-a's amounts are 0..7 (28 in all), user-b's 100..107 (828).
  EXPECT_EQ(latest["user-a"].at("total").to_number<double>(), 28.0);
  EXPECT_EQ(latest["user-b"].at("total").to_number<double>(), 828.0);
  EXPECT_EQ(latest["user-a"].at("window_start").as_int64(), base_time());
  std::filesystem::remove_all(config.state_dir);
}

INSTANTIATE_TEST_SUITE_P(delivery, stream_app_it, every_delivery(), delivery_name);

}  // namespace
}  // namespace sluice::runtime
