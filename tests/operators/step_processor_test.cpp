#include "operators/step_processor.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "tests/operators/operator_test_support.hpp"

namespace sluice::operators {
namespace {

using testing::json;
using testing::make_record;
using testing::make_step;

const function_registry no_functions;

// The step's node through the processor interface: what it forwards.
std::vector<record> run(const step& s, const record& in,
                        const function_registry& registry = no_functions) {
  step_processor p(s, registry);
  testing::collecting_context context;
  auto e = testing::process_through(p, in, context);
  EXPECT_FALSE(e) << (e ? e->describe() : "");
  return context.forwarded;
}

processing_error fail(const step& s, const record& in,
                      const function_registry& registry = no_functions) {
  step_processor p(s, registry);
  testing::collecting_context context;
  auto e = testing::process_through(p, in, context);
  EXPECT_TRUE(context.forwarded.empty());
  if (!e) {
    ADD_FAILURE() << "expected an error";
    return {};
  }
  return *e;
}

TEST(step_processor, filter_keeps_true_and_drops_false) {
  const auto s = make_step(step_kind::filter, "value.n > 1");
  EXPECT_EQ(run(s, make_record("\"k\"", R"({"n":2})")).size(), 1U);
  EXPECT_TRUE(run(s, make_record("\"k\"", R"({"n":1})")).empty());
}

TEST(step_processor, filter_that_is_not_boolean_is_an_error_naming_the_step_and_record) {
  const auto s = make_step(step_kind::filter, "value.name", "only-named");
  auto e = fail(s, make_record("\"k\"", R"({"name":"x"})", 0, 41));
  EXPECT_EQ(e.kind, error_kind::evaluation);
  EXPECT_EQ(e.step, "only-named");
  EXPECT_EQ(e.origin.offset, 41);
  EXPECT_NE(e.describe().find("offset 41, step 'only-named'"), std::string::npos) << e.describe();
}

TEST(step_processor, map_replaces_the_value_from_one_expression) {
  auto out = run(make_step(step_kind::map, "{ total: value.a + value.b }"),
                 make_record("\"k\"", R"({"a":1,"b":2})", 5));
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].value, json(R"({"total":3})"));
  EXPECT_EQ(out[0].key, json("\"k\""));
  EXPECT_EQ(out[0].timestamp, 5);
}

TEST(step_processor, map_with_fields_builds_an_object) {
  step s = make_step(step_kind::map, "");
  s.fields = {{"upper", "upper(value.s)"}, {"ts", "timestamp"}};
  auto out = run(s, make_record("null", R"({"s":"ab"})", 9));
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].value, json(R"({"upper":"AB","ts":9})"));
}

TEST(step_processor, select_key_changes_only_the_key) {
  auto out = run(make_step(step_kind::select_key, "value.user"),
                 make_record("\"old\"", R"({"user":"u7"})"));
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].key, json("\"u7\""));
  EXPECT_EQ(out[0].value, json(R"({"user":"u7"})"));
}

TEST(step_processor, flat_map_emits_one_record_per_element) {
  auto out = run(make_step(step_kind::flat_map, "value.items"),
                 make_record("\"k\"", R"({"items":[1,2,3]})"));
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[2].value, json("3"));
  EXPECT_EQ(out[2].key, json("\"k\""));
  EXPECT_TRUE(
      run(make_step(step_kind::flat_map, "value.items"), make_record("\"k\"", R"({"items":[]})"))
          .empty());
}

TEST(step_processor, flat_map_with_a_key_rekeys_each_element) {
  step s = make_step(step_kind::flat_map, "value.lines");
  s.key_expression = "value.sku";
  auto out = run(s, make_record("\"order\"", R"({"lines":[{"sku":"a"},{"sku":"b"}]})"));
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[0].key, json("\"a\""));
  EXPECT_EQ(out[1].key, json("\"b\""));
  EXPECT_EQ(out[1].value, json(R"({"sku":"b"})"));
}

TEST(step_processor, flat_map_of_a_non_array_is_an_error) {
  auto e = fail(make_step(step_kind::flat_map, "value.items"),
                make_record("\"k\"", R"({"items":{"a":1}})"));
  EXPECT_NE(e.message.find("flat_map must give an array"), std::string::npos) << e.message;
}

TEST(step_processor, set_timestamp_takes_milliseconds) {
  auto out = run(make_step(step_kind::set_timestamp, "value.ts"),
                 make_record("null", R"({"ts":1234})", 1));
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].timestamp, 1234);
  auto e = fail(make_step(step_kind::set_timestamp, "value.ts"),
                make_record("null", R"({"ts":"yesterday"})"));
  EXPECT_EQ(e.kind, error_kind::invalid_timestamp);
  auto negative =
      fail(make_step(step_kind::set_timestamp, "value.ts"), make_record("null", R"({"ts":-5})"));
  EXPECT_EQ(negative.kind, error_kind::invalid_timestamp);
}

TEST(step_processor, user_functions_run_and_their_exceptions_become_errors) {
  function_registry registry;
  registry.add_step("twice", [](const record& r) { return std::vector<record>{r, r}; });
  registry.add_step(
      "boom", [](const record&) -> std::vector<record> { throw std::runtime_error("no luck"); });
  step s;
  s.kind = step_kind::user;
  s.name = "u";
  s.function = "twice";
  EXPECT_EQ(run(s, make_record("1", "2"), registry).size(), 2U);
  s.function = "boom";
  auto e = fail(s, make_record("1", "2"), registry);
  EXPECT_EQ(e.kind, error_kind::user_function);
  EXPECT_NE(e.message.find("no luck"), std::string::npos);
}

TEST(step_processor, user_function_changing_the_key_must_declare_it) {
  function_registry registry;
  registry.add_step("rekey", [](const record& r) {
    record out = r;
    out.key = "new";
    return std::vector<record>{out};
  });
  step s;
  s.kind = step_kind::user;
  s.name = "u";
  s.function = "rekey";
  auto e = fail(s, make_record("\"old\"", "2"), registry);
  EXPECT_NE(e.message.find("changes_key"), std::string::npos) << e.message;
  s.changes_key = true;
  auto out = run(s, make_record("\"old\"", "2"), registry);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].key, json("\"new\""));
}

TEST(step_processor, an_unregistered_user_function_or_bad_expression_is_rejected_at_construction) {
  step s;
  s.kind = step_kind::user;
  s.name = "u";
  s.function = "missing";
  EXPECT_THROW(step_processor(s, no_functions), std::invalid_argument);
  EXPECT_THROW(step_processor(make_step(step_kind::filter, "value.a >"), no_functions),
               std::invalid_argument);
}

TEST(step_processor, expressions_see_headers_topic_and_offset) {
  record r = make_record("null", "{}", 0, 12);
  r.headers = {header{"source", std::string("mobile")}};
  auto out = run(make_step(step_kind::map, R"({ h: headers["source"], t: topic, o: offset })"), r);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].value, json(R"({"h":"mobile","t":"input","o":12})"));
}

}  // namespace
}  // namespace sluice::operators
