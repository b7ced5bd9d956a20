// Several sinks (branches): each result goes to every sink whose `when` holds, through the
// sink's own steps, with the sink's formats; validation names each sink's fields.
#include <gtest/gtest.h>

#include "operators/sub_topology_processor.hpp"
#include "operators/topology_validation.hpp"
#include "tests/operators/operator_test_support.hpp"

namespace sluice::operators {
namespace {

using testing::make_step;

topology routed() {
  topology t;
  t.name = "app";
  t.sources = {source_spec{{"in"}, data_format::string, data_format::json}};
  t.sinks = {sink_spec{"big", data_format::string, data_format::json, "value.n > 10", {}},
             sink_spec{"all",
                       data_format::string,
                       data_format::string,
                       "",
                       {make_step(step_kind::map, R"("n=" + string(value.n))", "sink1-map-0")}},
             sink_spec{"small", data_format::string, data_format::json, "value.n <= 10", {}}};
  return t;
}

std::vector<std::string> routes(sub_topology_processor& p, std::string value) {
  std::vector<output_record> out;
  auto e = p.process(
      raw_record{record_origin{"in", 0, 0}, std::string("k"), std::move(value), 1, {}}, out);
  EXPECT_FALSE(e) << (e ? e->describe() : "");
  std::vector<std::string> got;
  for (const auto& o : out) got.push_back(o.topic + ":" + o.value.value_or("<null>"));
  return got;
}

TEST(sinks, each_result_goes_to_every_sink_whose_predicate_holds_through_its_steps) {
  const auto t = routed();
  ASSERT_TRUE(validate_topology(t, {}).empty());
  const auto plan = plan_topology(t).sub_topologies.at(0);
  in_memory_store_provider stores;
  sub_topology_processor p(plan, stores, {});
  EXPECT_EQ(routes(p, R"({"n":42})"), (std::vector<std::string>{R"(big:{"n":42})", "all:n=42"}));
  EXPECT_EQ(routes(p, R"({"n":3})"), (std::vector<std::string>{"all:n=3", R"(small:{"n":3})"}));
}

TEST(sinks, a_predicate_that_fails_is_the_records_error) {
  auto t = routed();
  t.sinks[0].when = "value.n";  // not a bool
  const auto plan = plan_topology(t).sub_topologies.at(0);
  in_memory_store_provider stores;
  sub_topology_processor p(plan, stores, {});
  std::vector<output_record> out;
  auto e = p.process(
      raw_record{record_origin{"in", 0, 0}, std::string("k"), std::string(R"({"n":1})"), 1, {}},
      out);
  ASSERT_TRUE(e);
  EXPECT_NE(e->describe().find("when of sink big"), std::string::npos) << e->describe();
  EXPECT_TRUE(out.empty());
}

TEST(sinks, validation_names_each_sink) {
  auto t = routed();
  t.sinks[1].topic = "big";
  t.sinks[2].when = "value.n <";
  t.sinks[2].steps.push_back(make_step(step_kind::filter, "true", "sink1-map-0"));
  std::vector<std::string> got;
  for (const auto& e : validate_topology(t, {})) got.push_back(e.path + ": " + e.message);
  auto has = [&](std::string_view text) {
    return std::any_of(got.begin(), got.end(),
                       [&](const std::string& g) { return g.find(text) != g.npos; });
  };
  EXPECT_TRUE(has("sinks[1].topic: topic 'big' is written by two sinks"))
      << ::testing::PrintToString(got);
  EXPECT_TRUE(has("sinks[2].when: "));
  EXPECT_TRUE(has("sinks[2].steps[0].name: step name 'sink1-map-0' is used twice"));
  topology none = routed();
  none.sinks.clear();
  ASSERT_EQ(validate_topology(none, {}).size(), 1U);
  EXPECT_EQ(validate_topology(none, {})[0].path, "sink");
}

// A sink whose topic comes from the record: topic_from picks one of the declared topics.
topology by_region() {
  topology t;
  t.name = "app";
  t.sources = {source_spec{{"in"}, data_format::string, data_format::json}};
  sink_spec sink{.key_format = data_format::string, .value_format = data_format::json};
  sink.topic_from = R"(concat("orders-", value.region))";
  sink.topics = {"orders-eu", "orders-us"};
  t.sinks = {sink};
  return t;
}

TEST(sinks, topic_from_sends_each_record_to_the_topic_its_expression_gives) {
  const auto t = by_region();
  ASSERT_TRUE(validate_topology(t, {}).empty())
      << ::testing::PrintToString(validate_topology(t, {}).size());
  const auto plan = plan_topology(t).sub_topologies.at(0);
  in_memory_store_provider stores;
  sub_topology_processor p(plan, stores, {});
  EXPECT_EQ(routes(p, R"({"region":"eu"})"),
            (std::vector<std::string>{R"(orders-eu:{"region":"eu"})"}));
  EXPECT_EQ(routes(p, R"({"region":"us"})"),
            (std::vector<std::string>{R"(orders-us:{"region":"us"})"}));
}

TEST(sinks, topic_from_giving_an_undeclared_topic_is_the_records_error_and_writes_nothing) {
  const auto plan = plan_topology(by_region()).sub_topologies.at(0);
  in_memory_store_provider stores;
  sub_topology_processor p(plan, stores, {});
  for (const auto* value : {R"({"region":"apac"})", R"({"region":7})", R"({"other":1})"}) {
    std::vector<output_record> out;
    auto e = p.process(
        raw_record{record_origin{"in", 0, 5}, std::string("k"), std::string(value), 1, {}}, out);
    ASSERT_TRUE(e) << value;
    EXPECT_TRUE(out.empty()) << value;
    EXPECT_NE(e->describe().find("sink topic_from"), std::string::npos) << e->describe();
    EXPECT_NE(e->describe().find("offset 5"), std::string::npos) << e->describe();
  }
  std::vector<output_record> out;
  auto e = p.process(
      raw_record{
          record_origin{"in", 0, 6}, std::string("k"), std::string(R"({"region":"apac"})"), 1, {}},
      out);
  ASSERT_TRUE(e);
  EXPECT_NE(
      e->describe().find(
          R"(gave "orders-apac", which is not one of the sink's topics (orders-eu, orders-us))"),
      std::string::npos)
      << e->describe();
}

TEST(sinks, validation_wants_topic_or_topic_from_with_its_topics) {
  auto both = by_region();
  both.sinks[0].topic = "orders";
  auto none = by_region();
  none.sinks[0].topics.clear();
  auto bad = by_region();
  bad.sinks[0].topics = {"orders-eu", "no/slash"};
  bad.sinks[0].topic_from = "concat(";
  auto messages = [](const topology& t) {
    std::vector<std::string> got;
    for (const auto& e : validate_topology(t, {})) got.push_back(e.path + ": " + e.message);
    return ::testing::PrintToString(got);
  };
  EXPECT_NE(messages(both).find("sink.topic_from: give topic or topic_from, not both"),
            std::string::npos)
      << messages(both);
  EXPECT_NE(messages(none).find("sink.topics: expected the topics topic_from may give"),
            std::string::npos)
      << messages(none);
  EXPECT_NE(messages(bad).find("sink.topics[1]: 'no/slash' is not a valid topic name"),
            std::string::npos)
      << messages(bad);
  EXPECT_NE(messages(bad).find("sink.topic_from: "), std::string::npos) << messages(bad);
}

}  // namespace
}  // namespace sluice::operators
