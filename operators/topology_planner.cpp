// plan_topology: the pipeline graph (topology.hpp) cut into sub-topologies, each with its own
// sources, sinks, internal topics and stores, so the runtime reads only the plan.

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "operators/topology.hpp"

namespace sluice::operators {

namespace {

std::string changelog_of(const topology& t, const std::string& store) {
  return t.name + "-" + store + "-changelog";
}

// The stores of a chain's windowed or table aggregation.
std::vector<store_plan> aggregation_stores(const topology& t,
                                           const std::optional<windowed_aggregation_spec>& window,
                                           const std::optional<table_aggregation_spec>& table) {
  std::vector<store_plan> stores;
  if (window) {
    const auto& agg = *window;
    const bool session = agg.window.kind == window_kind::session;
    stores.push_back(store_plan{agg.store_name(),
                                session ? store_kind::session : store_kind::window,
                                changelog_of(t, agg.store_name()), store_retention(agg)});
    // Stream time and the last emitted window boundary must survive a restart, or on_close
    // would emit a window twice or never.
    stores.push_back(store_plan{agg.meta_store_name(), store_kind::key_value,
                                changelog_of(t, agg.meta_store_name()), duration{0}});
  }
  if (table) {
    stores.push_back(store_plan{table->store_name(), store_kind::key_value,
                                changelog_of(t, table->store_name()), duration{0}});
    if (table->emit_every.count() > 0) {
      stores.push_back(store_plan{table->pending_store_name(), store_kind::key_value,
                                  changelog_of(t, table->pending_store_name()), duration{0}});
    }
  }
  return stores;
}

// A table or joined stream by the name join steps use.
template <class Spec>
const Spec* find_named(const std::vector<Spec>& specs, const std::string& name) {
  for (const auto& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

// A join step reads its table in the sub-topology it runs in: the table's topic becomes one of
// that sub-topology's sources and its store one of its stores, changelogged or restored from
// that topic.
void add_table(const topology& t, const step& join, sub_topology& sub) {
  const auto* table = find_named(t.tables, join.table);
  if (table == nullptr) return;  // validate_topology reports it
  sub.sources.push_back(
      source_spec{{table->topic}, table->key_format, table->value_format, table->cluster});
  sub.tables.push_back(*table);
  store_plan store{table->store_name(), store_kind::key_value, {}, duration{0}, {}};
  if (table->restore_from == table_restore::source) {
    store.source_topic = table->topic;
  } else {
    store.changelog_topic = changelog_of(t, table->store_name());
  }
  sub.stores.push_back(std::move(store));
}

// A stream join step reads the other stream in the sub-topology it runs in, like a table, and
// keeps its stores there.
void add_stream(const topology& t, const step& join, sub_topology& sub) {
  const auto* stream = find_named(t.streams, join.stream);
  if (stream == nullptr) return;  // validate_topology reports it
  sub.sources.push_back(source_spec{{stream->topic}, stream->key_format, stream->value_format});
  sub.streams.push_back(*stream);
  const auto names = stream_join_store_names(join);
  const auto retention = stream_join_retention(join);
  sub.stores.push_back(
      store_plan{names.left, store_kind::window, changelog_of(t, names.left), retention});
  sub.stores.push_back(
      store_plan{names.right, store_kind::window, changelog_of(t, names.right), retention});
  for (const auto* kv : {&names.pending, &names.time}) {
    if (!kv->empty())
      sub.stores.push_back(
          store_plan{*kv, store_kind::key_value, changelog_of(t, *kv), duration{0}});
  }
}

// A table-table join step reads the right table in the sub-topology it runs in, like a stream-table
// join, but into stores of its own, one per side.
void add_joined_table(const topology& t, const step& join, sub_topology& sub) {
  const auto* table = find_named(t.tables, join.table);
  if (table == nullptr) return;  // validate_topology reports it
  sub.sources.push_back(
      source_spec{{table->topic}, table->key_format, table->value_format, table->cluster});
  sub.joined_tables.push_back(*table);
  const auto names = table_join_store_names(join);
  for (const auto* store : {&names.left, &names.right}) {
    sub.stores.push_back(
        store_plan{*store, store_kind::key_value, changelog_of(t, *store), duration{0}});
  }
}

// A processor step's declared stores, then the one that keeps its stream time.
std::vector<store_plan> processor_stores(const topology& t, const step& s) {
  std::vector<store_plan> stores;
  for (const auto& spec : s.stores) {
    const auto name = step_store_name(s, spec.name);
    stores.push_back(store_plan{name, spec.kind, changelog_of(t, name),
                                spec.kind == store_kind::key_value ? duration{0} : spec.retention});
  }
  if (const auto time = step_time_store_name(s); !time.empty()) {
    stores.push_back(store_plan{time, store_kind::key_value, changelog_of(t, time), duration{0}});
  }
  return stores;
}

// Where the key matters in a chain: each join step, each processor with stores, a table's
// changes (keyed by the table's key), and the
// aggregation (at steps.size(), after the last step).
std::vector<std::size_t> key_dependent_points(const branch_spec& chain) {
  std::vector<std::size_t> points;
  for (std::size_t i = 0; i < chain.steps.size(); ++i) {
    const auto& s = chain.steps[i];
    if (s.kind == step_kind::join || s.kind == step_kind::table_changes ||
        (s.kind == step_kind::processor && !s.stores.empty())) {
      points.push_back(i);
    }
  }
  if (chain.aggregates()) points.push_back(chain.steps.size());
  return points;
}

bool any_changes_key(const std::vector<step>& steps, std::size_t begin, std::size_t end) {
  return std::any_of(steps.begin() + static_cast<std::ptrdiff_t>(begin),
                     steps.begin() + static_cast<std::ptrdiff_t>(end),
                     [](const step& s) { return changes_key(s); });
}

// The main chain as a branch, so that both are planned alike; aggregating a table, with the step
// that turns its updates into subtractions and additions where they come out.
branch_spec main_as_chain(const topology& t) {
  auto steps = t.steps;
  if (t.aggregates_table()) {
    const bool joined = !steps.empty() && t.joins_tables(steps.front());
    steps.insert(steps.begin() + (joined ? 1 : 0), table_changes_step(*t.table));
  }
  return branch_spec{
      std::string(main_chain), {}, std::move(steps), t.aggregation, t.table, t.after, t.sinks};
}

class planner {
 public:
  explicit planner(const topology& t) : t_(t) {}

  topology_plan run() {
    sub_topology first;
    first.sources = t_.sources;
    plan_root(main_as_chain(t_), std::move(first), 0);
    for (const auto& branch : t_.branches) plan_branch(branch);
    for (const auto& sub : plan_.sub_topologies) {
      for (const auto& store : sub.stores) {
        if (store.changelogged()) plan_.changelog_topics.push_back(store.changelog_topic);
      }
    }
    return std::move(plan_);
  }

 private:
  // Where a chain's results come out: the sub-topology of its last part, and whether they may be
  // keyed otherwise than that sub-topology's input is partitioned.
  struct placement {
    std::size_t sub = 0;
    bool key_changed = false;
  };

  // Steps [begin, end) of a chain into `into`, their tables, streams and stores into `sub`.
  void add_steps(const std::vector<step>& steps, std::size_t begin, std::size_t end,
                 sub_topology& sub, std::vector<step>& into) const {
    for (std::size_t i = begin; i < end; ++i) {
      const auto& s = steps[i];
      into.push_back(s);
      if (s.joins_stream()) {
        add_stream(t_, s, sub);
      } else if (t_.joins_tables(s)) {  // only in the main chain (validated)
        add_joined_table(t_, s, sub);
      } else if (s.kind == step_kind::join) {
        add_table(t_, s, sub);
      } else if (s.kind == step_kind::table_changes) {
        const auto store = table_changes_store_name(s);
        sub.stores.push_back(
            store_plan{store, store_kind::key_value, changelog_of(t_, store), duration{0}});
      }
      for (auto& store : processor_stores(t_, s)) sub.stores.push_back(std::move(store));
    }
  }

  // Whether the chain's results are keyed otherwise than its input, from step `begin` on (its
  // last repartition or its start): an aggregation groups by the key it was given, so only the
  // steps after it count then.
  static bool changes_key_from(const branch_spec& chain, std::size_t begin) {
    if (chain.aggregates()) return any_changes_key(chain.after, 0, chain.after.size());
    return any_changes_key(chain.steps, begin, chain.steps.size());
  }

  sink_spec internal_sink(const std::string& topic) const {
    // Repartition topics live with the group, on the home cluster.
    return sink_spec{topic, data_format::json, data_format::json, {}, {}, t_.home_cluster()};
  }

  sub_topology reading(const std::string& topic) const {
    sub_topology sub;
    sub.sources = {source_spec{{topic}, data_format::json, data_format::json, t_.home_cluster()}};
    sub.reads_internal = true;
    return sub;
  }

  // The chain from step `begin` on as the root of `current` and of the sub-topologies after it:
  // a key change before a key-dependent node cuts it there (`<app>-<step>-repartition`).
  void plan_root(const branch_spec& chain, sub_topology current, std::size_t begin) {
    current.branch = chain.name == main_chain ? std::string() : chain.name;
    for (const auto point : key_dependent_points(chain)) {
      if (point < begin) continue;
      std::optional<std::size_t> last_rekey;
      for (std::size_t i = begin; i < point; ++i) {
        if (changes_key(chain.steps[i])) last_rekey = i;
      }
      if (!last_rekey) continue;
      const std::string topic = t_.name + "-" + chain.steps[*last_rekey].name + "-repartition";
      plan_.repartition_topics.push_back(topic);
      add_steps(chain.steps, begin, point, current, current.steps);
      begin = point;
      current.sinks = {internal_sink(topic)};
      current.writes_internal = true;
      push(std::move(current));
      current = reading(topic);
      current.branch = chain.name == main_chain ? std::string() : chain.name;
    }
    add_steps(chain.steps, begin, chain.steps.size(), current, current.steps);
    current.aggregation = chain.aggregation;
    current.table = chain.table;
    current.folds_table_changes = chain.name == main_chain && t_.aggregates_table();
    current.after = chain.after;
    current.sinks = chain.sinks;
    for (auto& store : aggregation_stores(t_, chain.aggregation, chain.table))
      current.stores.push_back(std::move(store));
    placed_[chain.name] = placement{push(std::move(current)), changes_key_from(chain, begin)};
  }

  std::size_t push(sub_topology sub) {
    sub.id = static_cast<int>(plan_.sub_topologies.size());
    plan_.sub_topologies.push_back(std::move(sub));
    return plan_.sub_topologies.size() - 1;
  }

  // Where the branch must leave its parents' sub-topology: at the first key-dependent node that
  // records reach keyed otherwise than partitioned, or, for a merge of parents in different
  // sub-topologies, at its first key-dependent node (or its end), so that no state is kept twice.
  static std::optional<std::size_t> first_cut(const branch_spec& branch, bool key_changed,
                                              bool parents_apart) {
    const auto points = key_dependent_points(branch);
    std::size_t checked = 0;
    for (const auto point : points) {
      key_changed = key_changed || any_changes_key(branch.steps, checked, point);
      checked = point;
      if (key_changed) return point;
    }
    if (parents_apart) return points.empty() ? branch.steps.size() : points.front();
    return std::nullopt;
  }

  void plan_branch(const branch_spec& branch) {
    // The parents' sub-topologies, each with the parents that run there.
    std::map<std::size_t, std::vector<std::string>> parents_by_sub;
    bool key_changed = false;
    for (const auto& parent : branch.from) {
      auto found = placed_.find(parent);
      if (found == placed_.end()) continue;  // validate_topology reports it
      key_changed = key_changed || found->second.key_changed;
      parents_by_sub[found->second.sub].push_back(parent);
    }
    if (parents_by_sub.empty()) return;
    const auto cut = first_cut(branch, key_changed, parents_by_sub.size() > 1);
    if (!cut) {
      // The whole branch runs after its parents, in their sub-topology.
      auto& sub = plan_.sub_topologies[parents_by_sub.begin()->first];
      auto& placed = sub.branches.emplace_back(branch);
      placed.steps.clear();
      add_steps(branch.steps, 0, branch.steps.size(), sub, placed.steps);
      for (auto& store : aggregation_stores(t_, branch.aggregation, branch.table))
        sub.stores.push_back(std::move(store));
      placed_[branch.name] =
          placement{parents_by_sub.begin()->first, key_changed || changes_key_from(branch, 0)};
      return;
    }
    // Its steps before the cut run in each parent's sub-topology and write the repartition topic
    // that the rest of the branch reads, as the root of a sub-topology of its own.
    const std::string topic = t_.name + "-" + branch.name + "-repartition";
    plan_.repartition_topics.push_back(topic);
    for (const auto& [index, parents] : parents_by_sub) {
      auto& sub = plan_.sub_topologies[index];
      branch_spec part;
      part.name = branch.name;
      part.from = parents;
      add_steps(branch.steps, 0, *cut, sub, part.steps);
      part.sinks = {internal_sink(topic)};
      sub.branches.push_back(std::move(part));
    }
    plan_root(branch, reading(topic), *cut);
  }

  const topology& t_;
  topology_plan plan_;
  std::map<std::string, placement> placed_;
};

}  // namespace

topology_plan plan_topology(const topology& t) {
  return planner(t).run();
}

}  // namespace sluice::operators
