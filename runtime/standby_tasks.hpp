#pragma once

// standby_tasks: copies of other members' tasks kept up to date from their changelogs (Kafka
// Streams' standby tasks), so that a task moving here after its owner died restores only the
// last few changes instead of its whole state.
//
// A standby is a task that never processes: its RocksDB database and stores are opened as for an
// active task, and a changelog_reader in follow mode applies every committed changelog batch
// with the offset it reached, in one atomic write as a restore does. So when the task becomes
// active here (task_manager::open takes it over), its stores' committed offsets are where the
// standby got to and the restore reads only the rest. It reads with its own read_committed
// consumer, so that standby traffic never delays an active task's restore.
//
// A table restored from its own topic has no changelog: its standby reads the table's topic, up to
// the group's committed offset of the partition and never past it (standby_limits says why; the
// limits are looked up with `committed`, an OffsetFetch that does not wait for open transactions,
// every commit interval of the topology). Its offset in the offset sum is then at most the
// committed one the active task's store records, so the assignor compares like with like.
//
// The same class knows which tasks have state in this application's directory without being
// open (left by an earlier process or an earlier assignment): the assignor is told their offset
// sums, so that a task goes back to where its state is.
//
// One thread: the stream loop's (the assignor reads report() from the consumer's coroutines,
// which run on the same executor).

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "operators/function_registry.hpp"
#include "operators/topology.hpp"
#include "runtime/changelog_restorer.hpp"
#include "runtime/standby_limits.hpp"
#include "runtime/task.hpp"
#include "runtime/task_assignment.hpp"
#include "state/rocksdb/memory_budget.hpp"

namespace sluice::kafka {
class consumer;
}

namespace sluice::runtime {

class standby_tasks {
 public:
  // The group's committed offsets of these input partitions: each it got an answer for, 0 where
  // nothing is committed (the active task then starts from the log's beginning, with an empty
  // table). Throws kafka_error.
  using committed_offsets_lookup =
      std::function<asio::awaitable<std::map<kafka::topic_partition, std::int64_t>>(
          std::vector<kafka::topic_partition>)>;

  // `changelog_consumer`: a group-less read_committed consumer of its own
  // (restore_consumer_config). `on_applied` (optional) gets the size of each batch applied.
  standby_tasks(const operators::topology& topology, const operators::topology_plan& plan,
                const operators::function_registry& registry, std::filesystem::path app_dir,
                std::shared_ptr<state::rocksdb::memory_budget> memory,
                kafka::consumer& changelog_consumer, committed_offsets_lookup committed,
                std::function<void(std::size_t)> on_applied = {});
  ~standby_tasks();
  standby_tasks(const standby_tasks&) = delete;
  standby_tasks& operator=(const standby_tasks&) = delete;

  // Holds exactly the `wanted` standbys that are not in `active`: opens the new ones (reading
  // their changelogs from where their local state is) and closes the others, flushed.
  asio::awaitable<void> keep(std::set<task_id> wanted, const std::set<task_id>& active);
  // Applies what the changelogs brought since the last call, without waiting for more (first
  // looking the limits of tables restored from their own topic up again when that is due). A
  // broker that is away is retried on the next call.
  asio::awaitable<void> update();
  // Hands a standby over to become active (nullptr: not held here).
  std::unique_ptr<task> take(const task_id& id);
  // Offsets the standby is behind its changelogs, and its tables restored from their own topic
  // behind the group's committed offsets (nullopt: not held, or not known yet).
  std::optional<std::int64_t> lag(const task_id& id) const;
  const std::map<task_id, std::unique_ptr<task>>& tasks() const { return tasks_; }
  void close_all();

  // Scans the application's directory for task databases not open now and remembers their offset
  // sums (the start of a process; cheap: RocksDB opens and closes each once).
  void scan_local_state(const std::set<task_id>& open);
  // A task closed here left its state on disk at this offset sum.
  void remember_on_disk(const task_id& id, std::int64_t offset_sum);
  // Deletes the directories of tasks that have been neither active nor standby here for
  // `unused_for` (Kafka Streams' state.cleanup.delay.ms): a task that moved away for good does not
  // keep its disk forever; one that comes back sooner still finds its state. `open` are the
  // active tasks (never touched). Returns how many it deleted.
  std::size_t delete_unused_state(std::chrono::steady_clock::duration unused_for,
                                  const std::set<task_id>& open);
  // What this member reports to the assignor: standbys held, and the offset sum of every task
  // with local state (active ones from `active`).
  member_task_report report(std::string process,
                            const std::map<task_id, std::unique_ptr<task>>& active) const;

 private:
  void close(const task_id& id);
  asio::awaitable<void> refresh_limits();
  // The input partitions the task's tables restored from their own topic are read from.
  static std::vector<kafka::topic_partition> source_partitions(const task& t);

  const operators::topology& topology_;
  const operators::topology_plan& plan_;
  const operators::function_registry& registry_;
  std::filesystem::path app_dir_;
  std::shared_ptr<state::rocksdb::memory_budget> memory_;
  changelog_reader reader_;
  committed_offsets_lookup committed_;
  standby_limits limits_;
  std::map<task_id, std::unique_ptr<task>> tasks_;
  std::map<task_id, std::int64_t> on_disk_;  // offset sums of tasks with state but not open
  std::map<task_id, std::chrono::steady_clock::time_point> unused_since_;  // of the on_disk_ ones
};

}  // namespace sluice::runtime
