// A table aggregation with emit_every against the real broker, exactly once: the updates of an
// interval collapse into one result per key, and the last result is exact.
#include "tests/runtime/app_test_support.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;
namespace fs = std::filesystem;

TEST(runtime_emit_every, a_key_emits_its_latest_result_once_per_interval) {
  const std::string input = test::unique_topic("orders");
  const std::string output = test::unique_topic("totals");
  const std::string app = test::unique_topic("emit-every-app");
  run_coroutine([&](asio::any_io_executor executor) { return create_topic(executor, input, 2); });
  auto topology =
      table_counting_pipeline(app, input, output, operators::delivery_guarantee::exactly_once);
  topology.table->emit_every = std::chrono::seconds(1);
  runtime_config config;
  config.client = client();
  config.state_dir = fs::temp_directory_path() / ("sluice-it-" + app);

  constexpr int per_key = 20;
  run_coroutine([&](asio::any_io_executor executor) {
    return produce_orders(executor, input, 0, "user-a", 0, per_key);
  });
  run_coroutine([&](asio::any_io_executor executor) {
    return produce_orders(executor, input, 1, "user-b", 0, per_key);
  });
  running_app a(topology, config);
  a.start();
  ASSERT_TRUE(wait_for_counts(a, output, 2, {{"user-a", per_key}, {"user-b", per_key}}));
  a.stop();

  std::map<std::string, std::vector<std::int64_t>> counts;
  run_coroutine([&](asio::any_io_executor executor) {
    return read_to_end(executor, {{output, 0}, {output, 1}}, kafka::isolation_level::read_committed,
                       [&](const kafka::consumer_record& r) {
                         counts[std::string(r.key_string())].push_back(
                             json::parse(r.value_string()).as_object().at("count").as_int64());
                       });
  });
  for (const auto* key : {"user-a", "user-b"}) {
    const auto& emitted = counts[key];
    ASSERT_FALSE(emitted.empty()) << key;
    EXPECT_LT(emitted.size(), static_cast<std::size_t>(per_key))
        << key << ": updates were not collapsed";
    EXPECT_TRUE(std::is_sorted(emitted.begin(), emitted.end())) << key;
    EXPECT_EQ(std::adjacent_find(emitted.begin(), emitted.end()), emitted.end())
        << key << ": a result twice";
    EXPECT_EQ(emitted.back(), per_key) << key;
  }
  const auto latest = latest_outputs(output, 2);
  EXPECT_EQ(latest.at("user-a").at("total").to_number<double>(), per_key * (per_key - 1) / 2.0);
  fs::remove_all(config.state_dir);
}

}  // namespace
}  // namespace sluice::runtime
