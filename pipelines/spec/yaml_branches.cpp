// branches: the named chains of a pipeline graph (operators::branch_spec), each fed by the main
// chain's results or by earlier branches'.

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "pipelines/spec/yaml_pipeline_reader.hpp"

namespace sluice::pipelines::yaml_reading {

void pipeline_reader::read_branches(const YAML::Node& node, ops::topology& t) {
  if (!sequence(node, "branches",
                "branches ({name, from, steps, window | table, after, sink | sinks})")) {
    return;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    const auto path = index("branches", i);
    const auto& n = node[i];
    auto& branch = t.branches.emplace_back();
    if (!mapping(n, path, {"name", "from", "steps", "window", "table", "after", "sink", "sinks"})) {
      continue;
    }
    if (auto v = n["name"]) {
      if (auto s = string(v, join(path, "name"), "the branch's name")) branch.name = *s;
    } else {
      missing(path, "name", "the branch's name (what later branches' from names)");
    }
    // from: NODE, or [NODE, ...] (a merge).
    const auto from_path = join(path, "from");
    if (auto v = n["from"]) {
      if (v.IsSequence()) {
        for (std::size_t j = 0; j < v.size(); ++j) {
          if (auto s = string(v[j], index(from_path, j), "a node name")) branch.from.push_back(*s);
        }
      } else if (auto s = string(v, from_path, "main, a branch's name, or a list of them")) {
        branch.from.push_back(*s);
      }
    } else {
      missing(path, "from", "main, or an earlier branch's name (a list of them merges)");
    }
    // The branch names its steps and its window's or table's stores, so that two branches'
    // defaults do not collide.
    const std::string prefix = path + ".";
    const std::string named = branch.name.empty() ? fmt::format("branch{}", i) : branch.name;
    if (auto v = n["steps"]) {
      read_steps(v, prefix + "steps", named + "-", branch.steps);
    }
    if (auto v = n["window"]) {
      read_window(v, prefix + "window", named, branch.aggregation);
    }
    if (auto v = n["table"]) {
      read_table(v, prefix + "table", named, branch.table);
    }
    if (auto v = n["after"]) {
      read_steps(v, prefix + "after", named + "-after-", branch.after);
    }
    read_sinks(n, prefix, named + "-sink", branch.sinks, false);
  }
}

}  // namespace sluice::pipelines::yaml_reading
