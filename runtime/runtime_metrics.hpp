#pragma once

// runtime_metrics: what one application counts and times, for metrics() and the Prometheus
// endpoint (metrics_exposition.hpp, which also reads gauges from the tasks and clients when
// scraped). The totals are relaxed atomics, readable from any thread; the per-partition and
// per-topic counts and the histograms are the app's thread's (the endpoint serves on it too).

#include <prometheus/histogram.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "kafka/client/topic_partition.hpp"
#include "operators/operator_metrics.hpp"

namespace sluice::runtime {

// A latency distribution in seconds, 1 ms to 30 s.
class latency_histogram {
 public:
  latency_histogram()
      : histogram_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}) {}
  void observe(std::chrono::steady_clock::duration elapsed) {
    histogram_.Observe(std::chrono::duration<double>(elapsed).count());
  }
  prometheus::ClientMetric collect() const { return histogram_.Collect(); }

 private:
  mutable prometheus::Histogram histogram_;
};

// Observes the time from its construction to its destruction, however the scope is left.
class scoped_timer {
 public:
  explicit scoped_timer(latency_histogram& histogram) : histogram_(histogram) {}
  ~scoped_timer() { histogram_.observe(std::chrono::steady_clock::now() - began_); }
  scoped_timer(const scoped_timer&) = delete;
  scoped_timer& operator=(const scoped_timer&) = delete;

 private:
  latency_histogram& histogram_;
  std::chrono::steady_clock::time_point began_ = std::chrono::steady_clock::now();
};

struct runtime_metrics {
  std::atomic<std::uint64_t> records_in{0};
  std::atomic<std::uint64_t> records_out{0};
  std::atomic<std::uint64_t> processing_errors{0};
  std::atomic<std::uint64_t> dead_lettered{0};
  std::atomic<std::uint64_t> commits{0};
  std::atomic<std::uint64_t> aborted_transactions{0};
  std::atomic<std::uint64_t> restored_records{0};
  std::atomic<std::uint64_t> standby_records{0};  // applied by standby tasks
  std::atomic<std::uint64_t> changelog_records{0};
  std::atomic<std::uint64_t> assigned_tasks{0};   // tasks running (restored, processing)
  std::atomic<std::uint64_t> restoring_tasks{0};  // tasks assigned, still restoring their stores
  std::atomic<std::uint64_t> rebalance_events{0};
  std::atomic<std::uint64_t> decoded_ahead{0};  // input records the input_decoder's thread decoded

  // ---- the app's thread only ------------------------------------------------------------------
  std::map<kafka::topic_partition, std::uint64_t> records_in_by_partition;
  std::map<std::string, std::uint64_t, std::less<>> records_out_by_topic;
  // The operators' counts of processors since dropped (closed tasks, aborted intervals), so that
  // the totals over live and dropped ones never go down.
  operators::operator_metrics_snapshot dropped_processors;
  latency_histogram poll_time;         // one getmany
  latency_histogram processing_time;   // the records of one poll
  latency_histogram commit_time;       // one commit: changelogs, outputs, offsets, transaction
  latency_histogram store_write_time;  // a commit's step 4: the stores write what Kafka now has
  latency_histogram rebalance_time;    // handling one assignment or revocation
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  std::uint64_t& records_in_of(const kafka::topic_partition& partition) {
    return records_in_by_partition[partition];
  }
  std::uint64_t& records_out_to(std::string_view topic) {
    auto found = records_out_by_topic.find(topic);
    if (found == records_out_by_topic.end())
      found = records_out_by_topic.emplace(std::string(topic), 0).first;
    return found->second;
  }
};

}  // namespace sluice::runtime
