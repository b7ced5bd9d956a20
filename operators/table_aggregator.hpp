#pragma once

// table_aggregator: groups records by key with no window and folds the aggregations over one
// JSON state per key (aggregate_set.hpp's layout) in a key-value store: a table whose every
// update is emitted, like Kafka Streams' groupByKey().aggregate() with the record cache off.
//
// Output: key = the group key; value = {<aggregates>}; timestamp = the largest record timestamp
// folded into the key's state, so a replay of old data emits old timestamps.
//
// Fed by a table's updates (table_changes.hpp: a table source or a table-table join regrouped), a
// record with the subtract header takes its value back out of its group (aggregate_set::subtract)
// and emits the group's new result like an addition; every aggregation then has an inverse
// (validate_topology). A group whose last member left keeps its result (a count of 0), as in
// Kafka Streams.
//
// With emit_every, process() only marks the key in the pending store; emit_pending() (the
// task's punctuation, once per interval) emits every marked key's latest result and clears the
// marks, in the same transaction as the outputs.
//
// A record is checked fully before anything is written: on error the store and the output are
// untouched. One task's thread; the provider's owner commits or aborts the store.

#include <optional>
#include <vector>

#include "operators/aggregate_set.hpp"
#include "operators/operator_metrics.hpp"
#include "operators/store_provider.hpp"
#include "operators/topology.hpp"

namespace sluice::operators {

class table_aggregator {
 public:
  // `stores` must name the spec's store (plan_topology's sub_topology::stores); `folds_changes`:
  // the input is a table's updates (sub_topology::folds_table_changes). Throws
  // std::invalid_argument for an invalid spec, or one that folds changes with an aggregation
  // that cannot subtract.
  table_aggregator(const table_aggregation_spec& spec, const std::vector<store_plan>& stores,
                   store_provider& provider, const function_registry& registry,
                   operator_metrics& metrics, bool folds_changes = false);

  // Folds the record into its key's state and appends the key's new result to `out` (with
  // emit_every: marks the key instead).
  std::optional<processing_error> process(const record& in, std::vector<record>& out);
  // The latest result of every key marked since the last call; nothing without emit_every.
  std::optional<processing_error> emit_pending(std::vector<record>& out);
  duration emit_every() const { return emit_every_; }

 private:
  processing_result<record> result_of(const boost::json::value& key,
                                      const boost::json::value& state, const record& trigger) const;

  aggregate_set aggregates_;
  bool folds_changes_;
  duration emit_every_;
  state::kv_store& store_;
  state::kv_store* pending_ = nullptr;
  operator_metrics& metrics_;
};

}  // namespace sluice::operators
