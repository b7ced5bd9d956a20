#include "runtime/standby_tasks.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "kafka/protocol/error_code.hpp"

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

standby_tasks::standby_tasks(const operators::topology& topology,
                             const operators::topology_plan& plan,
                             const operators::function_registry& registry,
                             std::filesystem::path app_dir,
                             std::shared_ptr<state::rocksdb::memory_budget> memory,
                             kafka::consumer& changelog_consumer)
    : topology_(topology),
      plan_(plan),
      registry_(registry),
      app_dir_(std::move(app_dir)),
      memory_(std::move(memory)),
      reader_(changelog_consumer, topology.name + " standby", {},
              changelog_reader::reading_mode::follow) {}

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
    // Nothing to keep warm: no store, or only tables restored from their own topic (below).
    if (std::none_of(sub.stores.begin(), sub.stores.end(),
                     [](const operators::store_plan& store) { return store.changelogged(); }))
      continue;
    on_disk_.erase(id);
    unused_since_.erase(id);
    auto t = open_task(id, sub, app_dir_, topology_.name, memory_, registry_);
    std::vector<restore_target> targets;
    for (auto& entry : t->stores()) {
      // A table restored from its own topic is not followed: that topic runs ahead of what the
      // active task committed, and a standby's store must never hold a row the active task's
      // committed position does not (its takeover would join records processed again with
      // rows from after them). It stays at its offset; the takeover restores the gap up to the
      // committed offset (Kafka Streams' standbys stop at the committed offset too).
      if (!entry.from_source()) targets.push_back({&entry.store->store(), entry.changelog});
    }
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
    co_await reader_.poll(std::chrono::milliseconds(0));
  } catch (const kafka::kafka_error& e) {
    if (!e.retriable()) throw;
    retry_reason = e.what();
  }
  if (!retry_reason.empty())
    spdlog::warn("{}: standby update failed, retrying: {}", topology_.name, retry_reason);
}

std::unique_ptr<task> standby_tasks::take(const task_id& id) {
  auto found = tasks_.find(id);
  if (found == tasks_.end()) return nullptr;
  reader_.remove(id.to_string());
  auto t = std::move(found->second);
  tasks_.erase(found);
  spdlog::info("{}: task {}: standby becomes active at offset sum {}", topology_.name,
               id.to_string(), t->offset_sum());
  return t;
}

std::optional<std::int64_t> standby_tasks::lag(const task_id& id) const {
  return reader_.lag(id.to_string());
}

void standby_tasks::close(const task_id& id) {
  auto found = tasks_.find(id);
  if (found == tasks_.end()) return;
  reader_.remove(id.to_string());
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
