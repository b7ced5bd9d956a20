#pragma once

// segmented_window_store: the window store of every backend, a segmented_store over the
// backend's bytes_table with window keys [key][big-endian start], segmented by window start.
// Made by make_in_memory_window_store or rocksdb::task_database::open_window_store.
// One task's thread; not thread-safe.

#include "state/segmented_store.hpp"
#include "state/window_store.hpp"

namespace sluice::state {

class segmented_window_store final : public segmented_store_base<window_store> {
 public:
  segmented_window_store(std::string name, std::unique_ptr<bytes_table> table,
                         window_store_options options);

  bool put(bytes_view key, std::int64_t window_start, bytes_view value) override;
  void remove(bytes_view key, std::int64_t window_start) override;
  std::optional<bytes> fetch(bytes_view key, std::int64_t window_start) const override;
  void fetch(bytes_view key, std::int64_t time_from, std::int64_t time_to,
             const window_visitor& visit) const override;
  void fetch_all(std::int64_t time_from, std::int64_t time_to,
                 const window_visitor& visit) const override;
  void all(const window_visitor& visit) const override;

 private:
  void check_start(std::int64_t window_start, const char* operation) const;
};

}  // namespace sluice::state
