#pragma once

// validate_topology: every rule a topology must satisfy before it runs, shared by the YAML loader
// and the C++ builder so both reject the same graphs with the same messages. Each error names
// the field by its path in the pipeline file ("steps[2].filter", "window.size",
// "window.aggregate[0].expression"), so the YAML loader can point at the line and column.

#include <optional>
#include <string>
#include <vector>

#include "operators/function_registry.hpp"
#include "operators/topology.hpp"

namespace sluice::operators {

struct topology_error {
  std::string path;
  std::string message;
  // For an expression that does not compile: the byte offset in the expression text.
  std::optional<std::size_t> expression_position;
  bool operator==(const topology_error&) const = default;
};

std::vector<topology_error> validate_topology(const topology& t, const function_registry& registry);

// The rules of the graph of branches (branch_validation.cpp): names, `from` (earlier nodes
// only, so no cycles), every chain's results going somewhere, one owner per store. Part of
// validate_topology.
std::vector<topology_error> validate_branch_graph(const topology& t);

// The rules of a pipeline whose source is read as a table (table_validation.cpp): joined with a
// table by the first step, or regrouped by a table aggregation whose aggregations have an inverse,
// or both. Part of validate_topology.
std::vector<topology_error> validate_table_source(const topology& t,
                                                  const function_registry& registry);

// Kafka's rule for topic names: 1-249 characters of [a-zA-Z0-9._-], not "." or "..".
bool valid_topic_name(std::string_view name);

// What is wrong with a store declaration's kind, retention and window size (not its name): each
// problem as the field it concerns ("retention", "window") and a message.
struct store_spec_problem {
  std::string field;
  std::string message;
};
std::vector<store_spec_problem> store_spec_problems(const store_spec& spec);

// Path of a step's expression field as the pipeline file spells it, e.g. "steps[2].filter".
std::string step_path(std::string_view list, std::size_t index, const step& s);

}  // namespace sluice::operators
