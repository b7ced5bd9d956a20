#pragma once

// operator_metrics: counters of one sub-topology task, for the Prometheus endpoint. Written by
// the task's thread, read from any thread (a scrape): relaxed atomics, each number consistent on
// its own. snapshot() copies them into plain numbers.

#include <atomic>
#include <cstdint>

namespace sluice::operators {

struct operator_metrics_snapshot {
  std::uint64_t records_in = 0;
  std::uint64_t records_out = 0;
  std::uint64_t filtered = 0;         // records a filter step dropped
  std::uint64_t late_dropped = 0;     // late records dropped (late: drop)
  std::uint64_t late_to_side = 0;     // late records written to the side topic
  std::uint64_t errors = 0;           // records that returned a processing_error
  std::uint64_t windows_emitted = 0;  // window results emitted (every update or on close)
  std::uint64_t table_updates = 0;    // table aggregation results emitted (one per update)
  std::uint64_t table_records = 0;    // records of a joined table's topic applied to its store
  std::uint64_t join_dropped = 0;     // records a stream join dropped (no key or no value)
  bool operator==(const operator_metrics_snapshot&) const = default;
  operator_metrics_snapshot& operator+=(const operator_metrics_snapshot& other) {
    records_in += other.records_in;
    records_out += other.records_out;
    filtered += other.filtered;
    late_dropped += other.late_dropped;
    late_to_side += other.late_to_side;
    errors += other.errors;
    windows_emitted += other.windows_emitted;
    table_updates += other.table_updates;
    table_records += other.table_records;
    join_dropped += other.join_dropped;
    return *this;
  }
};

class operator_metrics {
 public:
  std::atomic<std::uint64_t> records_in{0};
  std::atomic<std::uint64_t> records_out{0};
  std::atomic<std::uint64_t> filtered{0};
  std::atomic<std::uint64_t> late_dropped{0};
  std::atomic<std::uint64_t> late_to_side{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> windows_emitted{0};
  std::atomic<std::uint64_t> table_updates{0};
  std::atomic<std::uint64_t> table_records{0};
  std::atomic<std::uint64_t> join_dropped{0};

  static void increment(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) {
    counter.fetch_add(by, std::memory_order_relaxed);
  }

  operator_metrics_snapshot snapshot() const {
    auto load = [](const std::atomic<std::uint64_t>& c) {
      return c.load(std::memory_order_relaxed);
    };
    return {load(records_in),    load(records_out), load(filtered),        load(late_dropped),
            load(late_to_side),  load(errors),      load(windows_emitted), load(table_updates),
            load(table_records), load(join_dropped)};
  }
};

}  // namespace sluice::operators
