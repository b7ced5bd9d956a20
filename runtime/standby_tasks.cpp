#include "runtime/standby_tasks.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "kafka/protocol/error_code.hpp"
#include "runtime/source_table_target.hpp"

namespace sluice::runtime {
namespace {

// "0_3" -> {0, 3}; nullopt for any other name.
std::optional<task_id> parse_task_directory(const std::string& name) {
  const auto separator = name.find('_');
  if (separator == std::string::npos) return std::nullopt;
  task_id id;
  const auto* end = name.data() + name.size();
  auto [sub_end, sub_error] =
      std::from_chars(name.data(), name.data() + separator, id.sub_topology);
  if (sub_error != std::errc{} || sub_end != name.data() + separator) return std::nullopt;
  auto [part_end, part_error] = std::from_chars(name.data() + separator + 1, end, id.partition);
  if (part_error != std::errc{} || part_end != end) return std::nullopt;
  return id;
}

}  // namespace

standby_tasks::standby_tasks(
    const operators::topology& topology, const operators::topology_plan& plan,
    const operators::function_registry& registry, std::filesystem::path app_dir,
    std::shared_ptr<state::rocksdb::memory_budget> memory, kafka::consumer& changelog_consumer,
    committed_offsets_lookup committed, std::function<void(std::size_t)> on_applied)
    : topology_(topology),
      plan_(plan),
      registry_(registry),
      app_dir_(std::move(app_dir)),
      memory_(std::move(memory)),
      reader_(changelog_consumer, topology.name + " standby", std::move(on_applied),
              changelog_reader::reading_mode::follow),
      committed_(std::move(committed)),
      limits_(topology.effective_commit_interval()) {}

standby_tasks::~standby_tasks() = default;

asio::awaitable<void> standby_tasks::keep(std::set<task_id> wanted,
                                          const std::set<task_id>& active) {
  for (const auto& id : active) wanted.erase(id);
  std::vector<task_id> unwanted;
  for (const auto& [id, t] : tasks_) {
    if (!wanted.contains(id)) unwanted.push_back(id);
  }
  for (const auto& id : unwanted) close(id);
  for (const auto& id : wanted) {
    if (tasks_.contains(id)) continue;
    if (static_cast<std::size_t>(id.sub_topology) >= plan_.sub_topologies.size()) continue;
    const auto& sub = plan_.sub_topologies.at(static_cast<std::size_t>(id.sub_topology));
    if (sub.stores.empty()) continue;  // nothing to keep warm
    on_disk_.erase(id);
    unused_since_.erase(id);
    auto t = open_task(id, sub, app_dir_, topology_.name, memory_, registry_);
    std::vector<restore_target> targets;
    for (auto& entry : t->stores()) {
      if (entry.from_source()) {
        // A table restored from its own topic: read nothing until the group's committed offset
        // is known (the next update() looks it up), then up to it.
        const auto at = entry.store->store().committed_offset();
        targets.push_back(source_table_target(*t, entry, at ? at->value : 0));
      } else {
        targets.push_back({&entry.store->store(), entry.changelog});
      }
    }
    limits_.track(source_partitions(*t));
    auto& held = *tasks_.emplace(id, std::move(t)).first->second;
    spdlog::info("{}: task {}: standby from offset sum {}", topology_.name, id.to_string(),
                 held.offset_sum());
    co_await reader_.add(id.to_string(), std::move(targets));
  }
}

asio::awaitable<void> standby_tasks::update() {
  if (tasks_.empty()) co_return;
  std::string retry_reason;
  try {
    if (limits_.due(std::chrono::steady_clock::now())) co_await refresh_limits();
    co_await reader_.poll(std::chrono::milliseconds(0));
  } catch (const kafka::kafka_error& e) {
    if (!e.retriable()) throw;
    retry_reason = e.what();
  }
  if (!retry_reason.empty())
    spdlog::warn("{}: standby update failed, retrying: {}", topology_.name, retry_reason);
}

asio::awaitable<void> standby_tasks::refresh_limits() {
  const auto now = std::chrono::steady_clock::now();
  std::map<kafka::topic_partition, std::int64_t> committed;
  std::string retry_reason;
  try {
    committed = co_await committed_(limits_.begin_refresh(now));
  } catch (const kafka::kafka_error& e) {
    if (!e.retriable()) throw;
    retry_reason = e.what();
  }
  if (!retry_reason.empty()) {
    limits_.refresh_failed(now);
    spdlog::warn(
        "{}: looking up the committed offsets standbys read up to failed, retrying in {} s: {}",
        topology_.name, standby_limits::failure_backoff.count(), retry_reason);
    co_return;
  }
  for (const auto& [partition, limit] : limits_.update(committed))
    reader_.set_limit(partition, limit);
}

std::vector<kafka::topic_partition> standby_tasks::source_partitions(const task& t) {
  std::vector<kafka::topic_partition> partitions;
  for (const auto& entry : t.stores()) {
    if (entry.from_source()) partitions.push_back(entry.changelog);
  }
  return partitions;
}

std::unique_ptr<task> standby_tasks::take(const task_id& id) {
  auto found = tasks_.find(id);
  if (found == tasks_.end()) return nullptr;
  reader_.remove(id.to_string());
  limits_.forget(source_partitions(*found->second));
  auto t = std::move(found->second);
  tasks_.erase(found);
  spdlog::info("{}: task {}: standby becomes active at offset sum {}", topology_.name,
               id.to_string(), t->offset_sum());
  return t;
}

std::optional<std::int64_t> standby_tasks::lag(const task_id& id) const {
  auto found = tasks_.find(id);
  if (found == tasks_.end()) return std::nullopt;
  // Until the committed offset is looked up, how far behind it the table is is not known.
  for (const auto& partition : source_partitions(*found->second)) {
    if (!limits_.limit(partition)) return std::nullopt;
  }
  return reader_.lag(id.to_string());
}

void standby_tasks::close(const task_id& id) {
  auto found = tasks_.find(id);
  if (found == tasks_.end()) return;
  reader_.remove(id.to_string());
  limits_.forget(source_partitions(*found->second));
  found->second->flush();
  on_disk_[id] = found->second->offset_sum();
  unused_since_[id] = std::chrono::steady_clock::now();
  tasks_.erase(found);
  spdlog::info("{}: task {}: standby closed", topology_.name, id.to_string());
}

void standby_tasks::close_all() {
  while (!tasks_.empty()) close(tasks_.begin()->first);
}

void standby_tasks::scan_local_state(const std::set<task_id>& open) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(app_dir_, error)) {
    if (!entry.is_directory()) continue;
    auto id = parse_task_directory(entry.path().filename().string());
    if (!id || open.contains(*id) || tasks_.contains(*id)) continue;
    if (static_cast<std::size_t>(id->sub_topology) >= plan_.sub_topologies.size()) continue;
    const auto& sub = plan_.sub_topologies.at(static_cast<std::size_t>(id->sub_topology));
    if (sub.stores.empty()) continue;
    try {
      auto t = open_task(*id, sub, app_dir_, topology_.name, memory_, registry_);
      if (const auto sum = t->offset_sum(); sum > 0) on_disk_[*id] = sum;
      unused_since_[*id] = std::chrono::steady_clock::now();
    } catch (const std::exception& e) {
      // Not fatal: the task is then reported as having no state, and restores fully if it comes.
      spdlog::warn("{}: task {}: its local state could not be read ({}); reported as none",
                   topology_.name, id->to_string(), e.what());
    }
  }
}

