#include "pipelines/spec/describe_graph.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>

#include "pipelines/spec/pipeline_builder.hpp"

namespace sluice::pipelines {
namespace {

using namespace std::chrono_literals;
namespace ops = sluice::operators;
namespace json = boost::json;

// Filter, re-key, count per user in a table: two sub-topologies joined by a repartition topic.
ops::topology repartitioned_table() {
  return pipeline_builder("app")
      .source({"clicks"})
      .filter("value.ok")
      .select_key("value.user", "by-user")
      .table("per-user")
      .aggregate("n", ops::aggregate_function::count)
      .to("click-counts")
      .build();
}

const graph_node& node(const topology_graph& g, std::string_view label) {
  auto found = std::find_if(g.nodes.begin(), g.nodes.end(),
                            [&](const graph_node& n) { return n.label == label; });
  if (found == g.nodes.end()) throw std::runtime_error("no node " + std::string(label));
  return *found;
}

bool has_edge(const topology_graph& g, std::string_view from, std::string_view to) {
  const auto& a = node(g, from).id;
  const auto& b = node(g, to).id;
  return std::find(g.edges.begin(), g.edges.end(), graph_edge{a, b}) != g.edges.end();
}

TEST(describe_graph, follows_the_records_through_both_sub_topologies) {
  const auto g = graph_of(repartitioned_table());
  EXPECT_EQ(node(g, "clicks").role, "input");
  EXPECT_EQ(node(g, "app-by-user-repartition").role, "repartition");
  EXPECT_EQ(node(g, "app-per-user-store-changelog").role, "changelog");
  EXPECT_EQ(node(g, "click-counts").role, "output");
  EXPECT_EQ(node(g, "per-user: table").sub_topology, 1);
  EXPECT_TRUE(has_edge(g, "clicks", "filter-0: filter"));
  EXPECT_TRUE(has_edge(g, "filter-0: filter", "by-user: select_key"));
  EXPECT_TRUE(has_edge(g, "by-user: select_key", "app-by-user-repartition"));
  EXPECT_TRUE(has_edge(g, "app-by-user-repartition", "per-user: table"));
  EXPECT_TRUE(has_edge(g, "per-user: table", "per-user-store (key_value)"));
  EXPECT_TRUE(has_edge(g, "per-user-store (key_value)", "app-per-user-store-changelog"));
  EXPECT_TRUE(has_edge(g, "per-user: table", "click-counts"));
  EXPECT_EQ(g.edges.size(), 7U);
  // One node per topic, although one sub-topology writes the repartition topic and one reads it.
  EXPECT_EQ(std::count_if(g.nodes.begin(), g.nodes.end(),
                          [](const graph_node& n) { return n.kind == "topic"; }),
            4);
}

TEST(describe_graph, a_window_with_a_late_topic) {
  const auto t = pipeline_builder("w")
                     .source({"in"})
                     .window(tumbling(1min).late_to("late"))
                     .aggregate("n", ops::aggregate_function::count)
                     .filter("value.n > 1")
                     .to("out")
                     .build();
  const auto g = graph_of(t);
  EXPECT_EQ(node(g, "late").role, "late");
  EXPECT_TRUE(has_edge(g, "window: tumbling window", "late"));
  EXPECT_TRUE(has_edge(g, "window: tumbling window", "after-filter-0: filter"));
  EXPECT_TRUE(has_edge(g, "after-filter-0: filter", "out"));
  EXPECT_TRUE(has_edge(g, "window: tumbling window", "window-meta (key_value)"));
}

TEST(describe_graph, a_joined_table_fills_its_store_which_the_join_reads) {
  const auto t = pipeline_builder("e")
                     .source({"orders"})
                     .table_source("customers", "customer-topic")
                     .join("customers", ops::join_kind::left)
                     .to("out")
                     .build();
  const auto g = graph_of(t);
  EXPECT_EQ(node(g, "customer-topic").role, "table");
  EXPECT_TRUE(has_edge(g, "customer-topic", "customers-table (key_value)"));
  EXPECT_TRUE(has_edge(g, "customers-table (key_value)", "join-0: join"));
  EXPECT_TRUE(has_edge(g, "customers-table (key_value)", "e-customers-table-changelog"));
  EXPECT_TRUE(has_edge(g, "orders", "join-0: join"));
  EXPECT_TRUE(has_edge(g, "join-0: join", "out"));
  EXPECT_EQ(g.edges.size(), 5U);
}

TEST(describe_graph, a_table_restored_from_its_topic_draws_no_changelog) {
  const auto t = pipeline_builder("e")
                     .source({"orders"})
                     .table_source("customers", "customer-topic", ops::data_format::string,
                                   ops::data_format::json, ops::table_restore::source)
                     .join("customers", ops::join_kind::left)
                     .to("out")
                     .build();
  const auto g = graph_of(t);
  EXPECT_TRUE(has_edge(g, "customer-topic", "customers-table (key_value)"));
  EXPECT_THROW(node(g, "e-customers-table-changelog"), std::runtime_error) << "no changelog node";
  EXPECT_EQ(g.edges.size(), 4U);
}

TEST(describe_graph, a_joined_stream_feeds_the_join_which_keeps_its_stores) {
  using namespace std::chrono_literals;
  const auto t = pipeline_builder("e")
                     .source({"orders"})
                     .stream_source("payments", "payment-topic")
                     .join_stream("payments", 5min, ops::join_kind::left)
                     .to("out")
                     .build();
  const auto g = graph_of(t);
  EXPECT_EQ(node(g, "payment-topic").role, "joined stream");
  EXPECT_TRUE(has_edge(g, "orders", "join-0: join"));
  EXPECT_TRUE(has_edge(g, "payment-topic", "join-0: join"));
  for (const auto* store : {"join-0-left (window)", "join-0-right (window)",
                            "join-0-pending (key_value)", "join-0-time (key_value)"}) {
    EXPECT_TRUE(has_edge(g, "join-0: join", store)) << store;
  }
  EXPECT_TRUE(has_edge(g, "join-0-pending (key_value)", "e-join-0-pending-changelog"));
  EXPECT_TRUE(has_edge(g, "join-0: join", "out"));
  EXPECT_EQ(g.edges.size(), 11U);
}

TEST(describe_graph, both_tables_of_a_table_table_join_feed_the_join_which_keeps_a_store_per_side) {
  const auto t = pipeline_builder("e")
                     .source_table("accounts")
                     .table_source("owners", "owner-topic")
                     .join("owners", ops::join_kind::outer, "owner")
                     .to("out")
                     .build();
  const auto g = graph_of(t);
  EXPECT_EQ(node(g, "owner-topic").role, "table");
  EXPECT_TRUE(has_edge(g, "accounts", "join-0: join"));
  EXPECT_TRUE(has_edge(g, "owner-topic", "join-0: join"));
  for (const auto* store : {"join-0-left", "join-0-right"}) {
    const auto label = std::string(store) + " (key_value)";
    EXPECT_TRUE(has_edge(g, "join-0: join", label)) << store;
    EXPECT_TRUE(has_edge(g, label, "e-" + std::string(store) + "-changelog")) << store;
  }
  EXPECT_TRUE(has_edge(g, "join-0: join", "out"));
  EXPECT_EQ(g.edges.size(), 7U);
}

TEST(describe_graph, dot_groups_each_sub_topology) {
  const auto dot = to_dot(repartitioned_table());
  EXPECT_EQ(dot.rfind("digraph \"app\" {", 0), 0U) << dot;
  EXPECT_NE(dot.find("subgraph cluster_0 {"), std::string::npos) << dot;
  EXPECT_NE(dot.find("subgraph cluster_1 {"), std::string::npos) << dot;
  EXPECT_NE(
      dot.find("[label=\"app-by-user-repartition\\n(repartition)\", shape=box, style=rounded]"),
      std::string::npos)
      << dot;
  EXPECT_NE(dot.find("shape=cylinder"), std::string::npos) << dot;
  EXPECT_EQ(std::count(dot.begin(), dot.end(), '>'), 7) << dot;  // one "->" per edge
}

TEST(describe_graph, mermaid_is_a_flowchart_with_quoted_labels) {
  auto t = pipeline_builder("m").source({"in"}).filter(R"(value.s == "x")").to("out").build();
  const auto text = to_mermaid(t);
  EXPECT_EQ(text.rfind("flowchart LR\n", 0), 0U) << text;
  EXPECT_NE(text.find("subgraph sub0[\"sub-topology 0\"]"), std::string::npos) << text;
  EXPECT_NE(text.find("topic_0([\"in (input)\"])"), std::string::npos) << text;
  EXPECT_NE(text.find("s0_step_0 --> topic_1"), std::string::npos) << text;
}

TEST(describe_graph, json_for_tools) {
  const auto parsed = json::parse(to_json(repartitioned_table())).as_object();
  EXPECT_EQ(parsed.at("name"), "app");
  EXPECT_EQ(parsed.at("delivery"), "at_least_once");
  EXPECT_EQ(parsed.at("commit_interval_ms"), 30000);
  const auto& subs = parsed.at("sub_topologies").as_array();
  ASSERT_EQ(subs.size(), 2U);
  EXPECT_EQ(subs[1].at("aggregation").at("kind"), "table");
  EXPECT_EQ(subs[1].at("stores").at(0).at("changelog"), "app-per-user-store-changelog");
  const auto& topics = parsed.at("topics").as_object();
  EXPECT_EQ(topics.at("repartition"), json::array{"app-by-user-repartition"});
  EXPECT_EQ(topics.at("input"), json::array{"clicks"});
  EXPECT_EQ(parsed.at("graph").at("edges").as_array().size(), 7U);
}

TEST(describe_graph, format_names) {
  EXPECT_EQ(parse_describe_format("dot"), describe_format::dot);
  EXPECT_EQ(parse_describe_format("mermaid"), describe_format::mermaid);
  EXPECT_EQ(parse_describe_format("json"), describe_format::json);
  EXPECT_EQ(parse_describe_format("text"), describe_format::text);
  EXPECT_FALSE(parse_describe_format("svg"));
}

}  // namespace
}  // namespace sluice::pipelines
