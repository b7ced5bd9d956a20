#include "operators/table_aggregator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "operators/table_changes.hpp"
#include "state/json_serde.hpp"

namespace sluice::operators {

namespace json = boost::json;

namespace {

state::kv_store& open_store(const table_aggregation_spec& spec, const std::string& name,
                            const std::vector<store_plan>& stores, store_provider& provider) {
  auto found = std::find_if(stores.begin(), stores.end(),
                            [&](const store_plan& s) { return s.name == name; });
  if (found == stores.end() || found->kind != store_kind::key_value) {
    throw std::invalid_argument(fmt::format(
        "table aggregation '{}': no key-value store '{}' in the plan", spec.name, name));
  }
  return provider.kv_store(*found);
}

}  // namespace

table_aggregator::table_aggregator(const table_aggregation_spec& spec,
                                   const std::vector<store_plan>& stores, store_provider& provider,
                                   const function_registry& registry, operator_metrics& metrics,
                                   bool folds_changes)
    : aggregates_(spec.aggregations, registry, spec.name),
      folds_changes_(folds_changes),
      emit_every_(spec.emit_every),
      store_(open_store(spec, spec.store_name(), stores, provider)),
      metrics_(metrics) {
  if (emit_every_.count() > 0)
    pending_ = &open_store(spec, spec.pending_store_name(), stores, provider);
  if (folds_changes_ && !aggregates_.subtracts()) {
    throw std::invalid_argument(fmt::format(
        "table aggregation '{}' of a table's updates: an aggregation has no subtract", spec.name));
  }
}

processing_result<record> table_aggregator::result_of(const json::value& key,
                                                      const json::value& state,
                                                      const record& trigger) const {
  json::object value;
  value.reserve(aggregates_.size());
  if (auto e = aggregates_.results(state, value, trigger)) {
    return *e;
  }
  return aggregate_set::result_record(key, std::move(value), state, trigger);
}

std::optional<processing_error> table_aggregator::emit_pending(std::vector<record>& out) {
  if (pending_ == nullptr) return std::nullopt;
  std::vector<std::string> keys;
  pending_->all([&](state::bytes_view key, state::bytes_view) {
    keys.emplace_back(key);
    return true;
  });
  std::vector<record> results;
  for (const auto& key : keys) {
    auto stored = store_.get(key);
    if (!stored) continue;
    record trigger;
    trigger.key = state::json_serde::deserialize(key);
    auto result = result_of(trigger.key, state::json_serde::deserialize(*stored), trigger);
    if (!result) return result.error();
    results.push_back(std::move(result).value());
  }
  for (const auto& key : keys) pending_->remove(key);
  for (auto& r : results) out.push_back(std::move(r));
  operator_metrics::increment(metrics_.table_updates, results.size());
  return std::nullopt;
}

std::optional<processing_error> table_aggregator::process(const record& in,
                                                          std::vector<record>& out) {
  auto inputs = aggregates_.inputs(in);
  if (!inputs) {
    return inputs.error();
  }
  const std::string key_bytes = state::json_serde::serialize(in.key);
  auto stored = store_.get(key_bytes);
  json::value state =
      stored ? state::json_serde::deserialize(*stored) : aggregates_.initial_state();
  const bool subtract = folds_changes_ && is_subtract(in);
  if (auto e = subtract ? aggregates_.subtract(state, *inputs, in.timestamp, in)
                        : aggregates_.add(state, *inputs, in.timestamp, in)) {
    return e;
  }
  auto result = result_of(in.key, state, in);
  if (!result) {
    return result.error();
  }
  store_.put(key_bytes, json::serialize(state));
  if (pending_ != nullptr) {
    pending_->put(key_bytes, "");
    return std::nullopt;
  }
  out.push_back(std::move(result).value());
  operator_metrics::increment(metrics_.table_updates);
  return std::nullopt;
}

}  // namespace sluice::operators
