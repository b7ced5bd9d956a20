#include "state/in_memory_stores.hpp"

#include "state/buffered_kv_store.hpp"
#include "state/memory_table.hpp"
#include "state/segmented_session_store.hpp"
#include "state/segmented_window_store.hpp"

namespace sluice::state {

std::unique_ptr<kv_store> make_in_memory_kv_store(std::string name) {
  return std::make_unique<buffered_kv_store>(std::move(name), std::make_unique<memory_table>());
}

std::unique_ptr<window_store> make_in_memory_window_store(std::string name,
                                                          window_store_options options) {
  return std::make_unique<segmented_window_store>(std::move(name), std::make_unique<memory_table>(),
                                                  options);
}

std::unique_ptr<session_store> make_in_memory_session_store(std::string name,
                                                            session_store_options options) {
  return std::make_unique<segmented_session_store>(std::move(name),
                                                   std::make_unique<memory_table>(), options);
}

}  // namespace sluice::state
