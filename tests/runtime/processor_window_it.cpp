// A user C++ processor with a window store and stream-time punctuation against the real broker,
// under each delivery guarantee: the worked example examples/runtime/recent_counts.hpp (records per
// key in the last three one-minute buckets, reported every minute of stream time) runs in one
// process, which stops; a second process, starting with no state, restores the window store and the
// step's stream time and punctuation schedule from their changelogs and goes on. Under exactly_once
// the committed output is exactly what an uninterrupted run reports: a lost schedule would report
// again at the first record after the restart, a lost window store would count less; under the
// other two it is what the mode promises of those reports (delivery_checks.hpp).
#include <fmt/format.h>

#include "examples/runtime/recent_counts.hpp"
#include "tests/runtime/app_test_support.hpp"
#include "tests/runtime/delivery_checks.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;

constexpr std::int32_t partitions = 2;
constexpr std::int64_t second = 1000;

operators::topology recent_counts_pipeline(const std::string& app, const std::string& input,
                                           const std::string& output,
                                           const operators::registered_processor& registration,
                                           operators::delivery_guarantee delivery) {
  auto t = json_source_pipeline(app, input, delivery);
  operators::step s;
  s.kind = operators::step_kind::processor;
  s.name = "count";
  s.function = "recent_counts";
  s.stores = registration.stores;
  t.steps.push_back(s);
  t.sinks = {{output, operators::data_format::string, operators::data_format::json}};
  return t;
}

// Per key, each report as "<count> at <stream time - base_time()>", read_committed, in log order
// (one key per partition, so one key's reports are in the order they were made).
keyed_results reports(const std::string& output) {
  keyed_results out;
  read_committed_topic(output, partitions, [&](const kafka::consumer_record& r) {
    const auto value = json::parse(r.value_string()).as_object();
    out[std::string(r.key_string())].push_back(fmt::format(
        "{} at {}", value.at("count").as_int64(), value.at("to").as_int64() - base_time()));
  });
  return out;
}

bool wait_for_reports(const running_app& app, const std::string& output, std::size_t count) {
  return wait_until(app, [&] { return distinct_results(reports(output)) >= count; });
}

class runtime_window_processor : public ::testing::TestWithParam<operators::delivery_guarantee> {};

timed_record at(const char* key, std::int64_t time) {
  return {key, R"({"n":1})", time};
}

TEST_P(runtime_window_processor, a_window_store_processor_reports_as_promised_across_a_restart) {
  const two_process_fixture f("events", "recent-counts", "recent-app", partitions);
  const auto& input = f.input();
  const auto& output = f.output;
  const auto registration = recent_counts::registration(std::chrono::minutes(1), 3);
  auto registry = [&] {
    operators::function_registry r;
    r.add_processor("recent_counts", registration);
    return r;
  };
  const auto topology = recent_counts_pipeline(f.app, input, output, registration, GetParam());
  auto produce = [&](std::vector<timed_record> a, std::vector<timed_record> b) {
    run_coroutine([&](asio::any_io_executor executor) {
      return produce_timed(executor, input, 0, std::move(a));
    });
    run_coroutine([&](asio::any_io_executor executor) {
      return produce_timed(executor, input, 1, std::move(b));
    });
  };

  // base_time() is on a minute, so stream-time punctuations (every minute, aligned to 0, the
  // first with a task's first record) fall on these minutes.
  produce({at("a", 0), at("a", 30 * second), at("a", minute), at("a", 2 * minute)},
          {at("b", 10 * second), at("b", minute + 10 * second)});
  {
    running_app first(topology, f.config, registry());
    first.start();
    ASSERT_TRUE(wait_for_reports(first, output, 5));
    first.stop();
  }
  produce({at("a", 2 * minute + 10 * second), at("a", 3 * minute), at("a", 5 * minute)},
          {at("b", 4 * minute), at("b", 4 * minute + 30 * second), at("b", 7 * minute)});
  running_app second(topology, f.config_b, registry());
  second.start();
  ASSERT_TRUE(wait_for_reports(second, output, 9));
  std::this_thread::sleep_for(std::chrono::seconds(1));  // anything wrongly reported would show now
  second.stop();
  EXPECT_GT(second.metrics().restored_records.load(), 0U);
  // a: buckets [0, 2m] ... each report counts the three minutes up to stream time's.
  const keyed_results expected{{"a",
                                {
                                    "1 at 0",       // the first record: the first punctuation
                                    "3 at 60000",   // 0, 30s, 1m
                                    "4 at 120000",  // 0, 30s, 1m, 2m
                                    "4 at 180000",  // 1m, 2m, 2m10s, 3m (2m10s reports nothing)
                                    "2 at 300000",  // 3m, 5m (the punctuation at 4m was missed)
                                }},
                               {"b",
                                {
                                    "1 at 10000",   // 10s
                                    "2 at 70000",   // 10s, 1m10s
                                    "1 at 240000",  // 4m (4m30s reports nothing)
                                    "1 at 420000",  // 7m
                                }}};
  expect_delivered(GetParam(), reports(output), expected);
}

INSTANTIATE_TEST_SUITE_P(delivery, runtime_window_processor, every_delivery(), delivery_name);

}  // namespace
}  // namespace sluice::runtime
