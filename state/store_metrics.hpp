#pragma once

// store_metrics: counts and latencies of a store's operations as plain numbers, for the
// Prometheus endpoint and per-call stats. Written by the store's task thread, read from any
// thread (a scrape): relaxed atomics, each number consistent on its own.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace sluice::state {

enum class store_operation : std::uint8_t { get, put, remove, scan, commit, abort, apply };
inline constexpr std::size_t store_operation_count = 7;

std::string_view to_string(store_operation operation);

struct operation_stats {
  std::uint64_t count = 0;
  std::uint64_t total_nanos = 0;  // summed latency
  std::uint64_t max_nanos = 0;
};

struct store_metrics_snapshot {
  std::array<operation_stats, store_operation_count> operations{};
  std::uint64_t expired_drops = 0;  // windowed stores: late puts dropped
  std::uint64_t pending_writes = 0;

  const operation_stats& operator[](store_operation operation) const {
    return operations[static_cast<std::size_t>(operation)];
  }
};

class store_metrics {
 public:
  void record(store_operation operation, std::chrono::nanoseconds latency);
  // Counters only; the store fills expired_drops and pending_writes.
  store_metrics_snapshot snapshot() const;

 private:
  struct counters {
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> total_nanos{0};
    std::atomic<std::uint64_t> max_nanos{0};
  };
  std::array<counters, store_operation_count> counters_;
};

}  // namespace sluice::state
