#include "operators/store_provider.hpp"

#include "state/in_memory_stores.hpp"

namespace sluice::operators {

state::kv_store& in_memory_store_provider::kv_store(const store_plan& plan) {
  auto& slot = kv_[plan.name];
  if (!slot) {
    slot = state::make_in_memory_kv_store(plan.name);
  }
  return *slot;
}

state::window_store& in_memory_store_provider::window_store(const store_plan& plan) {
  auto& slot = windows_[plan.name];
  if (!slot) {
    slot = state::make_in_memory_window_store(plan.name,
                                              state::window_store_options{plan.retention, {}});
  }
  return *slot;
}

state::session_store& in_memory_store_provider::session_store(const store_plan& plan) {
  auto& slot = sessions_[plan.name];
  if (!slot) {
    slot = state::make_in_memory_session_store(plan.name,
                                               state::session_store_options{plan.retention, {}});
  }
  return *slot;
}

void in_memory_store_provider::commit_all(state::changelog_offset next_offset) {
  for (auto& [name, store] : kv_) {
    store->commit(next_offset);
  }
  for (auto& [name, store] : windows_) {
    store->commit(next_offset);
  }
  for (auto& [name, store] : sessions_) {
    store->commit(next_offset);
  }
}

void in_memory_store_provider::abort_all() {
  for (auto& [name, store] : kv_) {
    store->abort();
  }
  for (auto& [name, store] : windows_) {
    store->abort();
  }
  for (auto& [name, store] : sessions_) {
    store->abort();
  }
}

}  // namespace sluice::operators
