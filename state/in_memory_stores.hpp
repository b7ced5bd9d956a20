#pragma once

// The in-memory backend: the same store classes as RocksDB's (buffered_kv_store,
// segmented_window_store, segmented_session_store) over a memory_table. For tests, `sluice test`
// (pipelines run offline) and state that need not survive the process. Each store owns its table.

#include <memory>
#include <string>

#include "state/kv_store.hpp"
#include "state/session_store.hpp"
#include "state/window_store.hpp"

namespace sluice::state {

std::unique_ptr<kv_store> make_in_memory_kv_store(std::string name);
std::unique_ptr<window_store> make_in_memory_window_store(std::string name,
                                                          window_store_options options);
std::unique_ptr<session_store> make_in_memory_session_store(std::string name,
                                                            session_store_options options);

}  // namespace sluice::state
