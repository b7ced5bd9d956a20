#pragma once

// table_join: the state and rules of one table-table join step, Kafka Streams' KTable#join /
// leftJoin / outerJoin (KTableKTableInnerJoin, -LeftJoin, -RightJoin, -OuterJoin, non-versioned
// stores, cache off), so that both give the same results, update by update, on the same input:
//
// - Each side is a table: a record (key, value) of a side sets that side's value for the key, a
//   null value deletes it; a record without a key is dropped (counted). Each side's latest value
//   and its record's timestamp are kept in that side's key-value store.
// - Every update of a side looks the key up on the other side and emits the key's new join
//   result, or nothing, by the kind of join (L: the left value, R: the right value after the
//   update; a delete of a key the side never had counts as an update too, as in Kafka Streams):
//     inner  both present: L with member `into` = R; the update made one side absent while the
//            other is present: a tombstone (null value); the other side absent: nothing.
//     left   an update of the left: L present: L with `into` = R (null when absent); L deleted:
//            a tombstone, unless neither side had a value (nothing). An update of the right:
//            nothing when L is absent, else L with `into` = R (null when R was deleted).
//     outer  either present: the joined value (L, or {} when absent, with `into` = R or null);
//            both absent: a tombstone when the updated side had a value before, else nothing.
// - A result's timestamp is the larger of the update's and the other side's stored timestamp
//   (the update's own when the other side is absent).
// - A left value that is not an object cannot take the member `into`: a processing error, with
//   nothing stored (the stores are written only after the result is known).
//
// One task's thread; the stores must outlive it. Built per task (and rebuilt after an abort).

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "operators/processing_error.hpp"
#include "operators/record.hpp"
#include "operators/topology.hpp"
#include "operators/two_sided_join.hpp"
#include "state/kv_store.hpp"

namespace sluice::operators {

class table_join final : public two_sided_join {
 public:
  struct stores {
    state::kv_store* left = nullptr;
    state::kv_store* right = nullptr;
  };

  // Records dropped for a null key are counted in `dropped`, records applied to a side's store in
  // `applied` (operator_metrics counters, which must outlive the join). Throws
  // std::invalid_argument when a store is missing.
  table_join(const step& s, stores stores, std::atomic<std::uint64_t>& dropped,
             std::atomic<std::uint64_t>& applied);

  std::optional<processing_error> process(join_side side, const record& in,
                                          std::vector<record>& out) override;

 private:
  // A side's value for a key and the timestamp of the record that set it.
  struct entry {
    boost::json::value value;
    std::int64_t timestamp = 0;
  };
  std::optional<entry> load(join_side side, const state::bytes& key) const;
  state::kv_store& store_of(join_side side) const;
  // Whether an update of `side` emits a result (a value or a tombstone): see the file comment.
  bool emits(join_side side, bool had_value, bool has_value, bool other_present) const;
  bool keeps_without_partner(join_side side) const;
  std::optional<processing_error> joined_value(const record& in, const boost::json::value* left,
                                               const boost::json::value* right,
                                               boost::json::value& out) const;

  step step_;
  stores stores_;
  std::atomic<std::uint64_t>& dropped_;
  std::atomic<std::uint64_t>& applied_;
};

}  // namespace sluice::operators
