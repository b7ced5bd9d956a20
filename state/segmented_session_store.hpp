#pragma once

// segmented_session_store: the session store of every backend, a segmented_store over the
// backend's bytes_table with session keys [key][big-endian end][big-endian start], segmented by
// session end. Made by make_in_memory_session_store or
// rocksdb::task_database::open_session_store. One task's thread; not thread-safe.

#include "state/segmented_store.hpp"
#include "state/session_store.hpp"

namespace sluice::state {

class segmented_session_store final : public segmented_store_base<session_store> {
 public:
  segmented_session_store(std::string name, std::unique_ptr<bytes_table> table,
                          session_store_options options);

  bool put(bytes_view key, std::int64_t start, std::int64_t end, bytes_view value) override;
  void remove(bytes_view key, std::int64_t start, std::int64_t end) override;
  std::optional<bytes> fetch_session(bytes_view key, std::int64_t start,
                                     std::int64_t end) const override;
  void find_sessions(bytes_view key, std::int64_t time_from, std::int64_t time_to,
                     const session_visitor& visit) const override;
  void all(const session_visitor& visit) const override;

 private:
  void check_session(std::int64_t start, std::int64_t end, const char* operation) const;
};

}  // namespace sluice::state
