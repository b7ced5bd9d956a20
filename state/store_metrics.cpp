#include "state/store_metrics.hpp"

namespace sluice::state {

std::string_view to_string(store_operation operation) {
  switch (operation) {
    case store_operation::get:
      return "get";
    case store_operation::put:
      return "put";
    case store_operation::remove:
      return "remove";
    case store_operation::scan:
      return "scan";
    case store_operation::commit:
      return "commit";
    case store_operation::abort:
      return "abort";
    case store_operation::apply:
      return "apply";
  }
  return "unknown";
}

void store_metrics::record(store_operation operation, std::chrono::nanoseconds latency) {
  auto& c = counters_[static_cast<std::size_t>(operation)];
  auto nanos = static_cast<std::uint64_t>(latency.count() < 0 ? 0 : latency.count());
  c.count.fetch_add(1, std::memory_order_relaxed);
  c.total_nanos.fetch_add(nanos, std::memory_order_relaxed);
  // One writer (the task thread), so load-then-store cannot lose a larger maximum.
  if (nanos > c.max_nanos.load(std::memory_order_relaxed)) {
    c.max_nanos.store(nanos, std::memory_order_relaxed);
  }
}

store_metrics_snapshot store_metrics::snapshot() const {
  store_metrics_snapshot out;
  for (std::size_t i = 0; i < store_operation_count; ++i) {
    out.operations[i] = {counters_[i].count.load(std::memory_order_relaxed),
                         counters_[i].total_nanos.load(std::memory_order_relaxed),
                         counters_[i].max_nanos.load(std::memory_order_relaxed)};
  }
  return out;
}

}  // namespace sluice::state
