#pragma once

// windowed_aggregator: groups records by key into event-time windows (tumbling, hopping or
// session) and folds the aggregations over each window, keeping one JSON state per window in a
// window or session store (aggregate_set.hpp gives the state's layout).
//
// Time. A record's event time is its timestamp, or the `time` expression's value. Stream time
// is the largest event time this task has seen (one task = one input partition, so this is
// stream time per partition, as in Kafka Streams); it never goes back. It is kept, with the last
// emitted window boundary, in the meta key-value store so a restart resumes exactly; stream time
// is written there before each commit (before_commit), not with every record that moves it.
//
// Windows. tumbling(size) = hopping(size, advance = size); a record at t belongs to every window
// [start, start + size) with start a multiple of advance, start <= t < start + size, start >= 0.
// Session windows: [first, last] record times of a key with no gap larger than `gap`; a record
// within gap of existing sessions merges them (through the session store: find, remove, put).
//
// Closing and late records. A window closes when end + grace <= stream time (sessions: last +
// gap + grace <= stream time). A record whose windows are all closed is late: it is counted and
// dropped, or sent to the side output (late: side_topic); it never silently disappears. For
// hopping windows a record still updates the windows that are open. A closed session is final:
// a later record never merges into it.
//
// Emitting. every_update: after each record, the new result of each window it updated. on_close:
// once, when a window closes, read with window_store::fetch_all over the window starts that closed
// since the last emitted boundary (Kafka Streams' emitStrategy onWindowClose, KIP-825), in order
// of window start, then key. Closed windows are emitted BEFORE the record's own writes: a write
// advances the store's observed time and could expire a window that just closed. Closed
// sessions are found through a close index in the meta store (open sessions by end time): the
// session store has no scan by time across keys.
//
// Output: key = the group key; value = {"window_start": ms, "window_end": ms, <aggregates>}
// (window_end exclusive for tumbling and hopping, the last record time for sessions); timestamp
// = the largest event time in the window.
//
// One task's thread, like the stores it uses; the stores come from the store_provider and the
// provider's owner commits them.

#include <optional>
#include <vector>

#include "operators/aggregate_set.hpp"
#include "operators/aggregate_state_cache.hpp"
#include "operators/operator_metrics.hpp"
#include "operators/store_provider.hpp"
#include "operators/topology.hpp"

namespace sluice::operators {

class windowed_aggregator {
 public:
  // `stores` must name the window (or session) store and the meta store of `spec`
  // (plan_topology's sub_topology::stores). Throws std::invalid_argument for an invalid spec.
  windowed_aggregator(const windowed_aggregation_spec& spec, const std::vector<store_plan>& stores,
                      store_provider& provider, const function_registry& registry,
                      operator_metrics& metrics);

  // Processes one record: appends emitted results to `out` and, for a late record with
  // late: side_topic, the record to `late`. On error nothing is written or emitted.
  std::optional<processing_error> process(const record& in, std::vector<record>& out,
                                          std::vector<record>& late);

  // -1 before the first record.
  std::int64_t stream_time() const { return stream_time_; }

  // Writes stream time to the meta store, where the commit that must follow makes it durable
  // with the windows it closed. Between commits it lives in memory only: an abort rebuilds the
  // aggregator, which reads the committed value again.
  void before_commit();

 private:
  processing_result<std::int64_t> event_time(const record& in) const;
  void advance_to(std::int64_t stream_time, std::int64_t emitted_until);
  // Results of the windows (sessions) closed at `stream_time` and not emitted yet; reads only.
  // On success moves `emitted_until` to the new boundary.
  std::optional<processing_error> emit_closed_windows(const record& trigger,
                                                      std::int64_t stream_time,
                                                      std::vector<record>& out,
                                                      std::int64_t& emitted_until);
  std::optional<processing_error> emit_closed_sessions(const record& trigger,
                                                       std::int64_t stream_time,
                                                       std::vector<record>& out,
                                                       std::int64_t& emitted_until);
  std::optional<processing_error> process_windows(const record& in, std::int64_t t,
                                                  const std::vector<boost::json::value>& inputs,
                                                  std::vector<record>& out, bool& late);
  std::optional<processing_error> process_session(const record& in, std::int64_t t,
                                                  const std::vector<boost::json::value>& inputs,
                                                  std::vector<record>& out, bool& late);
  // A window's state: from the cache of states this aggregator wrote, else the store, else the
  // initial state.
  boost::json::value read_window_state(const std::string& key_bytes, std::int64_t start);
  std::optional<processing_error> make_result(const boost::json::value& key, std::int64_t start,
                                              std::int64_t end, const boost::json::value& state,
                                              const record& trigger, std::vector<record>& out);

  windowed_aggregation_spec spec_;
  aggregate_set aggregates_;
  std::optional<bound_expression> time_expression_;
  state::window_store* windows_ = nullptr;
  state::session_store* sessions_ = nullptr;
  state::kv_store* meta_ = nullptr;
  operator_metrics& metrics_;
  std::int64_t stream_time_ = -1;
  std::int64_t saved_stream_time_ = -1;  // what the meta store holds
  std::int64_t emitted_until_ = -1;  // on_close: windows (starts) / sessions (ends) <= this are out
  std::vector<std::string> pending_index_removals_;  // close index entries of emitted sessions
  struct pending_window {
    std::int64_t start = 0;
    boost::json::value state;
  };
  std::vector<pending_window> updates_;  // process_windows' phase 1, reused: no allocation
  aggregate_state_cache states_;         // tumbling and hopping windows' states
};

}  // namespace sluice::operators
