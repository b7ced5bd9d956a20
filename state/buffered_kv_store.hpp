#pragma once

// buffered_kv_store: the key-value store over a backend's bytes_table, with the transaction
// buffer (read-your-writes; abort drops the open transaction's writes). A commit writes the
// buffer and the changelog offset in one table_write, at once or, under a write-back policy,
// with a later commit (write_buffer.hpp); a store destroyed between the two writes what it
// has committed on its way out. Every backend's key-value store is this class over its table:
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
  buffered_kv_store(std::string name, std::unique_ptr<bytes_table> table,
                    write_back_policy write_back = {});
  ~buffered_kv_store() override;
  buffered_kv_store(const buffered_kv_store&) = delete;
  buffered_kv_store& operator=(const buffered_kv_store&) = delete;

  const std::string& name() const override { return name_; }
  std::size_t pending_writes() const override { return buffer_.transaction_size(); }
  void commit(changelog_offset next_offset) override;
  void abort() override { buffer_.abort_transaction(); }
  void flush_committed() override;
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
  // Writes the buffered committed writes and the committed offset to the table.
  void flush();

  std::string name_;
  std::unique_ptr<bytes_table> table_;
  write_buffer buffer_;
  write_back_policy write_back_;
  std::optional<changelog_offset> committed_;
  std::optional<changelog_offset> flushed_;  // the offset the table records
};

}  // namespace sluice::state
