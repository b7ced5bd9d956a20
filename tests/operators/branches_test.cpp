// Branches (the pipeline as a graph): where the planner runs each branch, what the processor does
// with a sub-topology's tree of chains, and what validation refuses.
#include <gtest/gtest.h>

#include <algorithm>

#include "operators/sub_topology_processor.hpp"
#include "operators/topology_validation.hpp"
#include "tests/operators/operator_test_support.hpp"
#include "tests/operators/sub_topology_harness.hpp"

namespace sluice::operators {
namespace {

using testing::make_step;
using testing::sub_topology_harness;
using namespace std::chrono_literals;

sink_spec sink_to(std::string topic) {
  return sink_spec{std::move(topic), data_format::string, data_format::json};
}

table_aggregation_spec counting_table(std::string name) {
  table_aggregation_spec table;
  table.name = std::move(name);
  table.aggregations = {aggregation_spec{"n", aggregate_function::count, "", ""}};
  return table;
}

windowed_aggregation_spec summing_window(std::string name) {
  windowed_aggregation_spec window;
  window.name = std::move(name);
  window.window.size = 1min;
  window.aggregations = {aggregation_spec{"total", aggregate_function::sum, "value.amount", ""}};
  return window;
}

// orders (keyed by customer) -> main: a filter; per-customer: a count per key; per-region: a
// sum per region after select_key.
topology orders() {
  topology t;
  t.name = "app";
  t.sources = {source_spec{{"orders"}, data_format::string, data_format::json}};
  t.steps = {make_step(step_kind::filter, "value.amount > 0", "paid")};
  branch_spec per_customer{"per-customer",
                           {"main"},
                           {},
                           {},
                           counting_table("per-customer"),
                           {},
                           {sink_to("customer-counts")}};
  branch_spec per_region{"per-region",
                         {"main"},
                         {make_step(step_kind::select_key, "value.region", "by-region")},
                         summing_window("per-region"),
                         {},
                         {},
                         {sink_to("region-totals")}};
  t.branches = {per_customer, per_region};
  return t;
}

std::vector<std::string> store_names(const sub_topology& sub) {
  std::vector<std::string> names;
  for (const auto& store : sub.stores) names.push_back(store.name);
  return names;
}

TEST(branch_planner, a_branch_on_the_same_key_runs_after_its_parent_in_its_sub_topology) {
  auto t = orders();
  t.branches.pop_back();
  ASSERT_TRUE(validate_topology(t, {}).empty());
  const auto plan = plan_topology(t);
  ASSERT_EQ(plan.sub_topologies.size(), 1U);
  const auto& sub = plan.sub_topologies[0];
  EXPECT_TRUE(sub.sinks.empty());
  ASSERT_EQ(sub.branches.size(), 1U);
  EXPECT_EQ(sub.branches[0], t.branches[0]);
  EXPECT_EQ(store_names(sub), std::vector<std::string>{"per-customer-store"});
  EXPECT_EQ(plan.changelog_topics, std::vector<std::string>{"app-per-customer-store-changelog"});
  EXPECT_TRUE(plan.repartition_topics.empty());
}

TEST(branch_planner, a_key_change_before_a_branchs_aggregation_gives_it_a_sub_topology) {
  auto t = orders();
  // A child of per-region: it runs where per-region's results come out.
  t.branches.push_back(branch_spec{"big-regions",
                                   {"per-region"},
                                   {make_step(step_kind::filter, "value.total > 100", "big")},
                                   {},
                                   {},
                                   {},
                                   {sink_to("big-regions")}});
  ASSERT_TRUE(validate_topology(t, {}).empty());
  const auto plan = plan_topology(t);
  EXPECT_EQ(plan.repartition_topics, std::vector<std::string>{"app-per-region-repartition"});
  ASSERT_EQ(plan.sub_topologies.size(), 2U);
  const auto& first = plan.sub_topologies[0];
  ASSERT_EQ(first.branches.size(), 2U);
  EXPECT_EQ(first.branches[1].name, "per-region");
  EXPECT_EQ(first.branches[1].steps, t.branches[1].steps);  // the select_key runs before the topic
  EXPECT_FALSE(first.branches[1].aggregates());
  ASSERT_EQ(first.branches[1].sinks.size(), 1U);
  EXPECT_EQ(first.branches[1].sinks[0].topic, "app-per-region-repartition");
  EXPECT_EQ(store_names(first), std::vector<std::string>{"per-customer-store"});

  const auto& second = plan.sub_topologies[1];
  EXPECT_TRUE(second.reads_internal);
  EXPECT_EQ(second.branch, "per-region");
  EXPECT_EQ(second.sources.at(0).topics, std::vector<std::string>{"app-per-region-repartition"});
  EXPECT_TRUE(second.steps.empty());
  EXPECT_EQ(second.aggregation, t.branches[1].aggregation);
  EXPECT_EQ(second.sinks, t.branches[1].sinks);
  EXPECT_EQ(store_names(second), (std::vector<std::string>{"per-region-store", "per-region-meta"}));
  ASSERT_EQ(second.branches.size(), 1U);
  EXPECT_EQ(second.branches[0], t.branches[2]);
}

TEST(branch_planner, a_key_change_in_the_parent_cuts_the_branch_at_its_start) {
  auto t = orders();
  t.branches.pop_back();
  t.steps.push_back(make_step(step_kind::select_key, "value.region", "by-region"));
  const auto plan = plan_topology(t);
  EXPECT_EQ(plan.repartition_topics, std::vector<std::string>{"app-per-customer-repartition"});
  ASSERT_EQ(plan.sub_topologies.size(), 2U);
  ASSERT_EQ(plan.sub_topologies[0].branches.size(), 1U);
  EXPECT_TRUE(plan.sub_topologies[0].branches[0].steps.empty());
  EXPECT_TRUE(plan.sub_topologies[0].stores.empty());
  EXPECT_EQ(plan.sub_topologies[1].table, t.branches[0].table);
}

TEST(branch_planner, a_key_change_after_the_parents_aggregation_counts_too) {
  auto t = orders();
  t.branches.pop_back();
  t.table = counting_table("all");
  t.after = {make_step(step_kind::select_key, "value.n", "by-count")};
  t.sinks = {sink_to("all-counts")};
  const auto plan = plan_topology(t);
  EXPECT_EQ(plan.repartition_topics, std::vector<std::string>{"app-per-customer-repartition"});
  ASSERT_EQ(plan.sub_topologies.size(), 2U);
  EXPECT_EQ(store_names(plan.sub_topologies[0]), std::vector<std::string>{"all-store"});
}

TEST(branch_planner, a_merge_of_parents_in_two_sub_topologies_reads_one_topic_both_write) {
  auto t = orders();
  t.branches.push_back(branch_spec{"merged",
                                   {"per-customer", "per-region"},
                                   {make_step(step_kind::map, "value", "same")},
                                   {},
                                   counting_table("merged"),
                                   {},
                                   {sink_to("merged-counts")}});
  ASSERT_TRUE(validate_topology(t, {}).empty());
  const auto plan = plan_topology(t);
  EXPECT_EQ(plan.repartition_topics,
            (std::vector<std::string>{"app-per-region-repartition", "app-merged-repartition"}));
  ASSERT_EQ(plan.sub_topologies.size(), 3U);
  for (const std::size_t parent : {0U, 1U}) {
    const auto& sub = plan.sub_topologies[parent];
    ASSERT_FALSE(sub.branches.empty());
    const auto& part = sub.branches.back();
    EXPECT_EQ(part.name, "merged");
    EXPECT_EQ(part.from, std::vector<std::string>{parent == 0 ? "per-customer" : "per-region"});
    EXPECT_EQ(part.steps, t.branches[2].steps);
    EXPECT_EQ(part.sinks.at(0).topic, "app-merged-repartition");
  }
  EXPECT_EQ(plan.sub_topologies[2].branch, "merged");
  EXPECT_EQ(store_names(plan.sub_topologies[2]), std::vector<std::string>{"merged-store"});
}

// "key value" of each output, topic first.
std::vector<std::string> feed(sub_topology_harness& h, std::string key, std::string value,
                              std::int64_t timestamp) {
  return h.feed("orders", std::move(key), std::move(value), timestamp);
}

TEST(branch_processor, each_branch_gets_its_parents_results_after_their_sinks_in_order) {
  auto t = orders();
  t.branches.pop_back();
  t.sinks = {sink_to("paid")};
  t.branches.push_back(branch_spec{"big",
                                   {"main"},
                                   {make_step(step_kind::filter, "value.amount >= 100", "big-f")},
                                   {},
                                   {},
                                   {},
                                   {}});
  t.branches.push_back(
      branch_spec{"eu",
                  {"main"},
                  {make_step(step_kind::filter, R"(value.region == "eu")", "eu-f")},
                  {},
                  {},
                  {},
                  {}});
  // A merge: a record both big and in eu reaches it twice, once through each parent.
  t.branches.push_back(branch_spec{"watch",
                                   {"big", "eu"},
                                   {make_step(step_kind::map, "value.amount", "amount")},
                                   {},
                                   {},
                                   {},
                                   {sink_to("watch")}});
  ASSERT_TRUE(validate_topology(t, {}).empty());
  const auto plan = plan_topology(t);
  ASSERT_EQ(plan.sub_topologies.size(), 1U);
  sub_topology_harness h(plan.sub_topologies[0]);
  EXPECT_EQ(feed(h, "c1", R"({"amount":5,"region":"us"})", 1),
            (std::vector<std::string>{R"(c1 {"amount":5,"region":"us"} @1)", R"(c1 {"n":1} @1)"}));
  EXPECT_EQ(feed(h, "c1", R"({"amount":500,"region":"eu"})", 2),
            (std::vector<std::string>{R"(c1 {"amount":500,"region":"eu"} @2)", R"(c1 {"n":2} @2)",
                                      "c1 500 @2", "c1 500 @2"}));
  EXPECT_EQ(feed(h, "c2", R"({"amount":7,"region":"eu"})", 3),
            (std::vector<std::string>{R"(c2 {"amount":7,"region":"eu"} @3)", R"(c2 {"n":1} @3)",
                                      "c2 7 @3"}));
  // Filtered out by the main chain: no branch sees it.
  EXPECT_TRUE(feed(h, "c3", R"({"amount":0,"region":"eu"})", 4).empty());
}

TEST(branch_processor, a_branchs_own_sub_topology_aggregates_what_its_part_before_wrote) {
  const auto plan = plan_topology(orders());
  ASSERT_EQ(plan.sub_topologies.size(), 2U);
  sub_topology_harness first(plan.sub_topologies[0]);
  EXPECT_EQ(feed(first, "c1", R"({"amount":5,"region":"us"})", 1000),
            (std::vector<std::string>{R"(c1 {"n":1} @1000)",
                                      R"("us" {"amount":5,"region":"us"} @1000)"}));
  sub_topology_harness second(plan.sub_topologies[1]);
  auto totals = [&](std::string key, std::string value, std::int64_t timestamp) {
    return second.feed("app-per-region-repartition", std::move(key), std::move(value), timestamp);
  };
  EXPECT_EQ(
      totals(R"("us")", R"({"amount":5,"region":"us"})", 1000),
      std::vector<std::string>{R"(us {"window_start":0,"window_end":60000,"total":5} @1000)"});
  EXPECT_EQ(
      totals(R"("us")", R"({"amount":2,"region":"us"})", 2000),
      std::vector<std::string>{R"(us {"window_start":0,"window_end":60000,"total":7} @2000)"});
  // The state survives a restart, as any aggregation's.
  second.restart();
  EXPECT_EQ(
      totals(R"("us")", R"({"amount":1,"region":"us"})", 3000),
      std::vector<std::string>{R"(us {"window_start":0,"window_end":60000,"total":8} @3000)"});
}

TEST(branch_processor, a_branch_joins_a_table_in_the_sub_topology_its_key_change_gives_it) {
  auto t = orders();
  t.branches.pop_back();
  t.tables = {table_source_spec{"regions", "region-info", data_format::string, data_format::json}};
  auto join = make_step(step_kind::join, "", "with-region");
  join.table = "regions";
  join.into = "info";
  t.branches.push_back(
      branch_spec{"enriched",
                  {"main"},
                  {make_step(step_kind::select_key, "value.region", "rekey"), join},
                  {},
                  {},
                  {},
                  {sink_to("enriched")}});
  ASSERT_TRUE(validate_topology(t, {}).empty())
      << ::testing::PrintToString(validate_topology(t, {}));
  const auto plan = plan_topology(t);
  ASSERT_EQ(plan.sub_topologies.size(), 2U);
  const auto& second = plan.sub_topologies[1];
  EXPECT_EQ(second.branch, "enriched");
  ASSERT_EQ(second.sources.size(), 2U);  // the repartition topic and the table's
  EXPECT_EQ(second.sources[1].topics, std::vector<std::string>{"region-info"});
  EXPECT_EQ(store_names(second), std::vector<std::string>{"regions-table"});
  EXPECT_TRUE(plan.sub_topologies[0].tables.empty());

  sub_topology_harness h(second);
  EXPECT_TRUE(h.feed("region-info", "eu", R"({"name":"Europe"})", 1).empty());
  EXPECT_EQ(
      h.feed("app-enriched-repartition", R"("eu")", R"({"amount":3,"region":"eu"})", 2),
      std::vector<std::string>{R"(eu {"amount":3,"region":"eu","info":{"name":"Europe"}} @2)"});
}

TEST(branch_processor, a_branch_joins_a_stream_whose_records_enter_at_the_branchs_join) {
  auto t = orders();
  t.branches.pop_back();
  t.streams = {stream_source_spec{"payments", "payments"}};
  auto join = make_step(step_kind::join, "", "pay");
  join.stream = "payments";
  join.within = 1min;
  join.into = "payment";
  t.branches.push_back(
      branch_spec{"paid-with", {"main"}, {join}, {}, {}, {}, {sink_to("paid-orders")}});
  ASSERT_TRUE(validate_topology(t, {}).empty())
      << ::testing::PrintToString(validate_topology(t, {}));
  const auto plan = plan_topology(t);
  ASSERT_EQ(plan.sub_topologies.size(), 1U);  // same key: the branch runs after main
  const auto& sub = plan.sub_topologies[0];
  ASSERT_EQ(sub.sources.size(), 2U);
  EXPECT_EQ(sub.sources[1].topics, std::vector<std::string>{"payments"});

  sub_topology_harness h(sub);
  EXPECT_TRUE(h.feed("payments", "c1", R"({"paid":5})", 1000).empty());
  EXPECT_EQ(
      h.feed("orders", "c1", R"({"amount":5,"region":"us"})", 1500),
      (std::vector<std::string>{R"(c1 {"n":1} @1500)",
                                R"(c1 {"amount":5,"region":"us","payment":{"paid":5}} @1500)"}));
  // A later payment joins the buffered order, from the join's other side, and goes to the
  // branch's sink only.
  EXPECT_EQ(
      h.feed("payments", "c1", R"({"paid":7})", 1600),
      std::vector<std::string>{R"(c1 {"amount":5,"region":"us","payment":{"paid":7}} @1600)"});
}

std::vector<std::string> messages(const topology& t) {
  std::vector<std::string> out;
  for (const auto& e : validate_topology(t, {})) out.push_back(e.path + ": " + e.message);
  return out;
}

bool has(const std::vector<std::string>& all, const std::string& message) {
  return std::find(all.begin(), all.end(), message) != all.end();
}

TEST(branch_validation, from_names_main_or_an_earlier_branch) {
  auto t = orders();
  t.branches[0].from = {"per-regoin"};
  t.branches[1].from = {"main", "main"};
  auto later = t.branches[1];
  later.name = "later";
  later.from = {"last"};
  later.sinks = {sink_to("later")};
  later.aggregation->name = "later";
  auto last = later;
  last.name = "last";
  last.from = {"last"};
  last.sinks = {sink_to("last")};
  last.aggregation->name = "last";
  t.branches.push_back(later);
  t.branches.push_back(last);
  const auto got = messages(t);
  EXPECT_TRUE(has(got,
                  "branches[0].from: no node 'per-regoin': from names main or an earlier "
                  "branch"))
      << ::testing::PrintToString(got);
  EXPECT_TRUE(has(got, "branches[1].from: 'main' is named twice"));
  EXPECT_TRUE(has(got,
                  "branches[2].from: branch 'last' is declared later: a branch takes the "
                  "results of main or of branches declared before it (the graph has no "
                  "cycles)"));
  EXPECT_TRUE(has(got,
                  "branches[3].from: branch 'last' cannot take its own results (the graph "
                  "has no cycles)"));
}

TEST(branch_validation, names_results_and_stores_are_checked_across_the_graph) {
  auto t = orders();
  t.branches[1].name = "per-customer";
  t.branches[1].aggregation->name = "per-customer";
  t.branches.push_back(branch_spec{"main", {"main"}, {}, {}, {}, {}, {sink_to("x")}});
  t.branches.push_back(branch_spec{"orphan", {"main"}, {}, {}, {}, {}, {}});
  t.branches.push_back(branch_spec{"by-region", {"main"}, {}, {}, {}, {}, {sink_to("y")}});
  const auto got = messages(t);
  EXPECT_TRUE(has(got, "branches[1].name: branch name 'per-customer' is used twice"))
      << ::testing::PrintToString(got);
  EXPECT_TRUE(has(got, "branches[2].name: 'main' names the main chain"));
  EXPECT_TRUE(has(got,
                  "branches[4].name: 'by-region' is also a step's name; both may name a "
                  "repartition topic (<app>-<name>-repartition)"));
  EXPECT_TRUE(has(got,
                  "branches[3].sink: branch 'orphan' has no sinks and no branch takes its "
                  "results"));
  EXPECT_TRUE(
      has(got,
          "branches[1].window: store 'per-customer-store' is also branches[0].table's: each "
          "window, table and branch needs its own store name (give it name: ...)"));
}

TEST(branch_validation, sinks_stay_unique_across_the_graph) {
  auto t = orders();
  t.branches[1].sinks = {sink_to("customer-counts")};
  EXPECT_TRUE(has(messages(t),
                  "branches[1].sink.topic: topic 'customer-counts' is written by two "
                  "sinks"));
}

TEST(branch_validation, the_main_chain_needs_sinks_or_a_branch_taking_its_results) {
  auto t = orders();
  t.branches[1].from = {"per-customer"};
  EXPECT_TRUE(messages(t).empty()) << ::testing::PrintToString(messages(t));
  t.branches[0].from = {"per-region"};
  t.branches[1].from = {"per-customer"};
  EXPECT_TRUE(has(messages(t),
                  "branches: the main chain's results go nowhere: give the pipeline a sink, "
                  "or a branch from: main"));
}

}  // namespace
}  // namespace sluice::operators
