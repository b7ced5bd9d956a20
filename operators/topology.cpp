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
    case step_kind::table_changes:
      return "table_changes";
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

step table_changes_step(const table_aggregation_spec& table) {
  step s;
  s.kind = step_kind::table_changes;
  s.name = table.name + "-changes";
  s.table = table.name;
  return s;
}

std::string table_changes_store_name(const step& s) {
  return table_aggregation_spec{s.table, {}, {}}.previous_store_name();
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

std::vector<const sink_spec*> topology::every_sink() const {
  std::vector<const sink_spec*> all;
  for (const auto& sink : sinks) all.push_back(&sink);
  for (const auto& branch : branches) {
    for (const auto& sink : branch.sinks) all.push_back(&sink);
  }
  return all;
}

std::vector<const windowed_aggregation_spec*> topology::windowed_aggregations() const {
  std::vector<const windowed_aggregation_spec*> all;
  if (aggregation) all.push_back(&*aggregation);
  for (const auto& branch : branches) {
    if (branch.aggregation) all.push_back(&*branch.aggregation);
  }
  return all;
}

}  // namespace sluice::operators
