#include "operators/topology.hpp"

#include <array>
#include <utility>

namespace sluice::operators {

namespace {

template <class Enum, std::size_t N>
std::optional<Enum> parse_enum(std::string_view name, const std::array<Enum, N>& values) {
  for (auto value : values) {
    if (to_string(value) == name) {
      return value;
    }
  }
  return std::nullopt;
}

constexpr duration exactly_once_commit_interval{100};
constexpr duration default_commit_interval_ms{30'000};

}  // namespace

std::string_view to_string(delivery_guarantee guarantee) {
  switch (guarantee) {
    case delivery_guarantee::at_most_once:
      return "at_most_once";
    case delivery_guarantee::at_least_once:
      return "at_least_once";
    case delivery_guarantee::exactly_once:
      return "exactly_once";
  }
  return "unknown";
}

std::optional<delivery_guarantee> parse_delivery_guarantee(std::string_view name) {
  return parse_enum(name,
                    std::array{delivery_guarantee::at_most_once, delivery_guarantee::at_least_once,
                               delivery_guarantee::exactly_once});
}

std::string_view to_string(step_kind kind) {
  switch (kind) {
    case step_kind::filter:
      return "filter";
    case step_kind::map:
      return "map";
    case step_kind::select_key:
      return "select_key";
    case step_kind::flat_map:
      return "flat_map";
    case step_kind::set_timestamp:
      return "set_timestamp";
    case step_kind::user:
      return "user";
    case step_kind::join:
      return "join";
    case step_kind::processor:
      return "processor";
  }
  return "unknown";
}

std::string step_store_name(const step& s, const std::string& store) {
  return s.name + "-" + store;
}

std::string step_time_store_name(const step& s) {
  if (s.kind != step_kind::processor || s.stores.empty()) return {};
  return step_store_name(s, std::string(reserved_time_store));
}

store_spec window_store_spec(std::string name, duration retention, duration window) {
  store_spec spec(std::move(name));
  spec.kind = store_kind::window;
  spec.retention = retention;
  spec.window = window;
  return spec;
}

store_spec session_store_spec(std::string name, duration retention) {
  store_spec spec(std::move(name));
  spec.kind = store_kind::session;
  spec.retention = retention;
  return spec;
}

std::string_view to_string(join_kind kind) {
  switch (kind) {
    case join_kind::inner:
      return "inner";
    case join_kind::left:
      return "left";
    case join_kind::outer:
      return "outer";
  }
  return "unknown";
}

std::optional<join_kind> parse_join_kind(std::string_view name) {
  return parse_enum(name, std::array{join_kind::inner, join_kind::left, join_kind::outer});
}

std::string_view to_string(table_restore restore) {
  switch (restore) {
    case table_restore::changelog:
      return "changelog";
    case table_restore::source:
      return "source";
  }
  return "unknown";
}

std::optional<table_restore> parse_table_restore(std::string_view name) {
  return parse_enum(name, std::array{table_restore::changelog, table_restore::source});
}

stream_join_stores stream_join_store_names(const step& s) {
  stream_join_stores names{s.name + "-left", s.name + "-right", {}, {}};
  if (s.join != join_kind::inner) {
    names.pending = s.name + "-pending";
    names.time = s.name + "-time";
  }
  return names;
}

// Kafka Streams' JoinWindows: size = before + after, retention = size + grace.
duration stream_join_retention(const step& s) {
  return 2 * s.within + s.grace;
}

table_join_stores table_join_store_names(const step& s) {
  return table_join_stores{s.name + "-left", s.name + "-right"};
}

const table_source_spec* sub_topology::joined_table_of(const step& s) const {
  if (s.kind != step_kind::join || s.table.empty()) return nullptr;
  for (const auto& table : joined_tables) {
    if (table.name == s.table) return &table;
  }
  return nullptr;
}

bool changes_key(const step& s) {
  switch (s.kind) {
    case step_kind::select_key:
      return true;
    case step_kind::flat_map:
      return !s.key_expression.empty();
    case step_kind::user:
    case step_kind::processor:
      return s.changes_key;
    default:
      return false;
  }
}

std::string_view to_string(window_kind kind) {
  switch (kind) {
    case window_kind::tumbling:
      return "tumbling";
    case window_kind::hopping:
      return "hopping";
    case window_kind::session:
      return "session";
  }
  return "unknown";
}

std::string_view to_string(aggregate_function function) {
  switch (function) {
    case aggregate_function::count:
      return "count";
    case aggregate_function::sum:
      return "sum";
    case aggregate_function::min:
      return "min";
    case aggregate_function::max:
      return "max";
    case aggregate_function::avg:
      return "avg";
    case aggregate_function::first:
      return "first";
    case aggregate_function::last:
      return "last";
    case aggregate_function::count_distinct:
      return "count_distinct";
    case aggregate_function::user:
      return "user";
  }
  return "unknown";
}

std::optional<aggregate_function> parse_aggregate_function(std::string_view name) {
  return parse_enum(
      name, std::array{aggregate_function::count, aggregate_function::sum, aggregate_function::min,
                       aggregate_function::max, aggregate_function::avg, aggregate_function::first,
                       aggregate_function::last, aggregate_function::count_distinct,
                       aggregate_function::user});
}

std::string_view to_string(emit_mode mode) {
  return mode == emit_mode::every_update ? "every_update" : "on_close";
}

std::string_view to_string(late_policy policy) {
  return policy == late_policy::drop ? "drop" : "side_topic";
}

std::string_view to_string(store_kind kind) {
  switch (kind) {
    case store_kind::key_value:
      return "key_value";
    case store_kind::window:
      return "window";
    case store_kind::session:
      return "session";
  }
  return "unknown";
}

std::optional<store_kind> parse_store_kind(std::string_view name) {
  return parse_enum(name,
                    std::array{store_kind::key_value, store_kind::window, store_kind::session});
}

duration default_commit_interval(delivery_guarantee guarantee) {
  return guarantee == delivery_guarantee::exactly_once ? exactly_once_commit_interval
                                                       : default_commit_interval_ms;
}

duration topology::effective_commit_interval() const {
  return commit_interval.value_or(default_commit_interval(delivery));
}

const std::string& topology::home_cluster() const {
  static const std::string default_cluster;
  return sources.empty() ? default_cluster : sources.front().cluster;
}

duration store_retention(const windowed_aggregation_spec& aggregation) {
  const auto& w = aggregation.window;
  const duration open = w.kind == window_kind::session ? w.gap : w.size;
  return open + w.grace;
}

namespace {

std::vector<store_plan> aggregation_stores(const topology& t) {
  std::vector<store_plan> stores;
  if (t.aggregation) {
    const auto& agg = *t.aggregation;
    const bool session = agg.window.kind == window_kind::session;
    stores.push_back(
        store_plan{agg.store_name(), session ? store_kind::session : store_kind::window,
                   t.name + "-" + agg.store_name() + "-changelog", store_retention(agg)});
    // Stream time and the last emitted window boundary must survive a restart, or on_close
    // would emit a window twice or never.
    stores.push_back(store_plan{agg.meta_store_name(), store_kind::key_value,
                                t.name + "-" + agg.meta_store_name() + "-changelog", duration{0}});
  }
  if (t.table) {
    stores.push_back(store_plan{t.table->store_name(), store_kind::key_value,
                                t.name + "-" + t.table->store_name() + "-changelog", duration{0}});
    if (t.table->emit_every.count() > 0) {
      stores.push_back(store_plan{t.table->pending_store_name(), store_kind::key_value,
                                  t.name + "-" + t.table->pending_store_name() + "-changelog",
                                  duration{0}});
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
    store.changelog_topic = t.name + "-" + table->store_name() + "-changelog";
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
  const auto changelog = [&](const std::string& store) {
    return t.name + "-" + store + "-changelog";
  };
  const auto retention = stream_join_retention(join);
  sub.stores.push_back(
      store_plan{names.left, store_kind::window, changelog(names.left), retention});
  sub.stores.push_back(
      store_plan{names.right, store_kind::window, changelog(names.right), retention});
  for (const auto* kv : {&names.pending, &names.time}) {
    if (!kv->empty())
      sub.stores.push_back(store_plan{*kv, store_kind::key_value, changelog(*kv), duration{0}});
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
    sub.stores.push_back(store_plan{*store, store_kind::key_value,
                                    t.name + "-" + *store + "-changelog", duration{0}});
  }
}

// A processor step's declared stores, then the one that keeps its stream time.
std::vector<store_plan> processor_stores(const topology& t, const step& s) {
  std::vector<store_plan> stores;
  for (const auto& spec : s.stores) {
    const auto name = step_store_name(s, spec.name);
    stores.push_back(store_plan{name, spec.kind, t.name + "-" + name + "-changelog",
                                spec.kind == store_kind::key_value ? duration{0} : spec.retention});
  }
  if (const auto time = step_time_store_name(s); !time.empty()) {
    stores.push_back(
        store_plan{time, store_kind::key_value, t.name + "-" + time + "-changelog", duration{0}});
  }
  return stores;
}

}  // namespace

topology_plan plan_topology(const topology& t) {
  topology_plan plan;

  // Where the key matters: each join step, each processor with stores, and the aggregation
  // (after the last step). A key change since the current sub-topology began cuts it there.
  std::vector<std::size_t> key_dependent;
  for (std::size_t i = 0; i < t.steps.size(); ++i) {
    const auto& s = t.steps[i];
    if (s.kind == step_kind::join || (s.kind == step_kind::processor && !s.stores.empty())) {
      key_dependent.push_back(i);
    }
  }
  if (t.aggregates()) key_dependent.push_back(t.steps.size());

  sub_topology current;
  current.sources = t.sources;
  std::size_t begin = 0;
  auto add_steps = [&](std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      current.steps.push_back(t.steps[i]);
      if (t.steps[i].joins_stream()) {
        add_stream(t, t.steps[i], current);
      } else if (t.joins_tables(t.steps[i])) {
        add_joined_table(t, t.steps[i], current);
      } else if (t.steps[i].kind == step_kind::join) {
        add_table(t, t.steps[i], current);
      }
      for (auto& store : processor_stores(t, t.steps[i]))
        current.stores.push_back(std::move(store));
    }
    begin = end;
  };
  for (const auto point : key_dependent) {
    std::optional<std::size_t> last_rekey;
    for (std::size_t i = begin; i < point; ++i) {
      if (changes_key(t.steps[i])) last_rekey = i;
    }
    if (!last_rekey) continue;
    const std::string topic = t.name + "-" + t.steps[*last_rekey].name + "-repartition";
    plan.repartition_topics.push_back(topic);
    add_steps(point);
    current.id = static_cast<int>(plan.sub_topologies.size());
    // Repartition topics live with the group, on the home cluster.
    current.sinks = {
        sink_spec{topic, data_format::json, data_format::json, {}, {}, t.home_cluster()}};
    current.writes_internal = true;
    plan.sub_topologies.push_back(std::move(current));
    current = sub_topology{};
    current.sources = {
        source_spec{{topic}, data_format::json, data_format::json, t.home_cluster()}};
    current.reads_internal = true;
  }
  add_steps(t.steps.size());
  current.id = static_cast<int>(plan.sub_topologies.size());
  current.aggregation = t.aggregation;
  current.table = t.table;
  current.after = t.after;
  current.sinks = t.sinks;
  for (auto& store : aggregation_stores(t)) current.stores.push_back(std::move(store));
  plan.sub_topologies.push_back(std::move(current));

  for (const auto& sub : plan.sub_topologies) {
    for (const auto& store : sub.stores) {
      if (store.changelogged()) plan.changelog_topics.push_back(store.changelog_topic);
    }
  }
  return plan;
}

}  // namespace sluice::operators
