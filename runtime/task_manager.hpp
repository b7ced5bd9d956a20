#pragma once

// task_manager: the app's tasks and their states (Kafka Streams' TaskManager).
//
//   assigned ──open()──▶ restoring ──(stores caught up)──▶ running ──close()──▶ closed
//                          │ input partitions paused            │ records processed
//                          └────────── close() ─────────────────┴─ abort_all(): rewound
//
// A task opens when its partition is assigned: its RocksDB database is opened, its committed
// input offsets are resolved (waiting, through the consumer's require_stable lookup, for a
// previous owner's open transaction to be decided), its input partitions are paused and its
// stores go to the changelog reader. The loop calls restore() between records; a task whose
// stores have caught up builds its processor and its partitions resume. Other tasks process
// meanwhile. Closing keeps the database on disk (flushed when clean), so a task that comes back
// restores nothing or little.
//
// One thread: the stream loop's. Every method is called from the loop only, never from a
// consumer callback (rebalance_handoff turns those into events the loop handles).

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "operators/function_registry.hpp"
#include "operators/topology.hpp"
#include "runtime/changelog_restorer.hpp"
#include "runtime/client_ports.hpp"
#include "runtime/standby_tasks.hpp"
#include "runtime/task.hpp"
#include "state/rocksdb/memory_budget.hpp"

namespace sluice::kafka {
class consumer;
}

namespace sluice::runtime {

namespace asio = boost::asio;

struct runtime_metrics;

class task_manager {
 public:
  task_manager(const operators::topology& topology, const operators::topology_plan& plan,
               const operators::function_registry& registry, std::filesystem::path app_dir,
               std::shared_ptr<state::rocksdb::memory_budget> memory, input_port& consumer,
               kafka::consumer& restore_consumer, runtime_metrics& metrics);
  // Standby and warm-up tasks read their changelogs with `standby_consumer` (the runtime's task
  // assignor is in use), and tables restored from their own topic up to the offsets `committed`
  // looks up; before the first join, so that the first report holds them, the application's
  // directory is scanned for local state.
  void enable_standbys(kafka::consumer& standby_consumer,
                       standby_tasks::committed_offsets_lookup committed);
  standby_tasks* standbys() { return standbys_.get(); }
  const standby_tasks* standbys() const { return standbys_.get(); }
  ~task_manager();
  task_manager(const task_manager&) = delete;
  task_manager& operator=(const task_manager&) = delete;

  // Input topic -> the sub-topology reading it.
  static std::map<std::string, int, std::less<>> sub_topologies_by_topic(
      const operators::topology_plan& plan);
  // The input topics, one per sub-topology source.
  std::vector<std::string> input_topics() const;
  std::set<task_id> task_ids_of(const std::vector<kafka::topic_partition>& partitions) const;
  // The open tasks (restoring or running).
  std::set<task_id> active_ids() const;

  // Opens the tasks of newly assigned partitions, in the restoring state.
  asio::awaitable<void> open(std::vector<kafka::topic_partition> assigned);
  // Reads and applies restore data for up to `timeout`; tasks that caught up start running.
  asio::awaitable<void> restore(std::chrono::milliseconds timeout);
  bool restoring() const { return !reader_.idle() || !unprepared_.empty(); }

  // Closes the tasks. Clean: their state is flushed. Not clean: their uncommitted writes are
  // dropped first.
  void close(const std::set<task_id>& ids, bool clean);
  void close_all(bool clean);

  // The running task for a fetched record, or nullptr (not ours, or still restoring).
  task* running_task_for(std::string_view topic, std::int32_t partition);
  // Every task, in task id order.
  std::map<task_id, std::unique_ptr<task>>& tasks() { return tasks_; }
  const std::map<task_id, std::unique_ptr<task>>& tasks() const { return tasks_; }
  // Next offset to read per input partition, over the running tasks' processed records.
  std::map<kafka::topic_partition, std::int64_t> consumed_offsets() const;
  // After an aborted commit: every running task drops its uncommitted store writes and its
  // processor; returns its input partitions, which must be rewound to their committed offsets.
  std::vector<kafka::topic_partition> abort_all();
  // The restore progress of every store still restoring.
  std::vector<changelog_reader::store_progress_view> restore_progress() const {
    return reader_.progress();
  }

 private:
  static constexpr std::chrono::milliseconds prepare_retry_backoff{500};

  std::vector<kafka::topic_partition> inputs_of(const task_id& id) const;
  // Resolves the committed offsets and registers the stores of the tasks not registered yet;
  // a retriable failure (a broker down) leaves a task for the next try.
  asio::awaitable<void> prepare_restores();
  [[noreturn]] void throw_restore_failure(const std::exception& e) const;
  void update_gauge();
  // Before a task's processor goes: its counts join the metrics' totals of dropped processors.
  void keep_operator_counts(task& t);

  const operators::topology& topology_;
  const operators::topology_plan& plan_;
  const operators::function_registry& registry_;
  std::filesystem::path app_dir_;
  std::shared_ptr<state::rocksdb::memory_budget> memory_;
  input_port& consumer_;
  runtime_metrics& metrics_;
  std::map<std::string, int, std::less<>> sub_topology_of_;  // input topic -> sub-topology
  changelog_reader reader_;
  std::unique_ptr<standby_tasks> standbys_;
  std::map<task_id, std::unique_ptr<task>> tasks_;
  std::set<task_id> unprepared_;  // restoring, but not registered with the reader yet
  std::chrono::steady_clock::time_point next_prepare_{};
};

}  // namespace sluice::runtime
