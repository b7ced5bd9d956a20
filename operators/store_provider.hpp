#pragma once

// store_provider: how operators get their state stores. Operators never build stores: the
// runtime injects a provider that opens RocksDB stores with changelogs for the task, and tests
// and `sluice test` inject in_memory_store_provider. A store is identified by its store_plan
// (name, kind, retention); asking twice for the same name returns the same store.
//
// Transactions stay with the owner of the provider (the runtime's task, or the test runner): it
// commits or aborts every store at its commit points; operators only read and write.

#include <map>
#include <memory>
#include <string>

#include "operators/topology.hpp"
#include "state/kv_store.hpp"
#include "state/session_store.hpp"
#include "state/window_store.hpp"

namespace sluice::operators {

class store_provider {
 public:
  virtual ~store_provider() = default;
  virtual state::kv_store& kv_store(const store_plan& plan) = 0;
  virtual state::window_store& window_store(const store_plan& plan) = 0;
  virtual state::session_store& session_store(const store_plan& plan) = 0;
};

// In-memory stores (state/in_memory_stores.hpp), one per name. Lives as long as its stores'
// users; one task's thread.
class in_memory_store_provider final : public store_provider {
 public:
  state::kv_store& kv_store(const store_plan& plan) override;
  state::window_store& window_store(const store_plan& plan) override;
  state::session_store& session_store(const store_plan& plan) override;

  // Commits every store's buffered writes, recording `next_offset` as its changelog position.
  void commit_all(state::changelog_offset next_offset);
  void abort_all();

 private:
  std::map<std::string, std::unique_ptr<state::kv_store>> kv_;
  std::map<std::string, std::unique_ptr<state::window_store>> windows_;
  std::map<std::string, std::unique_ptr<state::session_store>> sessions_;
};

}  // namespace sluice::operators
