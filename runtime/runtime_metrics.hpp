#pragma once

#include <atomic>
#include <cstdint>

namespace sluice::runtime {

// Counters of one application, readable from any thread.
struct runtime_metrics {
  std::atomic<std::uint64_t> records_in{0};
  std::atomic<std::uint64_t> records_out{0};
  std::atomic<std::uint64_t> processing_errors{0};
  std::atomic<std::uint64_t> dead_lettered{0};
  std::atomic<std::uint64_t> commits{0};
  std::atomic<std::uint64_t> aborted_transactions{0};
  std::atomic<std::uint64_t> restored_records{0};
  std::atomic<std::uint64_t> changelog_records{0};
  std::atomic<std::uint64_t> assigned_tasks{0};   // tasks running (restored, processing)
  std::atomic<std::uint64_t> restoring_tasks{0};  // tasks assigned, still restoring their stores
  std::atomic<std::uint64_t> rebalance_events{0};
};

}  // namespace sluice::runtime
