#pragma once

// table_changes: the node that turns a table's updates into what a regrouping table aggregation
// folds (Kafka Streams' KTable#groupBy(...).aggregate(adder, subtractor): the KTable sends its
// old value with the new, KTableRepartitionMap maps both, and KTableAggregate subtracts the old
// and adds the new). plan_topology puts it where the table's records come out: first in a chain
// whose source is read as a table, or right after its table-table join.
//
// It keeps each input key's latest value in its key-value store (table_changes_store_name) and,
// for an update of key K from old value O to new value N, forwards two records keyed K:
//
//   (K, O) with the header `sluice.subtract`   when K had a value    (O leaves its group)
//   (K, N) without it                          when N is not null   (N joins its group)
//
// so a tombstone only subtracts and a key's first value only adds. Both records then go through
// the stateless steps before the aggregation (filter, map, select_key, flat_map, set_timestamp)
// one by one, the way Kafka Streams applies the groupBy mapper to the old and the new value, so
// the old value reaches the group it was added to (the steps are deterministic) and the new
// value its new group, also across a repartition topic, which keeps headers. The aggregation
// subtracts a record with the header and adds any other. Under exactly_once both ride in the
// task's transaction, so each group sees each change exactly once.
//
// Both records carry the update's timestamp and origin. A record without a key is dropped and
// counted (a table has no row for it). One task's thread; the store must outlive the node.

#include <atomic>
#include <cstdint>
#include <string_view>

#include "operators/processor.hpp"
#include "operators/record.hpp"
#include "state/kv_store.hpp"

namespace sluice::operators {

// The header that marks the record of a key's previous value.
inline constexpr std::string_view subtract_header = "sluice.subtract";

// Whether `r` carries a previous value to take out of its group (the subtract header).
bool is_subtract(const record& r);

class table_changes_node final : public processor {
 public:
  table_changes_node(state::kv_store& previous, std::atomic<std::uint64_t>& dropped)
      : previous_(previous), dropped_(dropped) {}
  void process(const record& in, processor_context& context) override;

 private:
  state::kv_store& previous_;
  std::atomic<std::uint64_t>& dropped_;
};

}  // namespace sluice::operators
