#pragma once

// stream_join: the state and rules of one stream-stream join step, Kafka Streams' KStream#join /
// leftJoin / outerJoin with JoinWindows.ofTimeDifferenceAndGrace(within, grace) (3.x+ semantics,
// no eager null results), so that both give the same results on the same input:
//
// - Each side's records (non-null key and value) are buffered in that side's window store under
//   (key, timestamp), duplicates kept in arrival order (the value is a JSON array). A store hides
//   records older than its own largest timestamp - retention (2 * within + grace), as Kafka
//   Streams' window store does.
// - A record joins every buffered record of the other side with the same key whose timestamp is
//   within `within` of its own, in timestamp order: value = the left value with member `into` set
//   to the right value, timestamp = the larger of the two.
// - A record of a side that keeps its unmatched records (left: the left side; outer: both) that
//   found no partner waits in the pending store, keyed [timestamp BE][side: right 0, left 1][key]
//   (Kafka Streams' order), unless its window is already past stream time (then it is emitted at
//   once). A later partner removes it. When a record arrives at the join's stream time (the
//   largest timestamp either side has seen) and the oldest pending record may have closed,
//   pending records whose timestamp + within + grace < stream time are emitted with null for the
//   missing side (value: {into: right} for a right record without a left one), at their own
//   timestamp, and removed; the scan stops where both sides' windows are still open and
//   remembers where it stopped (the "min time"), exactly like Kafka Streams.
// - Stream time and the min time live in the "<step>-time" store, so a restart or an aborted
//   transaction continues from the same point as an uninterrupted run (Kafka Streams keeps them
//   in memory only). They move with most records, so they are written once per commit
//   (before_commit), not per record; an abort rebuilds the join, which reads the committed ones.
// - A record without a key or value is dropped, except a keyless record of an outer side, which
//   is emitted at once with null for the other side (KIP-962).
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
#include "state/window_store.hpp"

namespace sluice::operators {

class stream_join final : public two_sided_join {
 public:
  struct stores {
    state::window_store* left = nullptr;
    state::window_store* right = nullptr;
    state::kv_store* pending = nullptr;  // left and outer joins
    state::kv_store* time = nullptr;     // left and outer joins
  };

  // Records dropped for a null key or value are counted in `dropped` (an operator_metrics counter,
  // which must outlive the join).

  // Throws std::invalid_argument when a store the join kind needs is missing.
  stream_join(const step& s, stores stores, std::atomic<std::uint64_t>& dropped);

  // Joins a record arriving on `side`; appends the results (joined, or with null for the other
  // side) to `out`. On error nothing is appended, but the stores may have been written (the
  // runtime's abort or skip settles it, as for any partial output).
  std::optional<processing_error> process(join_side side, const record& in,
                                          std::vector<record>& out) override;

  // Writes stream time and the min time to the time store (left and outer joins), for the commit
  // that must follow.
  void before_commit();

 private:
  bool keeps_unmatched(join_side side) const;
  state::window_store& store_of(join_side side) const;
  // The joined value: the left value (an object, or none) with `into` = the right value.
  std::optional<processing_error> append_joined(const record& in, const boost::json::value& key,
                                                const boost::json::value* left,
                                                const boost::json::value* right,
                                                std::int64_t timestamp,
                                                std::vector<record>& out) const;
  std::optional<processing_error> emit_closed(const record& in, std::vector<record>& out);
  void buffer(join_side side, const std::string& key, std::int64_t timestamp,
              const boost::json::value& value);
  void add_pending(join_side side, const boost::json::value& key, std::int64_t timestamp,
                   const boost::json::value& value);
  void forget_pending(join_side side, const boost::json::value& key, std::int64_t timestamp);

  step step_;
  stores stores_;
  std::int64_t within_ms_;
  std::int64_t grace_ms_;
  std::int64_t stream_time_;
  std::int64_t min_time_;
  std::int64_t saved_stream_time_;  // what the time store holds
  std::int64_t saved_min_time_;
  std::atomic<std::uint64_t>& dropped_;
};

}  // namespace sluice::operators
