#pragma once

// write_buffer: the writes of a store that have not reached its table yet: those of the open
// transaction, and (write-back) those of transactions already committed to Kafka that the store
// has not written to its table yet. KIP-892's idea: state changes reach the committed store only
// when the Kafka transaction carrying their changelog records commits. An ordered map from key to
// the new value or a deletion, so reads can merge it over the committed state in key order
// (read-your-writes), with a hash index over it: point reads and writes, one or two per record,
// cost a hash lookup instead of a walk down a tree of thousands of keys.
//
// The open transaction: the first write of a key in it saves what the buffer held for the key
// before (an undo entry), so abort_transaction() restores the buffer as the last commit left it
// and commit_transaction() just forgets the undo entries. Owned by one store; not thread-safe.

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "state/bytes_table.hpp"
#include "state/kv_store.hpp"

namespace sluice::state {

class write_buffer {
 public:
  struct slot {
    std::optional<bytes> value;     // nullopt: a deletion
    std::uint64_t transaction = 0;  // the transaction that last wrote it
  };
  using entry_map = std::map<bytes, slot, std::less<>>;

  write_buffer() = default;
  // The index and the undo entries point into entries_' nodes, which a move keeps and a copy
  // would not.
  write_buffer(const write_buffer&) = delete;
  write_buffer& operator=(const write_buffer&) = delete;
  write_buffer(write_buffer&&) = default;
  write_buffer& operator=(write_buffer&&) = default;

  void put(bytes_view key, bytes_view value) { write(key, bytes(value)); }
  void remove(bytes_view key) { write(key, std::nullopt); }
  // nullptr when the key has no buffered write; otherwise the buffered value, nullopt meaning
  // a buffered deletion.
  const std::optional<bytes>* find(bytes_view key) const;

  const entry_map& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // Bytes held (keys, values and a per-entry overhead), for the write-back policy.
  std::size_t bytes_held() const { return bytes_; }

  // Keys written by the open transaction.
  std::size_t transaction_size() const { return undo_.size(); }
  bool in_transaction() const { return !undo_.empty(); }
  void commit_transaction();
  // Whether the committed writes held should go to the table now.
  bool flush_due(const write_back_policy& policy) const {
    const auto commits =
        flushed_ || policy.first_flush_after == 0 ? policy.max_commits : policy.first_flush_after;
    return unflushed_commits_ >= commits || bytes_ > policy.max_bytes;
  }
  // Back to what the last commit_transaction() left.
  void abort_transaction();
  // Forgets everything (the buffer's committed writes reached the table); no transaction open.
  void clear();

 private:
  struct undo {
    entry_map::iterator entry;
    bool existed = false;  // false: the transaction added the key
    std::optional<bytes> before;
  };
  void write(bytes_view key, std::optional<bytes> value);
  static std::size_t size_of(bytes_view key, const std::optional<bytes>& value);

  entry_map entries_;
  // Views of entries_' keys (node-based: they stay put) to their entries.
  boost::unordered_flat_map<bytes_view, entry_map::iterator, std::hash<bytes_view>> index_;
  std::vector<undo> undo_;  // in write order; std::map iterators stay valid
  std::uint64_t transaction_ = 1;
  std::size_t bytes_ = 0;
  std::uint32_t unflushed_commits_ = 0;  // commits since clear()
  bool flushed_ = false;                 // clear() was called once
};

// One committed source for merged_scan: a cursor whose keys are `strip` bytes of prefix (a
// segment id) followed by the logical key.
struct committed_source {
  std::unique_ptr<table_cursor> cursor;
  std::size_t strip = 0;
};

// Visits the logical keys in [from, to) (to = nullopt: unbounded) of the committed sources,
// overlaid by the buffer: a buffered value replaces the committed one, a buffered deletion hides
// it. Each source must be ordered and restricted to [from, to); no logical key may appear in two
// sources. Returns false when the visitor stopped the scan.
bool merged_scan(std::vector<committed_source>& sources, const write_buffer& buffer,
                 bytes_view from, std::optional<bytes_view> to, const kv_visitor& visit);

}  // namespace sluice::state
