#include "operators/topology.hpp"

#include <gtest/gtest.h>

#include "operators/topology_validation.hpp"
#include "tests/operators/operator_test_support.hpp"

namespace sluice::operators {
namespace {

using testing::make_step;
using namespace std::chrono_literals;

topology counting(std::vector<step> steps) {
  topology t;
  t.name = "app";
  t.sources = {source_spec{{"in"}, data_format::string, data_format::json}};
  t.steps = std::move(steps);
  windowed_aggregation_spec a;
  a.window.kind = window_kind::tumbling;
  a.window.size = 1min;
  a.window.grace = 10s;
  a.aggregations = {aggregation_spec{"n", aggregate_function::count, "", ""}};
  t.aggregation = a;
  t.sinks = {sink_spec{"out", data_format::string, data_format::json}};
  return t;
}

TEST(topology_planner, a_stateless_pipeline_is_one_sub_topology_without_stores) {
  topology t = counting({make_step(step_kind::filter, "true", "f")});
  t.aggregation.reset();
  auto plan = plan_topology(t);
  ASSERT_EQ(plan.sub_topologies.size(), 1U);
  EXPECT_TRUE(plan.sub_topologies[0].stores.empty());
  EXPECT_TRUE(plan.repartition_topics.empty());
  EXPECT_TRUE(plan.changelog_topics.empty());
  EXPECT_EQ(plan.sub_topologies[0].sinks.at(0).topic, "out");
}

TEST(topology_planner, aggregation_without_a_key_change_needs_no_repartition) {
  auto plan = plan_topology(counting({make_step(step_kind::map, "value", "m")}));
  ASSERT_EQ(plan.sub_topologies.size(), 1U);
  const auto& sub = plan.sub_topologies[0];
  ASSERT_EQ(sub.stores.size(), 2U);
  EXPECT_EQ(sub.stores[0].name, "window-store");
  EXPECT_EQ(sub.stores[0].kind, store_kind::window);
  EXPECT_EQ(sub.stores[0].retention, 70s);
  EXPECT_EQ(sub.stores[0].changelog_topic, "app-window-store-changelog");
  EXPECT_EQ(sub.stores[1].changelog_topic, "app-window-meta-changelog");
  EXPECT_EQ(plan.changelog_topics,
            (std::vector<std::string>{"app-window-store-changelog", "app-window-meta-changelog"}));
}

TEST(topology_planner, select_key_before_an_aggregation_splits_at_a_repartition_topic) {
  auto plan = plan_topology(counting({make_step(step_kind::filter, "true", "f"),
                                      make_step(step_kind::select_key, "value.user", "by-user"),
                                      make_step(step_kind::map, "value", "m")}));
  ASSERT_EQ(plan.sub_topologies.size(), 2U);
  EXPECT_EQ(plan.repartition_topics, std::vector<std::string>{"app-by-user-repartition"});
  const auto& first = plan.sub_topologies[0];
  const auto& second = plan.sub_topologies[1];
  EXPECT_EQ(first.steps.size(), 3U);  // every step before the aggregation
  EXPECT_FALSE(first.aggregation);
  EXPECT_TRUE(first.stores.empty());
  EXPECT_TRUE(first.writes_internal);
  EXPECT_EQ(first.sinks.at(0),
            (sink_spec{"app-by-user-repartition", data_format::json, data_format::json}));
  EXPECT_TRUE(second.reads_internal);
  ASSERT_EQ(second.sources.size(), 1U);
  EXPECT_EQ(second.sources[0].topics, std::vector<std::string>{"app-by-user-repartition"});
  EXPECT_TRUE(second.steps.empty());
  EXPECT_TRUE(second.aggregation);
  EXPECT_EQ(second.stores.size(), 2U);
  EXPECT_EQ(second.sinks.at(0).topic, "out");
}

TEST(topology_planner, the_last_key_change_names_the_repartition_topic) {
  step fm = make_step(step_kind::flat_map, "value.items", "explode");
  fm.key_expression = "value.sku";
  step u;
  u.kind = step_kind::user;
  u.name = "custom";
  u.function = "f";
  u.changes_key = true;
  auto plan = plan_topology(counting({fm, u}));
  EXPECT_EQ(plan.repartition_topics, std::vector<std::string>{"app-custom-repartition"});
  plan = plan_topology(counting({fm}));
  EXPECT_EQ(plan.repartition_topics, std::vector<std::string>{"app-explode-repartition"});
}

TEST(topology_planner, steps_that_keep_the_key_do_not_repartition) {
  step fm = make_step(step_kind::flat_map, "value.items", "explode");  // no key: same key
  step u;
  u.kind = step_kind::user;
  u.name = "custom";
  u.function = "f";
  EXPECT_EQ(plan_topology(counting({fm, u})).sub_topologies.size(), 1U);
}

TEST(topology_planner, a_key_change_after_the_aggregation_does_not_repartition) {
  topology t = counting({});
  t.after = {make_step(step_kind::select_key, "value.n", "rekey")};
  auto plan = plan_topology(t);
  ASSERT_EQ(plan.sub_topologies.size(), 1U);
  EXPECT_EQ(plan.sub_topologies[0].after.size(), 1U);
}

TEST(topology_planner, session_windows_use_a_session_store) {
  topology t = counting({});
  t.aggregation->window = window_spec{window_kind::session, 0ms, 0ms, 5min, 1min};
  auto plan = plan_topology(t);
  EXPECT_EQ(plan.sub_topologies[0].stores[0].kind, store_kind::session);
  EXPECT_EQ(plan.sub_topologies[0].stores[0].retention, 6min);
}

TEST(topology, default_commit_interval_follows_the_delivery_guarantee) {
  topology t;
  t.delivery = delivery_guarantee::exactly_once;
  EXPECT_EQ(t.effective_commit_interval(), 100ms);
  t.delivery = delivery_guarantee::at_least_once;
  EXPECT_EQ(t.effective_commit_interval(), 30s);
  t.commit_interval = 5s;
  EXPECT_EQ(t.effective_commit_interval(), 5s);
}

std::vector<std::string> paths(const std::vector<topology_error>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.path);
  return out;
}

TEST(topology_validation, a_valid_topology_has_no_errors) {
  EXPECT_TRUE(
      validate_topology(counting({make_step(step_kind::filter, "value.a > 1", "f")}), {}).empty());
}

TEST(topology_validation, every_error_names_its_field) {
  topology t = counting({make_step(step_kind::filter, "lowr(value.a) == 1", "f"),
                         make_step(step_kind::map, "value", "f")});
  t.name = "bad name";
  t.sources[0].topics.push_back("in");
  t.aggregation->window.size = 0ms;
  t.aggregation->aggregations.push_back({"n", aggregate_function::sum, "", ""});
  t.sinks.at(0).topic = "in";
  auto errors = validate_topology(t, {});
  EXPECT_EQ(paths(errors),
            (std::vector<std::string>{"name", "sources[0].topics[1]", "steps[0].filter",
                                      "steps[1].name", "window.size", "window.aggregate[1].name",
                                      "window.aggregate[1].expression", "sink.topic"}));
  ASSERT_TRUE(errors[2].expression_position);
  EXPECT_EQ(*errors[2].expression_position, 0U);
  EXPECT_NE(errors[2].message.find("lowr"), std::string::npos) << errors[2].message;
}

TEST(topology_validation, window_parameters_must_fit_the_window_kind) {
  topology t = counting({});
  t.aggregation->window = window_spec{window_kind::hopping, 10s, 20s, 0ms, 0ms};
  EXPECT_EQ(paths(validate_topology(t, {})), std::vector<std::string>{"window.advance"});
  t.aggregation->window = window_spec{window_kind::session, 10s, 0ms, 0ms, 0ms};
  EXPECT_EQ(paths(validate_topology(t, {})),
            (std::vector<std::string>{"window.size", "window.gap"}));
  t.aggregation->window = window_spec{window_kind::tumbling, 10s, 0ms, 0ms, 0ms};
  t.aggregation->late = late_policy::side_topic;
  EXPECT_EQ(paths(validate_topology(t, {})), std::vector<std::string>{"window.late_topic"});
}

TEST(topology_validation, user_functions_must_be_registered) {
  step u;
  u.kind = step_kind::user;
  u.name = "u";
  u.function = "enrich";
  topology t = counting({u});
  t.aggregation->aggregations.push_back({"x", aggregate_function::user, "", "fold"});
  EXPECT_EQ(paths(validate_topology(t, {})),
            (std::vector<std::string>{"steps[0].user", "window.aggregate[1].user"}));
  function_registry registry;
  registry.add_step("enrich", [](const record& r) { return std::vector<record>{r}; });
  registry.add_aggregate(
      "fold", user_aggregate{[] { return boost::json::value(); },
                             [](boost::json::value s, const boost::json::value&) { return s; },
                             [](boost::json::value s, const boost::json::value&) { return s; },
                             [](const boost::json::value& s) { return s; }});
  EXPECT_TRUE(validate_topology(t, registry).empty());
}

}  // namespace
}  // namespace sluice::operators
