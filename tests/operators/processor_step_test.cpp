// User C++ processors with stores (operators/processor.hpp): run by the sub-topology processor
// over in-memory stores, planned with their stores, validated against their registration.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "operators/sub_topology_processor.hpp"
#include "operators/topology_validation.hpp"
#include "state/json_serde.hpp"
#include "state/typed_stores.hpp"
#include "tests/operators/operator_test_support.hpp"

namespace sluice::operators {
namespace {

using testing::linear_pipeline;
using testing::make_step;
using namespace std::chrono_literals;
namespace json = boost::json;

int opened = 0;
int closed = 0;

// Forwards the first record of each value.id, and a counter of how many it dropped.
class dedup final : public processor {
 public:
  void init(processor_context& context) override {
    ++opened;
    (void)context.store("seen");  // the declared store is there from the start
  }
  void process(const record& in, processor_context& context) override {
    if (in.value.as_object().contains("boom")) throw std::runtime_error("boom");
    if (in.value.as_object().contains("peek")) (void)context.store("elsewhere");
    state::typed_kv_store<state::json_serde, state::json_serde> seen(context.store("seen"));
    const auto& id = in.value.at("id");
    if (auto count = seen.get(id)) {
      seen.put(id, count->as_int64() + 1);
      return;
    }
    seen.put(id, 1);
    record out = in;
    if (in.value.as_object().contains("rekey")) out.key = "other";
    context.forward(std::move(out));
  }
  void close() override { ++closed; }
};

function_registry registry_with_dedup() {
  function_registry registry;
  registry.add_processor("dedup", [] { return std::make_unique<dedup>(); }, {"seen"});
  return registry;
}

step processor_step(std::vector<store_spec> stores = {"seen"}, std::string name = "dd") {
  step s;
  s.kind = step_kind::processor;
  s.name = std::move(name);
  s.function = "dedup";
  s.stores = std::move(stores);
  return s;
}

raw_record raw(std::string value, std::int64_t offset) {
  return raw_record{record_origin{"in", 0, offset}, std::string("k"), std::move(value), 5, {}};
}

TEST(processor_step, keeps_state_in_its_store_across_records_and_restarts) {
  const auto registry = registry_with_dedup();
  const auto plan = plan_topology(linear_pipeline({processor_step()})).sub_topologies.at(0);
  in_memory_store_provider stores;
  opened = closed = 0;
  std::vector<output_record> out;
  {
    sub_topology_processor p(plan, stores, registry);
    EXPECT_EQ(opened, 1);
    EXPECT_FALSE(p.process(raw(R"({"id":1})", 0), out));
    EXPECT_FALSE(p.process(raw(R"({"id":2})", 1), out));
    EXPECT_FALSE(p.process(raw(R"({"id":1})", 2), out));
    stores.commit_all(state::changelog_offset{3});
  }
  EXPECT_EQ(closed, 1);
  sub_topology_processor again(plan, stores, registry);  // as after a restart or a move
  EXPECT_FALSE(again.process(raw(R"({"id":2})", 3), out));
  EXPECT_FALSE(again.process(raw(R"({"id":3})", 4), out));
  std::vector<std::string> values;
  values.reserve(out.size());
  for (const auto& o : out) values.push_back(*o.value);
  EXPECT_EQ(values, (std::vector<std::string>{R"({"id":1})", R"({"id":2})", R"({"id":3})"}));
  auto& seen = stores.kv_store(plan.stores.at(0));
  EXPECT_EQ(seen.get(state::json_serde::serialize(json::value(2))), "2");
}

TEST(processor_step, its_failures_are_processing_errors_naming_the_processor) {
  const auto registry = registry_with_dedup();
  const auto plan = plan_topology(linear_pipeline({processor_step()})).sub_topologies.at(0);
  in_memory_store_provider stores;
  sub_topology_processor p(plan, stores, registry);
  std::vector<output_record> out;
  auto thrown = p.process(raw(R"({"id":1,"boom":true})", 0), out);
  ASSERT_TRUE(thrown);
  EXPECT_EQ(thrown->kind, error_kind::user_function);
  EXPECT_NE(thrown->describe().find("processor 'dedup' threw: boom"), std::string::npos)
      << thrown->describe();
  auto undeclared = p.process(raw(R"({"id":1,"peek":true})", 1), out);
  ASSERT_TRUE(undeclared);
  EXPECT_NE(undeclared->describe().find(
                "processor 'dedup' asked for key_value store 'elsewhere', but step 'dd' "
                "declares stores: seen (key_value)"),
            std::string::npos)
      << undeclared->describe();
  auto rekeyed = p.process(raw(R"({"id":9,"rekey":true})", 2), out);
  ASSERT_TRUE(rekeyed);
  EXPECT_NE(rekeyed->describe().find("processor 'dedup' changed the key"), std::string::npos)
      << rekeyed->describe();
  EXPECT_TRUE(out.empty());
}

TEST(processor_step, its_stores_are_planned_and_a_key_change_before_it_repartitions) {
  auto plan = plan_topology(linear_pipeline(
      {make_step(step_kind::select_key, "value.user", "by-user"), processor_step()}));
  ASSERT_EQ(plan.sub_topologies.size(), 2U);
  EXPECT_TRUE(plan.sub_topologies[0].stores.empty());
  ASSERT_EQ(plan.sub_topologies[1].stores.size(), 2U);
  EXPECT_EQ(plan.sub_topologies[1].stores[0],
            (store_plan{"dd-seen", store_kind::key_value, "app-dd-seen-changelog", 0ms}));
  EXPECT_EQ(plan.sub_topologies[1].stores[1],
            (store_plan{"dd-time", store_kind::key_value, "app-dd-time-changelog", 0ms}));
  EXPECT_EQ(plan.repartition_topics, std::vector<std::string>{"app-by-user-repartition"});
  // Without stores a processor is stateless: no cut.
  EXPECT_EQ(
      plan_topology(linear_pipeline({make_step(step_kind::select_key, "value.user", "by-user"),
                                     processor_step({})}))
          .sub_topologies.size(),
      1U);
}

TEST(processor_step, validation_checks_the_registration_and_the_stores) {
  const auto registry = registry_with_dedup();
  std::vector<std::string> got;
  for (const auto& e : validate_topology(
           linear_pipeline({processor_step({"seen", "seen"}, "a"), processor_step({}, "b")}),
           registry)) {
    got.push_back(e.path + ": " + e.message);
  }
  auto unregistered = linear_pipeline({processor_step()});
  unregistered.steps[0].function = "dedupe";
  for (const auto& e : validate_topology(unregistered, registry))
    got.push_back(e.path + ": " + e.message);
  const std::vector<std::string> expected{
      "steps[0].processor.stores[1]: store 'seen' is declared twice",
      "steps[1].processor.stores: processor 'dedup' uses store 'seen': declare it (stores: [seen])",
      "steps[0].processor.function: no processor 'dedupe' is registered "
      "(function_registry::add_processor)"};
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace sluice::operators

namespace sluice::operators {
namespace {

// Counts what it saw and, at each punctuation, forwards the count and starts over.
class ticker final : public processor {
 public:
  void process(const record&, processor_context& context) override {
    auto& counts = context.store("seen");
    const auto now = counts.get("n");
    counts.put("n", std::to_string(now ? std::stoi(*now) + 1 : 1));
  }
  void punctuate(punctuation_type type, std::int64_t wall_clock_ms,
                 processor_context& context) override {
    ASSERT_EQ(type, punctuation_type::wall_clock_time);
    auto& counts = context.store("seen");
    record out;
    out.key = "tick";
    out.value =
        boost::json::object{{"at", wall_clock_ms}, {"n", std::stoi(counts.get("n").value_or("0"))}};
    counts.remove("n");
    context.forward(std::move(out));
  }
};

TEST(processor_step, a_punctuation_forwards_through_the_rest_of_the_pipeline) {
  function_registry registry;
  registry.add_processor(
      "ticker", [] { return std::make_unique<ticker>(); }, {"seen"}, 1000ms);
  auto t = linear_pipeline(
      {processor_step(), make_step(step_kind::map, "{ at: value.at, n: value.n * 10 }", "m")});
  t.steps[0].function = "ticker";
  const auto plan = plan_topology(t).sub_topologies.at(0);
  in_memory_store_provider stores;
  sub_topology_processor p(plan, stores, registry);
  std::vector<output_record> out;
  EXPECT_FALSE(p.punctuation_due(10'000));  // the first interval starts now
  EXPECT_FALSE(p.process(raw(R"({"id":1})", 0), out));
  EXPECT_FALSE(p.process(raw(R"({"id":2})", 1), out));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(p.punctuation_due(10'999));
  ASSERT_TRUE(p.punctuation_due(11'000));
  EXPECT_FALSE(p.punctuate(11'000, out));
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].key, "tick");
  EXPECT_EQ(out[0].value, R"({"at":11000,"n":20})");  // through the map step after it
  EXPECT_FALSE(p.punctuation_due(11'500));
  EXPECT_TRUE(p.punctuation_due(12'000));
}

}  // namespace
}  // namespace sluice::operators
