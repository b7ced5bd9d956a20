#include "runtime/task.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace sluice::runtime {

std::string task_id::to_string() const {
  return std::to_string(sub_topology) + "_" + std::to_string(partition);
}

// The operators ask for stores by plan; the task opened them all up front (so that they could be
// restored before the processor reads them) and hands out the changelogged ones.
class task::provider final : public operators::store_provider {
 public:
  state::kv_store& kv_store(const operators::store_plan& plan) override {
    return find<state::kv_store>(plan);
  }
  state::window_store& window_store(const operators::store_plan& plan) override {
    return find<state::window_store>(plan);
  }
  state::session_store& session_store(const operators::store_plan& plan) override {
    return find<state::session_store>(plan);
  }

  std::map<std::string, std::unique_ptr<changelogged_store>> stores;

 private:
  template <typename Store>
  Store& find(const operators::store_plan& plan) {
    auto it = stores.find(plan.name);
    auto* typed = it == stores.end() ? nullptr : dynamic_cast<Store*>(it->second.get());
    if (!typed) {
      throw std::logic_error("task: the operators asked for store '" + plan.name + "' of kind " +
                             std::string(operators::to_string(plan.kind)) +
                             ", which the plan does not have");
    }
    return *typed;
  }
};

namespace {

std::vector<kafka::topic_partition> inputs_of(const operators::sub_topology& plan,
                                              std::int32_t partition) {
  std::vector<kafka::topic_partition> inputs;
  for (const auto& source : plan.sources) {
    for (const auto& topic : source.topics) inputs.push_back({topic, partition});
  }
  return inputs;
}

}  // namespace

std::unique_ptr<task> open_task(task_id id, const operators::sub_topology& plan,
                                const std::filesystem::path& app_dir,
                                const std::string& application,
                                std::shared_ptr<state::rocksdb::memory_budget> memory,
                                const operators::function_registry& registry) {
  auto database = state::rocksdb::task_database::open(
      {app_dir / id.to_string(), application, id.to_string(), std::move(memory)});
  if (database.result().outcome == state::rocksdb::open_outcome::wiped) {
    spdlog::warn(
        "{}: task {}: state directory was wiped ({}); restoring it fully from the changelogs",
        application, id.to_string(), database.result().reason);
  }
  return std::make_unique<task>(id, plan, std::move(database), registry);
}

std::int64_t task::offset_sum() const {
  std::int64_t sum = 0;
  for (const auto& entry : stores_) {
    if (auto committed = entry.store->store().committed_offset()) sum += committed->value;
  }
  return sum;
}

task::task(task_id id, const operators::sub_topology& plan, state::rocksdb::task_database database,
           const operators::function_registry& registry)
    : id_(id),
      plan_(plan),
      registry_(registry),
      database_(std::move(database)),
      provider_(std::make_unique<provider>()),
      input_(inputs_of(plan, id.partition)) {
  for (const auto& store_plan : plan_.stores) {
    std::unique_ptr<changelogged_store> store;
    switch (store_plan.kind) {
      case operators::store_kind::key_value:
        store = std::make_unique<changelogged_kv_store>(database_.open_kv_store(store_plan.name));
        break;
      case operators::store_kind::window:
        store = std::make_unique<changelogged_window_store>(database_.open_window_store(
            store_plan.name, state::window_store_options{store_plan.retention}));
        break;
      case operators::store_kind::session:
        store = std::make_unique<changelogged_session_store>(database_.open_session_store(
            store_plan.name, state::session_store_options{store_plan.retention}));
        break;
    }
    const auto& topic =
        store_plan.changelogged() ? store_plan.changelog_topic : store_plan.source_topic;
    stores_.push_back({store_plan, store.get(), {topic, id_.partition}});
    provider_->stores.emplace(store_plan.name, std::move(store));
  }
}

task::~task() = default;

void task::start_processing() {
  processor_ = std::make_unique<operators::sub_topology_processor>(plan_, *provider_, registry_);
}

void task::flush() {
  for (auto& entry : stores_) entry.store->store().flush_committed();  // write-back buffers
  database_.flush();
}

void task::abort_stores() {
  processor_.reset();
  consumed_.clear();  // the rewind reprocesses from the committed offsets
  input_.clear();
  for (auto& entry : stores_) entry.store->store().abort();
}

}  // namespace sluice::runtime