void standby_tasks::remember_on_disk(const task_id& id, std::int64_t offset_sum) {
  if (offset_sum > 0) on_disk_[id] = offset_sum;
  unused_since_[id] = std::chrono::steady_clock::now();
}

std::size_t standby_tasks::delete_unused_state(std::chrono::steady_clock::duration unused_for,
                                               const std::set<task_id>& open) {
  const auto now = std::chrono::steady_clock::now();
  std::size_t deleted = 0;
  for (auto it = unused_since_.begin(); it != unused_since_.end();) {
    const auto id = it->first;
    if (open.contains(id) || tasks_.contains(id)) {
      it = unused_since_.erase(it);  // in use again
      continue;
    }
    if (now - it->second < unused_for) {
      ++it;
      continue;
    }
    std::error_code error;
    std::filesystem::remove_all(app_dir_ / id.to_string(), error);
    if (error) {
      spdlog::warn("{}: task {}: deleting its unused local state failed: {}", topology_.name,
                   id.to_string(), error.message());
    } else {
      spdlog::info("{}: task {}: local state deleted, unused here for {} s", topology_.name,
                   id.to_string(),
                   std::chrono::duration_cast<std::chrono::seconds>(unused_for).count());
      ++deleted;
    }
    on_disk_.erase(id);
    it = unused_since_.erase(it);
  }
  return deleted;
}

member_task_report standby_tasks::report(
    std::string process, const std::map<task_id, std::unique_ptr<task>>& active) const {
  member_task_report out;
  out.process = std::move(process);
  out.offset_sums = on_disk_;
  for (const auto& [id, t] : tasks_) {
    out.standbys.insert(id);
    out.offset_sums[id] = t->offset_sum();
  }
  for (const auto& [id, t] : active) {
    if (const auto sum = t->offset_sum(); sum > 0) out.offset_sums[id] = sum;
  }
  return out;
}

}  // namespace sluice::runtime
