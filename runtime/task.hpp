#pragma once

// task: one input partition of one sub-topology (Kafka Streams' StreamTask). It owns that
// partition's RocksDB database, its stores (wrapped in changelogging decorators) and the
// operators' processor, and it tracks the input offsets it has processed.
//
// Life of a task: opened when the consumer group assigns its partition; its stores are restored
// from their changelogs (task_manager and its changelog_reader do that, only the gap since each
// store's recorded offset) before `start_processing()` builds the processor, because the windowed
// aggregation reads its stream time from its meta store when it is built. Closed when the partition
// is revoked or lost; the database stays on disk, so a task that comes back restores nothing or
// little.
//
// One thread: the stream_app's.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/client/topic_partition.hpp"
#include "operators/function_registry.hpp"
#include "operators/store_provider.hpp"
#include "operators/sub_topology_processor.hpp"
#include "operators/topology.hpp"
#include "runtime/changelogged_stores.hpp"
#include "runtime/task_id.hpp"
#include "runtime/task_input.hpp"
#include "state/rocksdb/task_database.hpp"

namespace sluice::runtime {

// A store of the task, as the restore and commit paths see it.
struct task_store {
  operators::store_plan plan;
  changelogged_store* store = nullptr;
  // The store's changelog topic, the task's partition; for a table restored from its own topic
  // (plan.changelogged() false) that input partition, which is never written: the store commits
  // with the task's position in it instead.
  kafka::topic_partition changelog;
  bool from_source() const { return !plan.changelogged(); }
};

class task {
 public:
  // Opens every store of the plan in `database`.
  task(task_id id, const operators::sub_topology& plan, state::rocksdb::task_database database,
       const operators::function_registry& registry);
  ~task();
  task(const task&) = delete;
  task& operator=(const task&) = delete;

  const task_id& id() const { return id_; }
  const operators::sub_topology& plan() const { return plan_; }
  const state::rocksdb::open_result& database_state() const { return database_.result(); }
  std::vector<task_store>& stores() { return stores_; }
  const std::vector<task_store>& stores() const { return stores_; }

  // Builds the processor; the stores must be restored first.
  void start_processing();
  bool processing() const { return processor_ != nullptr; }
  operators::sub_topology_processor& processor() { return *processor_; }
  const operators::sub_topology_processor& processor() const { return *processor_; }

  // Several input partitions (a joined table, several source topics): records wait in input()
  // and go to the processor in timestamp order. One: they go straight to the processor.
  bool orders_input() const { return input_.partitions() > 1; }
  task_input& input() { return input_; }

  // Input offsets processed since the task started: the next offset to read per input partition.
  const std::map<kafka::topic_partition, std::int64_t>& consumed() const { return consumed_; }
  void mark_consumed(const kafka::topic_partition& input, std::int64_t next_offset) {
    mark_consumed(input.topic, input.partition, next_offset);
  }
  // Per record: a task has a few inputs, so a scan finds the entry without building a
  // topic_partition (a copy of the topic's name) for the lookup.
  void mark_consumed(std::string_view topic, std::int32_t partition, std::int64_t next_offset) {
    for (auto& [input, offset] : consumed_) {
      if (input.partition == partition && input.topic == topic) {
        offset = next_offset;
        return;
      }
    }
    consumed_[{std::string(topic), partition}] = next_offset;
  }

  // Drops the open transaction's store writes and captured changes (after an abort), the
  // processed offsets and buffered input (the input is rewound to the committed ones), and the
  // processor, which may
  // have cached state from them; start_processing() builds it again.
  void abort_stores();
  // Persists what the stores committed, so that a clean restart restores nothing.
  void flush();
  // The sum over the stores of the changelog offset each has committed (0: no state): what the
  // assignor compares between members holding a copy of this task (task_assignment.hpp).
  std::int64_t offset_sum() const;

 private:
  class provider;

  task_id id_;
  const operators::sub_topology& plan_;
  const operators::function_registry& registry_;
  state::rocksdb::task_database database_;
  std::unique_ptr<provider> provider_;
  std::vector<task_store> stores_;
  std::unique_ptr<operators::sub_topology_processor> processor_;
  std::map<kafka::topic_partition, std::int64_t> consumed_;
  task_input input_;
};

// Opens the task's RocksDB database under `app_dir` (saying so when it had to wipe a foreign or
// corrupt one) and its stores.
std::unique_ptr<task> open_task(task_id id, const operators::sub_topology& plan,
                                const std::filesystem::path& app_dir,
                                const std::string& application,
                                std::shared_ptr<state::rocksdb::memory_budget> memory,
                                const operators::function_registry& registry);

}  // namespace sluice::runtime
