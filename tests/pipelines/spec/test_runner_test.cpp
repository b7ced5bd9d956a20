#include "pipelines/spec/test_runner.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "pipelines/spec/yaml_loader.hpp"

namespace sluice::pipelines {
namespace {

namespace ops = sluice::operators;

std::vector<test_case_result> run(std::string_view text,
                                  const ops::function_registry& registry = {}) {
  auto loaded = load_pipeline(text, "t.yaml", registry);
  if (!loaded.errors.empty()) {
    ADD_FAILURE() << loaded.errors[0].to_string();
    return {};
  }
  return run_tests(*loaded.pipeline, registry);
}

constexpr std::string_view doubling = R"(name: app
sources: [{ topic: in, key_format: string, value_format: json }]
steps:
  - map: value * 2
sink: { topic: out, key_format: string, value_format: int64 }
tests:
)";

TEST(pipeline_test_runner, a_matching_expectation_passes) {
  std::string text(doubling);
  text += R"(  - name: doubles
    inputs: [{ key: a, value: 21, timestamp: 7 }]
    outputs: [{ key: a, value: 42, timestamp: 7 }]
)";
  auto results = run(text);
  ASSERT_EQ(results.size(), 1U);
  EXPECT_TRUE(results[0].passed) << results[0].report;
  EXPECT_EQ(results[0].name, "doubles");
}

TEST(pipeline_test_runner, a_mismatch_fails_with_expected_and_actual_side_by_side) {
  std::string text(doubling);
  text += R"(  - name: wrong
    inputs:
      - { key: a, value: 1 }
      - { key: b, value: 2 }
    outputs:
      - { key: a, value: 2 }
      - { key: b, value: 5 }
      - { key: c, value: 6 }
)";
  auto results = run(text);
  ASSERT_EQ(results.size(), 1U);
  EXPECT_FALSE(results[0].passed);
  const auto& report = results[0].report;
  EXPECT_NE(report.find("expected 3 outputs, got 2"), std::string::npos) << report;
  EXPECT_NE(report.find("    output 0: topic=out key=\"a\" value=2"), std::string::npos) << report;
  EXPECT_NE(report.find("  - output 1 expected (line 13): topic=out key=\"b\" value=5"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("  + output 1 actual:   topic=out key=\"b\" value=4 timestamp=0"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("  + output 2 actual:   nothing"), std::string::npos) << report;
}

TEST(pipeline_test_runner, a_timestamp_is_compared_only_when_expected) {
  std::string text(doubling);
  text += R"(  - name: wrong time
    inputs: [{ key: a, value: 1, timestamp: 5 }]
    outputs: [{ key: a, value: 2, timestamp: 6 }]
  - name: any time
    inputs: [{ key: a, value: 1, timestamp: 5 }]
    outputs: [{ key: a, value: 2 }]
)";
  auto results = run(text);
  ASSERT_EQ(results.size(), 2U);
  EXPECT_FALSE(results[0].passed);
  EXPECT_TRUE(results[1].passed) << results[1].report;
}

TEST(pipeline_test_runner, a_processing_error_fails_the_test_and_says_where) {
  std::string text(doubling);
  text += R"(  - name: bad input
    inputs: [{ key: a, value: "x" }]
    outputs: []
)";
  auto results = run(text);
  ASSERT_EQ(results.size(), 1U);
  EXPECT_FALSE(results[0].passed);
  EXPECT_NE(results[0].report.find("t.yaml:8: tests[0].inputs[0]: processing failed: topic 'in' "
                                   "partition 0 offset 0, step 'map-0'"),
            std::string::npos)
      << results[0].report;
}

TEST(pipeline_test_runner, an_input_for_an_unknown_topic_fails_the_test) {
  std::string text(doubling);
  text += R"(  - inputs: [{ topic: nope, key: a, value: 1 }]
    outputs: []
)";
  auto results = run(text);
  ASSERT_EQ(results.size(), 1U);
  EXPECT_FALSE(results[0].passed);
  EXPECT_NE(results[0].report.find("topic 'nope' is not a source"), std::string::npos)
      << results[0].report;
}

TEST(pipeline_test_runner, each_test_starts_from_empty_state) {
  constexpr std::string_view text = R"(name: app
sources: [{ topic: in }]
window: { type: tumbling, size: 1m, aggregate: [{ name: n, function: count }] }
sink: { topic: out }
tests:
  - inputs: [{ key: a, value: 1, timestamp: 1 }]
    outputs: [{ key: a, value: { window_start: 0, window_end: 60000, n: 1 } }]
  - inputs: [{ key: a, value: 1, timestamp: 2 }]
    outputs: [{ key: a, value: { window_start: 0, window_end: 60000, n: 1 } }]
)";
  auto results = run(text);
  ASSERT_EQ(results.size(), 2U);
  EXPECT_TRUE(results[0].passed) << results[0].report;
  EXPECT_TRUE(results[1].passed) << results[1].report;
}

TEST(pipeline_test_runner, records_are_repartitioned_before_the_aggregation) {
  constexpr std::string_view text = R"(name: app
sources: [{ topic: in, key_format: int64, value_format: json }]
steps:
  - select_key: value.team
window: { type: tumbling, size: 1m, aggregate: [{ name: points, function: sum, expression: value.points }] }
sink: { topic: out, key_format: string }
tests:
  - inputs:
      - { key: 1, value: { team: red, points: 3 }, timestamp: 1 }
      - { key: 2, value: { team: red, points: 4 }, timestamp: 2 }
    outputs:
      - { key: red, value: { window_start: 0, window_end: 60000, points: 3 } }
      - { key: red, value: { window_start: 0, window_end: 60000, points: 7.0 } }
)";
  auto results = run(text);
  ASSERT_EQ(results.size(), 1U);
  EXPECT_TRUE(results[0].passed) << results[0].report;
}

TEST(pipeline_test_runner, user_functions_from_the_registry_run) {
  ops::function_registry registry;
  registry.add_step("tag", [](const ops::record& r) {
    ops::record out = r;
    out.value = boost::json::object{{"tagged", r.value}};
    return std::vector<ops::record>{out};
  });
  constexpr std::string_view text = R"(name: app
sources: [{ topic: in }]
steps: [{ user: tag }]
sink: { topic: out }
tests:
  - inputs: [{ key: a, value: 1 }]
    outputs: [{ key: a, value: { tagged: 1 } }]
)";
  auto results = run(text, registry);
  ASSERT_EQ(results.size(), 1U);
  EXPECT_TRUE(results[0].passed) << results[0].report;
}

TEST(json_equivalent, numbers_by_value_and_objects_in_any_order) {
  using boost::json::parse;
  EXPECT_TRUE(json_equivalent(parse("1"), parse("1.0")));
  EXPECT_FALSE(json_equivalent(parse("1"), parse("1.5")));
  EXPECT_TRUE(json_equivalent(parse(R"({"a":1,"b":[2]})"), parse(R"({"b":[2.0],"a":1})")));
  EXPECT_FALSE(json_equivalent(parse(R"({"a":1})"), parse(R"({"a":1,"b":2})")));
  EXPECT_FALSE(json_equivalent(parse(R"("1")"), parse("1")));
  EXPECT_TRUE(json_equivalent(parse("18446744073709551615"), parse("18446744073709551615")));
}

}  // namespace
}  // namespace sluice::pipelines
