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
  }
  return "unknown";
}

bool changes_key(const step& s) {
  switch (s.kind) {
    case step_kind::select_key:
      return true;
    case step_kind::flat_map:
      return !s.key_expression.empty();
    case step_kind::user:
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

duration default_commit_interval(delivery_guarantee guarantee) {
  return guarantee == delivery_guarantee::exactly_once ? exactly_once_commit_interval
                                                       : default_commit_interval_ms;
}

duration topology::effective_commit_interval() const {
  return commit_interval.value_or(default_commit_interval(delivery));
}

duration store_retention(const windowed_aggregation_spec& aggregation) {
  const auto& w = aggregation.window;
  const duration open = w.kind == window_kind::session ? w.gap : w.size;
  return open + w.grace;
}

topology_plan plan_topology(const topology& t) {
  topology_plan plan;

  // The last step before the aggregation that may change the key decides the split.
  std::optional<std::size_t> last_rekey;
  if (t.aggregates()) {
    for (std::size_t i = 0; i < t.steps.size(); ++i) {
      if (changes_key(t.steps[i])) {
        last_rekey = i;
      }
    }
  }

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
  }

  if (!last_rekey) {
    sub_topology only;
    only.id = 0;
    only.sources = t.sources;
    only.steps = t.steps;
    only.aggregation = t.aggregation;
    only.table = t.table;
    only.after = t.after;
    only.sink = t.sink;
    only.stores = stores;
    plan.sub_topologies.push_back(std::move(only));
  } else {
    const std::string topic = t.name + "-" + t.steps[*last_rekey].name + "-repartition";
    plan.repartition_topics.push_back(topic);

    sub_topology first;
    first.id = 0;
    first.sources = t.sources;
    first.steps = t.steps;  // all steps before the aggregation run before the repartition
    first.sink = sink_spec{topic, data_format::json, data_format::json};
    first.writes_internal = true;

    sub_topology second;
    second.id = 1;
    second.sources = {source_spec{{topic}, data_format::json, data_format::json}};
    second.reads_internal = true;
    second.aggregation = t.aggregation;
    second.table = t.table;
    second.after = t.after;
    second.sink = t.sink;
    second.stores = stores;

    plan.sub_topologies.push_back(std::move(first));
    plan.sub_topologies.push_back(std::move(second));
  }
  for (const auto& store : stores) {
    plan.changelog_topics.push_back(store.changelog_topic);
  }
  return plan;
}

}  // namespace sluice::operators
