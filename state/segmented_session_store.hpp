#pragma once

// segmented_session_store: the session store of every backend, a segmented_store over the
// backend's bytes_table with session keys [key][big-endian end][big-endian start], segmented by
// session end. Made by make_in_memory_session_store or
// rocksdb::task_database::open_session_store. One task's thread; not thread-safe.

#include "state/segmented_store.hpp"
#include "state/session_store.hpp"

namespace sluice::state {

class segmented_session_store final : public session_store {
 public:
  segmented_session_store(std::string name, std::unique_ptr<bytes_table> table,
                          session_store_options options);

  const std::string& name() const override { return store_.name(); }
  std::size_t pending_writes() const override { return store_.pending_writes(); }
  void commit(changelog_offset next_offset) override { store_.commit(next_offset); }
  void abort() override { store_.abort(); }
  std::optional<changelog_offset> committed_offset() const override {
    return store_.committed_offset();
  }
  void apply(std::span<const change> changes, changelog_offset next_offset) override {
    store_.apply(changes, next_offset);
  }

  bool put(bytes_view key, std::int64_t start, std::int64_t end, bytes_view value) override;
  void remove(bytes_view key, std::int64_t start, std::int64_t end) override;
  std::optional<bytes> fetch_session(bytes_view key, std::int64_t start,
                                     std::int64_t end) const override;
  void find_sessions(bytes_view key, std::int64_t time_from, std::int64_t time_to,
                     const session_visitor& visit) const override;
  void all(const session_visitor& visit) const override;

  std::chrono::milliseconds retention() const override {
    return std::chrono::milliseconds(store_.retention_ms());
  }
  std::optional<std::int64_t> observed_stream_time() const override {
    return store_.observed_stream_time();
  }
  std::uint64_t expired_drops() const override { return store_.expired_drops(); }

 private:
  void check_session(std::int64_t start, std::int64_t end, const char* operation) const;

  segmented_store store_;
};

}  // namespace sluice::state
