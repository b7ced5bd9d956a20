#include "operators/sub_topology_processor.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "tests/operators/operator_test_support.hpp"

namespace sluice::operators {
namespace {

using testing::make_step;
using namespace std::chrono_literals;

raw_record raw(std::string topic, std::optional<std::string> key, std::optional<std::string> value,
               std::int64_t timestamp = 0, std::int64_t offset = 0) {
  return raw_record{
      record_origin{std::move(topic), 2, offset}, std::move(key), std::move(value), timestamp, {}};
}

sub_topology stateless(std::vector<step> steps) {
  sub_topology s;
  s.sources = {source_spec{{"in"}, data_format::string, data_format::json}};
  s.steps = std::move(steps);
  s.sinks = {sink_spec{"out", data_format::string, data_format::json}};
  return s;
}

TEST(sub_topology_processor, decodes_runs_steps_and_encodes_for_the_sink) {
  in_memory_store_provider stores;
  sub_topology_processor p(stateless({make_step(step_kind::filter, "value.n > 0", "f"),
                                      make_step(step_kind::map, "{ n: value.n * 2 }", "m")}),
                           stores, {});
  std::vector<output_record> out;
  EXPECT_FALSE(p.process(raw("in", "k", R"({"n":2})", 7), out));
  EXPECT_FALSE(p.process(raw("in", "k", R"({"n":0})", 8), out));
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0], (output_record{"out", "k", R"({"n":4})", 7, {}}));
  const auto m = p.metrics().snapshot();
  EXPECT_EQ(m.records_in, 2U);
  EXPECT_EQ(m.records_out, 1U);
  EXPECT_EQ(m.filtered, 1U);
  EXPECT_EQ(m.errors, 0U);
}

TEST(sub_topology_processor, bad_input_is_an_error_naming_topic_partition_offset) {
  in_memory_store_provider stores;
  sub_topology_processor p(stateless({}), stores, {});
  std::vector<output_record> out;
  auto e = p.process(raw("in", "k", "{not json", 0, 99), out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, error_kind::deserialization);
  EXPECT_EQ(e->describe().rfind("topic 'in' partition 2 offset 99: value is not valid JSON", 0), 0U)
      << e->describe();
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(p.metrics().snapshot().errors, 1U);
}

TEST(sub_topology_processor, an_output_the_sink_format_cannot_hold_is_an_error) {
  in_memory_store_provider stores;
  auto plan = stateless({make_step(step_kind::map, "value.n", "m")});
  plan.sinks.at(0).value_format = data_format::int64;
  sub_topology_processor p(plan, stores, {});
  std::vector<output_record> out;
  EXPECT_FALSE(p.process(raw("in", "k", R"({"n":5})"), out));
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].value, std::string("\0\0\0\0\0\0\0\x05", 8));
  auto e = p.process(raw("in", "k", R"({"n":"five"})"), out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, error_kind::serialization);
  EXPECT_NE(e->message.find("writing to 'out'"), std::string::npos) << e->message;
  EXPECT_EQ(out.size(), 1U);
}

TEST(sub_topology_processor, a_failing_fan_out_element_emits_nothing_for_the_record) {
  in_memory_store_provider stores;
  sub_topology_processor p(stateless({make_step(step_kind::flat_map, "value", "fm"),
                                      make_step(step_kind::filter, "value > 1", "f")}),
                           stores, {});
  std::vector<output_record> out;
  auto e = p.process(raw("in", "k", R"([5, "x", 7])"), out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->step, "f");
  EXPECT_TRUE(out.empty());
}

TEST(sub_topology_processor, windowed_results_and_late_records_are_encoded) {
  topology t;
  t.name = "app";
  t.sources = {source_spec{{"in"}, data_format::string, data_format::json}};
  windowed_aggregation_spec a;
  a.window = window_spec{window_kind::tumbling, 10ms, 0ms, 0ms, 0ms};
  a.aggregations = {aggregation_spec{"total", aggregate_function::sum, "value.v", ""}};
  a.late = late_policy::side_topic;
  a.late_topic = "late";
  t.aggregation = a;
  t.after = {make_step(step_kind::map, "value.total", "only-total")};
  t.sinks = {sink_spec{"out", data_format::string, data_format::int64}};
  auto plan = plan_topology(t);
  ASSERT_EQ(plan.sub_topologies.size(), 1U);

  in_memory_store_provider stores;
  sub_topology_processor p(plan.sub_topologies[0], stores, {});
  std::vector<output_record> out;
  EXPECT_FALSE(p.process(raw("in", "a", R"({"v":3})", 1), out));
  EXPECT_FALSE(p.process(raw("in", "a", R"({"v":4})", 25), out));
  EXPECT_FALSE(p.process(raw("in", "a", R"({"v":5})", 2), out));  // late
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[0], (output_record{"out", "a", std::string("\0\0\0\0\0\0\0\x03", 8), 1, {}}));
  EXPECT_EQ(out[1], (output_record{"out", "a", std::string("\0\0\0\0\0\0\0\x04", 8), 25, {}}));
  EXPECT_EQ(out[2], (output_record{"late", "a", R"({"v":5})", 2, {}}));
  EXPECT_EQ(p.stream_time(), 25);
  const auto m = p.metrics().snapshot();
  EXPECT_EQ(m.late_to_side, 1U);
  EXPECT_EQ(m.records_out, 3U);
}

TEST(sub_topology_processor, a_record_from_an_unknown_topic_is_an_error) {
  in_memory_store_provider stores;
  sub_topology_processor p(stateless({}), stores, {});
  std::vector<output_record> out;
  auto e = p.process(raw("elsewhere", "k", "1"), out);
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("not a source"), std::string::npos);
}

}  // namespace
}  // namespace sluice::operators
