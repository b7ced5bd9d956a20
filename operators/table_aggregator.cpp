#include "operators/table_aggregator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "state/json_serde.hpp"

namespace sluice::operators {

namespace json = boost::json;

namespace {

state::kv_store& open_store(const table_aggregation_spec& spec,
                            const std::vector<store_plan>& stores, store_provider& provider) {
  const auto name = spec.store_name();
  auto found = std::find_if(stores.begin(), stores.end(),
                            [&](const store_plan& s) { return s.name == name; });
  if (found == stores.end() || found->kind != store_kind::key_value) {
    throw std::invalid_argument(
        fmt::format("table aggregation '{}': no key-value store '{}' in the plan", spec.name, name));
  }
  return provider.kv_store(*found);
}

}  // namespace

table_aggregator::table_aggregator(const table_aggregation_spec& spec,
                                   const std::vector<store_plan>& stores, store_provider& provider,
                                   const function_registry& registry, operator_metrics& metrics)
    : aggregates_(spec.aggregations, registry, spec.name),
      store_(open_store(spec, stores, provider)),
      metrics_(metrics) {}

std::optional<processing_error> table_aggregator::process(const record& in,
                                                          std::vector<record>& out) {
  auto inputs = aggregates_.inputs(in);
  if (!inputs) {
    return inputs.error();
  }
  const std::string key_bytes = state::json_serde::serialize(in.key);
  auto stored = store_.get(key_bytes);
  json::value state = stored ? state::json_serde::deserialize(*stored) : aggregates_.initial_state();
  if (auto e = aggregates_.add(state, *inputs, in.timestamp, in)) {
    return e;
  }
  json::object value;
  if (auto e = aggregates_.results(state, value, in)) {
    return e;
  }

  store_.put(key_bytes, json::serialize(state));
  out.push_back(aggregate_set::result_record(in.key, std::move(value), state, in));
  operator_metrics::increment(metrics_.table_updates);
  return std::nullopt;
}

}  // namespace sluice::operators
