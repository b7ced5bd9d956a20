#include "runtime/metrics_exposition.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <initializer_list>
#include <map>
#include <utility>
#include <vector>

#include "kafka/consumer/consumer.hpp"
#include "runtime/client_ports.hpp"
#include "runtime/task_manager.hpp"
#include "state/rocksdb/memory_budget.hpp"

namespace sluice::runtime {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using labels = std::vector<std::pair<std::string, std::string>>;

}  // namespace

// The families of one exposition: several apps' samples of one metric go into one family (the
// text format wants each family once), told apart by their `pipeline` (and `thread`) labels.
class exposition::families {
 public:
  void set_app(std::string pipeline, std::string thread) {
    pipeline_ = std::move(pipeline);
    thread_ = std::move(thread);
  }

  MetricFamily& family(const char* name, const char* help, MetricType type) {
    auto [found, added] = index_.emplace(name, out_.size());
    if (added) out_.push_back({name, help, type, {}});
    return out_[found->second];
  }
  ClientMetric& sample(MetricFamily& family, const labels& extra = {}) {
    auto& metric = family.metric.emplace_back();
    metric.label.push_back({"pipeline", pipeline_});
    if (!thread_.empty()) metric.label.push_back({"thread", thread_});
    for (const auto& [name, value] : extra) metric.label.push_back({name, value});
    return metric;
  }
  void counter(const char* name, const char* help, double value, const labels& extra = {}) {
    sample(family(name, help, MetricType::Counter), extra).counter.value = value;
  }
  void gauge(const char* name, const char* help, double value, const labels& extra = {}) {
    sample(family(name, help, MetricType::Gauge), extra).gauge.value = value;
  }
  void histogram(const char* name, const char* help, const latency_histogram& histogram) {
    auto metric = histogram.collect();
    if (!thread_.empty()) metric.label.insert(metric.label.begin(), {"thread", thread_});
    metric.label.insert(metric.label.begin(), {"pipeline", pipeline_});
    family(name, help, MetricType::Histogram).metric.push_back(std::move(metric));
  }
  std::string text() const { return prometheus::TextSerializer().Serialize(out_); }

 private:
  std::string pipeline_;
  std::string thread_;
  std::vector<MetricFamily> out_;
  std::map<std::string, std::size_t> index_;
};

