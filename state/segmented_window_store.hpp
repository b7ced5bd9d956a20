#pragma once

// segmented_window_store: the window store of every backend, a segmented_store over the
// backend's bytes_table with window keys [key][big-endian start], segmented by window start.
// Made by make_in_memory_window_store or rocksdb::task_database::open_window_store.
// One task's thread; not thread-safe.

#include "state/segmented_store.hpp"
#include "state/window_store.hpp"

namespace sluice::state {

class segmented_window_store final : public window_store {
 public:
  segmented_window_store(std::string name, std::unique_ptr<bytes_table> table,
                         window_store_options options);

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

  bool put(bytes_view key, std::int64_t window_start, bytes_view value) override;
  void remove(bytes_view key, std::int64_t window_start) override;
  std::optional<bytes> fetch(bytes_view key, std::int64_t window_start) const override;
  void fetch(bytes_view key, std::int64_t time_from, std::int64_t time_to,
             const window_visitor& visit) const override;
  void fetch_all(std::int64_t time_from, std::int64_t time_to,
                 const window_visitor& visit) const override;
  void all(const window_visitor& visit) const override;

  std::chrono::milliseconds retention() const override {
    return std::chrono::milliseconds(store_.retention_ms());
  }
  std::optional<std::int64_t> observed_stream_time() const override {
    return store_.observed_stream_time();
  }
  std::uint64_t expired_drops() const override { return store_.expired_drops(); }

 private:
  void check_start(std::int64_t window_start, const char* operation) const;

  segmented_store store_;
};

}  // namespace sluice::state
