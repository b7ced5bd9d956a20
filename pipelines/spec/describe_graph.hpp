#pragma once

// The pipeline as a graph for people and tools: `sluice describe --format dot|mermaid|json`.
// Nodes are topics (input, table, output, repartition, changelog, late), steps, the aggregation
// (window or table) and the stores; edges follow the records, from each sub-topology's sources
// through its steps and aggregation to its sink, from a joined table's topic through its store
// to the join step, and from each store to its changelog topic. Built from the
// plan (plan_topology), so it shows what the runtime runs, internal topics included.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operators/topology.hpp"

namespace sluice::pipelines {

enum class describe_format { text, dot, mermaid, json };
std::optional<describe_format> parse_describe_format(std::string_view name);

struct graph_node {
  std::string id;         // unique, [a-z0-9_]: "topic_3", "s0_step_1", ...
  std::string kind;       // topic | step | window | table | store
  std::string role;       // topics: input | table | output | repartition | changelog | late
  std::string label;      // what a person reads: the topic or node name and what it does
  int sub_topology = -1;  // -1 for topics, which sub-topologies share
  bool operator==(const graph_node&) const = default;
};

struct graph_edge {
  std::string from;
  std::string to;
  bool operator==(const graph_edge&) const = default;
};

struct topology_graph {
  std::vector<graph_node> nodes;
  std::vector<graph_edge> edges;
};

topology_graph graph_of(const operators::topology& t);

std::string to_dot(const operators::topology& t);
std::string to_mermaid(const operators::topology& t);
// {"name", "delivery", "commit_interval_ms", "sub_topologies": [...], "topics": {...},
//  "graph": {"nodes": [...], "edges": [...]}}
std::string to_json(const operators::topology& t);

// The text of describe_topology() or one of the formats above.
std::string describe_as(const operators::topology& t, describe_format format);

}  // namespace sluice::pipelines
