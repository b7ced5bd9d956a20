// A user C++ processor with a store (operators/processor.hpp) against the real broker, under each
// delivery guarantee: a de-duplicator that remembers the ids it has seen in its store forwards
// each id once, also across a second process that starts with no state and restores the store
// from its changelog; the committed output holds every id as the mode promises
// (delivery_checks.hpp): exactly once under exactly_once.
#include "state/json_serde.hpp"
#include "state/typed_stores.hpp"
#include "tests/runtime/app_test_support.hpp"
#include "tests/runtime/delivery_checks.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;

constexpr std::int32_t partitions = 2;

class dedup final : public operators::processor {
 public:
  void process(const operators::record& in, operators::processor_context& context) override {
    state::typed_kv_store<state::json_serde, state::json_serde> seen(context.store("seen"));
    const auto& id = in.value.at("amount");
    if (seen.get(id)) return;
    seen.put(id, true);
    context.forward(in);
  }
};

operators::function_registry registry() {
  operators::function_registry r;
  r.add_processor("dedup", [] { return std::make_unique<dedup>(); }, {"seen"});
  return r;
}

operators::topology dedup_pipeline(const std::string& app, const std::string& input,
                                   const std::string& output,
                                   operators::delivery_guarantee delivery) {
  auto t = json_source_pipeline(app, input, delivery);
  operators::step s;
  s.kind = operators::step_kind::processor;
  s.name = "dedup";
  s.function = "dedup";
  s.stores = {"seen"};
  t.steps.push_back(s);
  t.sinks = {{output, operators::data_format::string, operators::data_format::json}};
  return t;
}

// Every id (`amount`) in the output with the keys of its records, read_committed, in log order.
keyed_results forwarded(const std::string& output) {
  keyed_results out;
  read_committed_topic(output, partitions, [&](const kafka::consumer_record& r) {
    const auto id = json::parse(r.value_string()).as_object().at("amount").as_int64();
    out[std::to_string(id)].push_back(std::string(r.key_string()));
  });
  return out;
}

bool wait_for_ids(const running_app& app, const std::string& output, std::size_t count) {
  return wait_until(app, [&] { return distinct_results(forwarded(output)) >= count; });
}

class runtime_processor : public ::testing::TestWithParam<operators::delivery_guarantee> {};

TEST_P(runtime_processor, a_deduplicating_processor_keeps_its_store_across_processes) {
  const two_process_fixture f("ids", "unique-ids", "dedup-app", partitions);
  const auto& input = f.input();
  const auto& output = f.output;
  const auto topology = dedup_pipeline(f.app, input, output, GetParam());

  // Ids 0..4 twice on partition 0, ids 100..104 twice on partition 1.
  auto produce = [&](int first, int count) {
    run_coroutine([&](asio::any_io_executor executor) {
      return produce_orders(executor, input, 0, "a", first, count);
    });
    run_coroutine([&](asio::any_io_executor executor) {
      return produce_orders(executor, input, 1, "b", 100 + first, count);
    });
  };
  produce(0, 5);
  produce(0, 5);
  {
    running_app a(topology, f.config, registry());
    a.start();
    ASSERT_TRUE(wait_for_ids(a, output, 10));
    a.stop();
  }
  // Repeats of old ids and two new ones, for a process that has to restore what was seen.
  produce(3, 3);
  running_app b(topology, f.config_b, registry());
  b.start();
  ASSERT_TRUE(wait_for_ids(b, output, 12));
  std::this_thread::sleep_for(
      std::chrono::seconds(1));  // anything wrongly forwarded would show now
  b.stop();
  EXPECT_GT(b.metrics().restored_records.load(), 0u);
  // Ids 0..5 from key a, 100..105 from key b, each forwarded once.
  keyed_results expected;
  for (int id = 0; id <= 5; ++id) {
    expected[std::to_string(id)] = {"a"};
    expected[std::to_string(100 + id)] = {"b"};
  }
  expect_delivered(GetParam(), forwarded(output), expected);
}

INSTANTIATE_TEST_SUITE_P(delivery, runtime_processor, every_delivery(), delivery_name);

}  // namespace
}  // namespace sluice::runtime
