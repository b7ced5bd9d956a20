#include "runtime/task_manager.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "kafka/protocol/error_code.hpp"
#include "runtime/runtime_metrics.hpp"
#include "runtime/source_table_target.hpp"

namespace sluice::runtime {

namespace {

// What the reader restores a task's stores from, and up to where (see restore_target).
std::vector<restore_target> restore_targets(
    task& t,
    const std::map<kafka::topic_partition, std::optional<kafka::offset_and_metadata>>& committed) {
  std::vector<restore_target> targets;
  for (auto& entry : t.stores()) {
    if (entry.from_source()) {
      // A table restored from its own topic: up to where the task's processing resumes (the
      // group's committed offset), never past it; without one, processing starts from the
      // reset position and applies the table's records itself.
      auto found = committed.find(entry.changelog);
      const std::int64_t end =
          found != committed.end() && found->second ? found->second->offset : 0;
      targets.push_back(source_table_target(t, entry, end));
      continue;
    }
    targets.push_back({&entry.store->store(), entry.changelog, {}, {}});
  }
  return targets;
}

}  // namespace

task_manager::task_manager(const operators::topology& topology,
                           const operators::topology_plan& plan,
                           const operators::function_registry& registry,
                           std::filesystem::path app_dir,
                           std::shared_ptr<state::rocksdb::memory_budget> memory,
                           input_port& consumer, kafka::consumer& restore_consumer,
                           runtime_metrics& metrics)
    : topology_(topology),
      plan_(plan),
      registry_(registry),
      app_dir_(std::move(app_dir)),
      memory_(std::move(memory)),
      consumer_(consumer),
      metrics_(metrics),
      reader_(restore_consumer, topology.name, [&metrics](std::size_t records) {
        metrics.restored_records.fetch_add(records, std::memory_order_relaxed);
      }) {
  sub_topology_of_ = sub_topologies_by_topic(plan_);
}

std::map<std::string, int, std::less<>> task_manager::sub_topologies_by_topic(
    const operators::topology_plan& plan) {
  std::map<std::string, int, std::less<>> by_topic;
  for (const auto& sub : plan.sub_topologies) {
    for (const auto& source : sub.sources) {
      for (const auto& topic : source.topics) by_topic[topic] = sub.id;
    }
  }
  return by_topic;
}

task_manager::~task_manager() = default;

void task_manager::enable_standbys(kafka::consumer& standby_consumer,
                                   standby_tasks::committed_offsets_lookup committed) {
  standbys_ = std::make_unique<standby_tasks>(
      topology_, plan_, registry_, app_dir_, memory_, standby_consumer, std::move(committed),
      [&metrics = metrics_](std::size_t records) {
        metrics.standby_records.fetch_add(records, std::memory_order_relaxed);
      });
  standbys_->scan_local_state(active_ids());
}

std::vector<std::string> task_manager::input_topics() const {
  std::vector<std::string> topics;
  for (const auto& [topic, sub] : sub_topology_of_) topics.push_back(topic);
  return topics;
}

std::set<task_id> task_manager::task_ids_of(
    const std::vector<kafka::topic_partition>& partitions) const {
  std::set<task_id> ids;
  for (const auto& input : partitions) {
    auto sub = sub_topology_of_.find(input.topic);
    if (sub != sub_topology_of_.end()) ids.insert({sub->second, input.partition});
  }
  return ids;
}

std::set<task_id> task_manager::active_ids() const {
  std::set<task_id> ids;
  for (const auto& [id, t] : tasks_) ids.insert(id);
  return ids;
}

std::vector<kafka::topic_partition> task_manager::inputs_of(const task_id& id) const {
  std::vector<kafka::topic_partition> inputs;
  for (const auto& [topic, sub] : sub_topology_of_) {
    if (sub == id.sub_topology) inputs.push_back({topic, id.partition});
  }
  return inputs;
}

asio::awaitable<void> task_manager::open(std::vector<kafka::topic_partition> assigned) {
  const auto assignment = consumer_.assignment();
  for (const auto& id : task_ids_of(assigned)) {
    if (tasks_.contains(id)) continue;
    // A standby of it has its stores open and nearly current: only the gap is restored.
    auto t = standbys_ ? standbys_->take(id) : nullptr;
    if (!t) {
      const auto& sub = plan_.sub_topologies.at(static_cast<std::size_t>(id.sub_topology));
      t = open_task(id, sub, app_dir_, topology_.name, memory_, registry_);
    }
    std::vector<kafka::topic_partition> inputs;
    for (const auto& input : inputs_of(id)) {
      if (assignment.contains(input)) inputs.push_back(input);
    }
    // No record of the task's partitions reaches it before its stores have caught up.
    consumer_.pause(inputs);
    tasks_.emplace(id, std::move(t));
    unprepared_.insert(id);
  }
  co_await prepare_restores();
  update_gauge();
}

asio::awaitable<void> task_manager::prepare_restores() {
  for (auto it = unprepared_.begin(); it != unprepared_.end();) {
    const auto id = *it;
    auto& t = *tasks_.at(id);
    std::vector<kafka::topic_partition> inputs = inputs_of(id);
    std::string retry_reason;
    try {
      // The committed offsets first: the lookup waits until a previous owner's open transaction
      // is decided (require_stable), so the changelogs' high watermarks the reader looks up next
      // lie past every change those offsets cover (whose commit markers may still be on their
      // way: the reader waits for them, see changelog_restorer.hpp).
      const auto committed = co_await consumer_.committed(inputs);
      co_await reader_.add(id.to_string(), restore_targets(t, committed));
    } catch (const kafka::kafka_error& e) {
      if (!e.retriable()) throw;
      retry_reason = e.what();  // a broker down or moving: try again on a later loop turn
    }
    if (!retry_reason.empty()) {
      spdlog::warn("{}: task {}: looking up where to restore from failed, retrying: {}",
                   topology_.name, id.to_string(), retry_reason);
      ++it;
      continue;
    }
    it = unprepared_.erase(it);
  }
}

asio::awaitable<void> task_manager::restore(std::chrono::milliseconds timeout) {
  if (!unprepared_.empty() && std::chrono::steady_clock::now() >= next_prepare_) {
    co_await prepare_restores();
    next_prepare_ = std::chrono::steady_clock::now() + prepare_retry_backoff;
  }
  if (reader_.idle()) co_return;
  std::vector<changelog_reader::finished> finished;
  std::string retry_reason;
  try {
    finished = co_await reader_.poll(timeout);
  } catch (const kafka::kafka_error& e) {
    if (!e.retriable()) throw_restore_failure(e);
    retry_reason = e.what();  // what was applied stays applied; the next turn reads on
  } catch (const std::exception& e) {
    throw_restore_failure(e);
  }
  if (!retry_reason.empty()) {
    spdlog::warn("{}: restoring failed, retrying: {}", topology_.name, retry_reason);
    co_return;
  }

  for (const auto& done : finished) {
    for (auto& [id, t] : tasks_) {
      if (id.to_string() != done.owner) continue;
      t->start_processing();
      std::uint64_t records = 0;
      double seconds = 0;
      for (const auto& store : done.stores) {
        records += store.records;
        seconds = std::max(seconds, store.elapsed.count());
      }
      const auto assignment = consumer_.assignment();
      std::vector<kafka::topic_partition> inputs;
      for (const auto& input : inputs_of(id)) {
        if (assignment.contains(input)) inputs.push_back(input);
      }
      consumer_.resume(inputs);
      spdlog::info("{}: task {} running (restored {} records in {:.2f} s)", topology_.name,
                   id.to_string(), records, seconds);
    }
  }
  update_gauge();
}

void task_manager::throw_restore_failure(const std::exception& e) const {
  // Not retriable (a changelog deleted, no authorisation): the app stops, saying which tasks.
  std::string restoring;
  for (const auto& [id, t] : tasks_) {
    if (reader_.restoring(id.to_string()))
      restoring += (restoring.empty() ? "" : ", ") + id.to_string();
  }
  throw std::runtime_error("pipeline '" + topology_.name + "': restoring the stores of task(s) " +
                           restoring + " from their changelogs failed: " + e.what());
}

void task_manager::close(const std::set<task_id>& ids, bool clean) {
  for (const auto& id : ids) {
    auto it = tasks_.find(id);
    if (it == tasks_.end()) continue;
    reader_.remove(id.to_string());
    unprepared_.erase(id);
    keep_operator_counts(*it->second);
    if (clean) {
      it->second->flush();
    } else {
      it->second->abort_stores();
    }
    if (standbys_) standbys_->remember_on_disk(id, it->second->offset_sum());
    tasks_.erase(it);
    spdlog::info("{}: task {} closed{}", topology_.name, id.to_string(),
                 clean ? "" : " (lost: uncommitted work dropped)");
  }
  update_gauge();
}

void task_manager::close_all(bool clean) {
  close(active_ids(), clean);
}

task* task_manager::running_task_for(std::string_view topic, std::int32_t partition) {
  auto sub = sub_topology_of_.find(topic);
  if (sub == sub_topology_of_.end()) return nullptr;
  auto it = tasks_.find({sub->second, partition});
  if (it == tasks_.end() || !it->second->processing()) return nullptr;
  return it->second.get();
}

std::map<kafka::topic_partition, std::int64_t> task_manager::consumed_offsets() const {
  std::map<kafka::topic_partition, std::int64_t> offsets;
  for (const auto& [id, t] : tasks_) offsets.insert(t->consumed().begin(), t->consumed().end());
  return offsets;
}

std::vector<kafka::topic_partition> task_manager::abort_all() {
  std::vector<kafka::topic_partition> inputs;
  for (auto& [id, t] : tasks_) {
    if (!t->processing()) continue;  // still restoring: it processed nothing
    // Every input, not only those with processed records: fetched records not processed yet
    // moved the consumer's position too.
    for (auto& input : inputs_of(id)) inputs.push_back(std::move(input));
    keep_operator_counts(*t);
    t->abort_stores();
    t->start_processing();
  }
  return inputs;
}

void task_manager::keep_operator_counts(task& t) {
  if (t.processing()) metrics_.dropped_processors += t.processor().metrics().snapshot();
}

void task_manager::update_gauge() {
  std::uint64_t restoring = 0;
  for (const auto& [id, t] : tasks_) restoring += t->processing() ? 0 : 1;
  metrics_.assigned_tasks.store(tasks_.size() - restoring, std::memory_order_relaxed);
  metrics_.restoring_tasks.store(restoring, std::memory_order_relaxed);
}

}  // namespace sluice::runtime