namespace {

using families = exposition::families;

double value(const std::atomic<std::uint64_t>& counter) {
  return static_cast<double>(counter.load(std::memory_order_relaxed));
}

void add_record_counts(families& out, const runtime_metrics& m) {
  auto& in = out.family("sluice_records_in_total", "Input records processed, per input partition",
                        MetricType::Counter);
  for (const auto& [partition, count] : m.records_in_by_partition) {
    out.sample(in, {{"topic", partition.topic}, {"partition", std::to_string(partition.partition)}})
        .counter.value = static_cast<double>(count);
  }
  auto& sent = out.family("sluice_records_out_total", "Records sent to sinks, per topic",
                          MetricType::Counter);
  for (const auto& [topic, count] : m.records_out_by_topic) {
    out.sample(sent, {{"topic", topic}}).counter.value = static_cast<double>(count);
  }
  out.counter("sluice_processing_errors_total", "Records the operators could not process",
              value(m.processing_errors));
  out.counter("sluice_dead_lettered_records_total", "Records written to the dead-letter topic",
              value(m.dead_lettered));
  out.counter("sluice_records_decoded_ahead_total",
              "Input records decoded by the stream thread's helper thread ahead of processing",
              value(m.decoded_ahead));
  out.counter("sluice_commits_total", "Commits (transactions under exactly-once)",
              value(m.commits));
  out.counter("sluice_aborted_transactions_total",
              "Transactions aborted, their records reprocessed", value(m.aborted_transactions));
  out.counter("sluice_changelog_records_total", "Store changes written to changelog topics",
              value(m.changelog_records));
  out.counter("sluice_restored_records_total",
              "Changelog records applied to stores while restoring", value(m.restored_records));
  out.counter("sluice_standby_records_total",
              "Records standby tasks applied to their stores (changelogs, tables' own topics)",
              value(m.standby_records));
  out.counter("sluice_rebalance_events_total", "Assignments, revocations and losses handled",
              value(m.rebalance_events));
}

void add_operator_counts(families& out, const runtime_metrics& m, const task_manager* tasks) {
  auto counts = m.dropped_processors;
  if (tasks != nullptr) {
    for (const auto& [id, t] : tasks->tasks()) {
      if (t->processing()) counts += t->processor().metrics().snapshot();
    }
  }
  out.counter("sluice_records_filtered_total", "Records a filter step dropped",
              static_cast<double>(counts.filtered));
  out.counter("sluice_late_records_dropped_total", "Records too late for their window, dropped",
              static_cast<double>(counts.late_dropped));
  out.counter("sluice_late_records_to_side_total",
              "Records too late for their window, sent to the late topic",
              static_cast<double>(counts.late_to_side));
  out.counter("sluice_windows_emitted_total", "Window results emitted",
              static_cast<double>(counts.windows_emitted));
  out.counter("sluice_table_updates_total", "Table aggregation results emitted",
              static_cast<double>(counts.table_updates));
  out.counter(
      "sluice_table_records_total",
      "Records of tables' topics applied to their stores (both sides of a table-table join)",
      static_cast<double>(counts.table_records));
  out.counter("sluice_join_dropped_records_total",
              "Records a join of two streams or two tables dropped for a null key (or value)",
              static_cast<double>(counts.join_dropped));
}

void add_task_gauges(families& out, const task_manager& tasks) {
  std::uint64_t running = 0;
  std::uint64_t restoring = 0;
  for (const auto& [id, t] : tasks.tasks()) (t->processing() ? running : restoring) += 1;
  auto& count =
      out.family("sluice_tasks", "Tasks assigned to this instance, by state", MetricType::Gauge);
  out.sample(count, {{"state", "running"}}).gauge.value = static_cast<double>(running);
  out.sample(count, {{"state", "restoring"}}).gauge.value = static_cast<double>(restoring);
  if (const auto* standbys = tasks.standbys()) {
    out.sample(count, {{"state", "standby"}}).gauge.value =
        static_cast<double>(standbys->tasks().size());
    auto& behind = out.family("sluice_standby_lag_records",
                              "Changelog offsets a standby task is behind its changelogs' ends",
                              MetricType::Gauge);
    for (const auto& [id, t] : standbys->tasks()) {
      if (auto lag = standbys->lag(id))
        out.sample(behind, {{"task", id.to_string()}}).gauge.value = static_cast<double>(*lag);
    }
  }
  auto& remaining =
      out.family("sluice_restore_remaining_records",
                 "Changelog offsets still to restore, per store being restored", MetricType::Gauge);
  auto& restored =
      out.family("sluice_restore_applied_records",
                 "Changelog records applied so far, per store being restored", MetricType::Gauge);
  for (const auto& store : tasks.restore_progress()) {
    const labels which{{"task", store.owner}, {"store", store.store}};
    out.sample(remaining, which).gauge.value =
        static_cast<double>(std::max<std::int64_t>(0, store.end - store.position));
    out.sample(restored, which).gauge.value = static_cast<double>(store.records);
  }
}

void add_lag(families& out, const task_manager& tasks, const kafka::consumer& consumer,
             bool read_committed) {
  auto& lag = out.family(
      "sluice_consumer_lag_records",
      "Records after the last one processed, per input partition (end offset - next offset)",
      MetricType::Gauge);
  for (const auto& [id, t] : tasks.tasks()) {
    for (const auto& [partition, next] : t->consumed()) {
      const auto end =
          read_committed ? consumer.last_stable_offset(partition) : consumer.highwater(partition);
      if (!end) continue;
      out.sample(lag,
                 {{"topic", partition.topic}, {"partition", std::to_string(partition.partition)}})
          .gauge.value = static_cast<double>(std::max<std::int64_t>(0, end->value() - next));
    }
  }
  const auto group = consumer.group_stats();
  out.counter("sluice_rebalances_total", "Group rebalances this member completed",
              static_cast<double>(group.rebalances));
}

void add_producer(families& out, const kafka::producer_statistics& s) {
  out.counter("sluice_producer_requests_total", "Produce requests sent (retries included)",
              static_cast<double>(s.requests));
  out.counter("sluice_producer_batches_total", "Record batches sent",
              static_cast<double>(s.batches));
  out.counter("sluice_producer_records_total", "Records in the batches sent",
              static_cast<double>(s.records));
  out.counter("sluice_producer_batch_bytes_total",
              "Encoded bytes of the batches sent (size per batch: "
              "rate of this over rate of sluice_producer_batches_total)",
              static_cast<double>(s.batch_bytes));
  out.counter("sluice_producer_retried_batches_total", "Batches sent again after a retriable error",
              static_cast<double>(s.retried_batches));
  out.counter("sluice_producer_failed_batches_total", "Batches that failed for good",
              static_cast<double>(s.failed_batches));
}

void add_memory(families& out, const state::rocksdb::memory_budget& memory) {
  out.gauge("sluice_state_memory_bytes", "RocksDB block cache and memtables in use",
            static_cast<double>(memory.usage()));
  out.gauge("sluice_state_memtable_bytes", "RocksDB memtables in use",
            static_cast<double>(memory.memtable_usage()));
  out.gauge("sluice_state_memory_budget_bytes", "The memory budget RocksDB shares (--memory-mb)",
            static_cast<double>(memory.config().total_bytes));
}

void add_app(families& out, const metrics_sources& sources) {
  out.set_app(sources.pipeline, sources.thread);
  const auto& m = *sources.metrics;
  out.gauge("sluice_ready", "1 when joined and every assigned task restored",
            sources.ready ? 1 : 0);
  out.gauge("sluice_uptime_seconds", "Seconds since run() started",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - m.started).count());
  add_record_counts(out, m);
  add_operator_counts(out, m, sources.tasks);
  out.histogram("sluice_poll_seconds", "Time of one poll of the input", m.poll_time);
  out.histogram("sluice_processing_seconds", "Time processing the records of one poll",
                m.processing_time);
  out.histogram(
      "sluice_commit_seconds",
      "Time of one commit: changelogs, outputs and offsets (one transaction under exactly-once)",
      m.commit_time);
  out.histogram("sluice_store_write_seconds",
                "Time the stores took to apply one commit's writes (part of sluice_commit_seconds; "
                "longer at a write-back flush)",
                m.store_write_time);
  out.histogram("sluice_rebalance_seconds",
                "Time handling one assignment or revocation (commit, open or close)",
                m.rebalance_time);
  if (sources.tasks != nullptr) add_task_gauges(out, *sources.tasks);
  if (sources.tasks != nullptr && sources.consumer != nullptr) {
    add_lag(out, *sources.tasks, *sources.consumer, sources.read_committed);
  }
  if (sources.producer != nullptr) {
    auto statistics = sources.producer->statistics();
    for (const auto* other : sources.other_producers) statistics += other->statistics();
    add_producer(out, statistics);
  }
  if (sources.memory != nullptr) add_memory(out, *sources.memory);
}

}  // namespace

exposition::exposition() : families_(std::make_unique<families>()) {}
exposition::~exposition() = default;
void exposition::add(const metrics_sources& app) {
  add_app(*families_, app);
}
std::string exposition::text() const {
  return families_->text();
}

std::string prometheus_text(const std::vector<metrics_sources>& apps) {
  exposition out;
  for (const auto& sources : apps) out.add(sources);
  return out.text();
}

}  // namespace sluice::runtime
