#pragma once

// buffered_kv_store: the key-value store over a backend's bytes_table, with the transaction
// buffer (read-your-writes; commit applies the buffer and the changelog offset in one
// table_write; abort drops it). Every backend's key-value store is this class over its table:
// in memory (make_in_memory_kv_store) or RocksDB (rocksdb::task_database::open_kv_store).
// One task's thread; not thread-safe.

#include <memory>

#include "state/bytes_table.hpp"
#include "state/kv_store.hpp"
#include "state/write_buffer.hpp"

namespace sluice::state {

class buffered_kv_store final : public kv_store {
 public:
  // Throws store_error for a bad name or unreadable metadata.
  buffered_kv_store(std::string name, std::unique_ptr<bytes_table> table);

  const std::string& name() const override { return name_; }
  std::size_t pending_writes() const override { return buffer_.size(); }
  void commit(changelog_offset next_offset) override;
  void abort() override { buffer_.clear(); }
  std::optional<changelog_offset> committed_offset() const override { return committed_; }
  void apply(std::span<const change> changes, changelog_offset next_offset) override;

  std::optional<bytes> get(bytes_view key) const override;
  void put(bytes_view key, bytes_view value) override { buffer_.put(key, value); }
  void remove(bytes_view key) override { buffer_.remove(key); }
  void range(bytes_view from, bytes_view to, const kv_visitor& visit) const override;
  void prefix_scan(bytes_view prefix, const kv_visitor& visit) const override;
  void all(const kv_visitor& visit) const override;

 private:
  void scan(bytes_view from, std::optional<bytes_view> to, const kv_visitor& visit) const;

  std::string name_;
  std::unique_ptr<bytes_table> table_;
  write_buffer buffer_;
  std::optional<changelog_offset> committed_;
};

}  // namespace sluice::state
