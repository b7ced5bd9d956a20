// Several sinks against the real broker, exactly once: the app creates both output topics, and
// each result lands in the sink its predicate picks, once, whichever process wrote it.
#include "tests/runtime/app_test_support.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;
namespace fs = std::filesystem;

std::vector<std::int64_t> amounts_in(const std::string& topic) {
  std::vector<std::int64_t> out;
  run_coroutine([&](asio::any_io_executor executor) {
    return read_to_end(
        executor, {{topic, 0}}, kafka::isolation_level::read_committed,
        [&](const kafka::consumer_record& r) {
          out.push_back(json::parse(r.value_string()).as_object().at("amount").as_int64());
        });
  });
  return out;
}

TEST(runtime_sinks, results_go_to_the_sink_their_predicate_picks_exactly_once) {
  const std::string input = test::unique_topic("amounts");
  const std::string low = test::unique_topic("low");
  const std::string high = test::unique_topic("high");
  const std::string app = test::unique_topic("sinks-app");
  run_coroutine([&](asio::any_io_executor executor) { return create_topic(executor, input, 1); });
  operators::topology t;
  t.name = app;
  t.delivery = operators::delivery_guarantee::exactly_once;
  t.sources.push_back({{input}, operators::data_format::string, operators::data_format::json});
  t.sinks = {
      {low, operators::data_format::string, operators::data_format::json, "value.amount < 5", {}},
      {high,
       operators::data_format::string,
       operators::data_format::json,
       "value.amount >= 5",
       {}}};
  runtime_config config;
  config.client = client();
  config.state_dir = fs::temp_directory_path() / ("sluice-it-" + app);

  run_coroutine([&](asio::any_io_executor executor) {
    return produce_orders(executor, input, 0, "k", 0, 6);
  });
  {
    running_app a(t, config);
    a.start();
    ASSERT_TRUE(wait_until(a, [&] { return amounts_in(high).size() == 1; }));
    a.stop();
  }
  // A second process goes on from the committed offsets.
  run_coroutine([&](asio::any_io_executor executor) {
    return produce_orders(executor, input, 0, "k", 6, 4);
  });
  running_app b(t, config);
  b.start();
  ASSERT_TRUE(wait_until(b, [&] { return amounts_in(high).size() == 5; }));
  b.stop();
  EXPECT_EQ(amounts_in(low), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(amounts_in(high), (std::vector<std::int64_t>{5, 6, 7, 8, 9}));
  fs::remove_all(config.state_dir);
}

}  // namespace
}  // namespace sluice::runtime
