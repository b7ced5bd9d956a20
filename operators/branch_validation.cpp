// validate_branch_graph: the rules of the pipeline graph as a whole (topology_validation.hpp);
// each chain's own fields are checked by validate_topology like the main chain's.

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "operators/expression/closest_name.hpp"
#include "operators/topology_validation.hpp"

namespace sluice::operators {

namespace {

class graph_validator {
 public:
  explicit graph_validator(const topology& t) : t_(t) {}

  std::vector<topology_error> run() {
    std::set<std::string> earlier{std::string(main_chain)};
    for (std::size_t i = 0; i < t_.branches.size(); ++i) {
      check_branch(i, earlier);
      earlier.insert(t_.branches[i].name);
    }
    check_consumed();
    check_stores();
    return std::move(errors_);
  }

 private:
  void add(std::string path, std::string message) {
    errors_.push_back(topology_error{std::move(path), std::move(message), std::nullopt});
  }

  bool is_step_name(const std::string& name) const {
    auto in = [&](const std::vector<step>& steps) {
      return std::any_of(steps.begin(), steps.end(), [&](const step& s) { return s.name == name; });
    };
    if (in(t_.steps)) return true;
    return std::any_of(t_.branches.begin(), t_.branches.end(),
                       [&](const branch_spec& b) { return in(b.steps); });
  }

  static std::string path_of(std::size_t branch) { return fmt::format("branches[{}]", branch); }

  void check_branch(std::size_t index, const std::set<std::string>& earlier) {
    const auto& b = t_.branches[index];
    const auto path = path_of(index);
    if (b.name.empty()) {
      add(path + ".name", "expected the branch's name (what `from` of later branches names)");
    } else if (!valid_topic_name(b.name)) {
      add(path + ".name", fmt::format("'{}' cannot be part of a topic name: use a-z, A-Z, 0-9, "
                                      "'.', '_', '-'",
                                      b.name));
    } else if (is_step_name(b.name)) {
      add(path + ".name", fmt::format("'{}' is also a step's name; both may name a repartition "
                                      "topic (<app>-<name>-repartition)",
                                      b.name));
    } else if (earlier.contains(b.name)) {
      add(path + ".name", b.name == main_chain
                              ? fmt::format("'{}' names the main chain", b.name)
                              : fmt::format("branch name '{}' is used twice", b.name));
    }
    check_from(index, earlier);
    for (std::size_t i = 0; i < b.steps.size(); ++i) {
      const auto& s = b.steps[i];
      if (s.kind != step_kind::join) continue;
      const auto step_at = step_path(path + ".steps", i, s);
      // A join with a stream may sit in a branch: the graph routes the stream's records to the
      // branch's join node (processor_graph), in whichever sub-topology the branch runs.
      if (!s.joins_stream() && t_.reads_table()) {
        add(step_at, "a pipeline whose source is a table joins once, in its first step");
      }
    }
    // A table's updates are aggregated where they come out, in the main chain (table:), whose
    // table_changes step turns each into a subtraction and an addition; a branch gets the
    // main chain's results, which would be aggregated as events.
    if (t_.reads_table() && b.aggregates()) {
      add(path + (b.table ? ".table" : ".window"),
          "the updates of a source read as a table are aggregated in the main chain (table:), "
          "not in a branch");
    }
  }

  void check_from(std::size_t index, const std::set<std::string>& earlier) {
    const auto& b = t_.branches[index];
    const auto path = path_of(index) + ".from";
    if (b.from.empty()) {
      add(path, "expected the node(s) whose results the branch takes: main, or earlier branches");
    }
    std::set<std::string> seen;
    for (const auto& parent : b.from) {
      if (!seen.insert(parent).second) {
        add(path, fmt::format("'{}' is named twice", parent));
      } else if (parent == b.name) {
        add(path, fmt::format("branch '{}' cannot take its own results (the graph has no cycles)",
                              parent));
      } else if (!earlier.contains(parent)) {
        const bool later =
            std::any_of(t_.branches.begin(), t_.branches.end(),
                        [&](const branch_spec& other) { return other.name == parent; });
        if (later) {
          add(path, fmt::format("branch '{}' is declared later: a branch takes the results of "
                                "main or of branches declared before it (the graph has no cycles)",
                                parent));
          continue;
        }
        const auto close = expr::closest_name(parent, earlier);
        add(path, fmt::format(
                      "no node '{}'{}: from names main or an earlier branch", parent,
                      close.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", close)));
      }
    }
  }

  // Every chain's results go somewhere: to its sinks, or to a branch that takes them.
  void check_consumed() {
    if (t_.branches.empty()) return;  // the main chain's sinks are checked with them
    auto taken = [&](const std::string& name) {
      return std::any_of(t_.branches.begin(), t_.branches.end(), [&](const branch_spec& b) {
        return std::find(b.from.begin(), b.from.end(), name) != b.from.end();
      });
    };
    if (t_.sinks.empty() && !taken(std::string(main_chain))) {
      add("branches",
          "the main chain's results go nowhere: give the pipeline a sink, or a branch "
          "from: main");
    }
    for (std::size_t i = 0; i < t_.branches.size(); ++i) {
      const auto& b = t_.branches[i];
      if (b.sinks.empty() && !taken(b.name)) {
        add(path_of(i) + ".sink",
            fmt::format("branch '{}' has no sinks and no branch takes its results", b.name));
      }
    }
  }

  // Every store has one owner in the whole graph: its changelog topic is named after it.
  void check_stores() {
    std::map<std::string, std::string> owners;  // store -> path of what declares it
    auto claim = [&](const std::string& store, const std::string& path) {
      auto [found, inserted] = owners.emplace(store, path);
      if (!inserted && found->second != path) {  // twice in one step: reported with the step
        add(path, fmt::format("store '{}' is also {}'s: each window, table and branch needs its "
                              "own store name (give it name: ...)",
                              store, found->second));
      }
    };
    auto claim_chain = [&](const std::string& prefix, const std::vector<step>& steps,
                           const std::optional<windowed_aggregation_spec>& window,
                           const std::optional<table_aggregation_spec>& table) {
      for (std::size_t i = 0; i < steps.size(); ++i) {
        const auto& s = steps[i];
        const auto at = step_path(prefix + "steps", i, s);
        for (const auto& store : s.stores) claim(step_store_name(s, store.name), at);
        if (s.joins_stream()) {
          const auto names = stream_join_store_names(s);
          for (const auto* name : {&names.left, &names.right, &names.pending, &names.time}) {
            if (!name->empty()) claim(*name, at);
          }
        }
      }
      if (window) {
        claim(window->store_name(), prefix + "window");
        claim(window->meta_store_name(), prefix + "window");
      }
      if (table) {
        claim(table->store_name(), prefix + "table");
        if (table->emit_every.count() > 0) claim(table->pending_store_name(), prefix + "table");
      }
    };
    for (const auto& table : t_.tables) claim(table.store_name(), "tables");
    claim_chain("", t_.steps, t_.aggregation, t_.table);
    for (std::size_t i = 0; i < t_.branches.size(); ++i) {
      const auto& b = t_.branches[i];
      claim_chain(path_of(i) + ".", b.steps, b.aggregation, b.table);
    }
  }

  const topology& t_;
  std::vector<topology_error> errors_;
};

}  // namespace

std::vector<topology_error> validate_branch_graph(const topology& t) {
  return graph_validator(t).run();
}

}  // namespace sluice::operators
