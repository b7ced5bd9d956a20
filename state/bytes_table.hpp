#pragma once

// bytes_table: what a backend gives one store, the bottom layer of the store stack
// (docs/architecture.md "State": changelogged -> [buffered store -> bytes_table]). It is an ordered
// map of COMMITTED bytes plus a few named metadata values, changed only by write(), which applies
// deletions, entries and metadata atomically: all or nothing, also across a crash. The store
// layer above it (buffered_kv_store, segmented_store) owns transactions, read-your-writes, key
// layouts and retention, so every backend gets them identically:
//   memory_table                 std::map, for tests and stores that need no persistence
//   rocksdb::rocksdb_table       one column family per store in a task's database; metadata in
//                                the database's metadata column family, same WriteBatch

#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "state/store_types.hpp"

namespace sluice::state {

// A forward cursor over committed entries of one scan. Views are valid until next().
class table_cursor {
 public:
  virtual ~table_cursor() = default;
  virtual bool valid() const = 0;
  virtual bytes_view key() const = 0;
  virtual bytes_view value() const = 0;
  virtual void next() = 0;
};

// One entry of a table_write: a view of the key and of the new value (nullopt = delete). Views,
// so that a commit or a restore batch reaches the backend without another copy of its bytes.
struct table_entry {
  bytes_view key;
  std::optional<bytes_view> value;
};

// One atomic write. Applied in this order: range deletions, entries, metadata. The entries'
// views must stay valid until write() returns.
struct table_write {
  std::vector<std::pair<bytes, bytes>> delete_ranges;  // [from, to)
  std::vector<table_entry> entries;
  std::vector<std::pair<std::string, bytes>> metadata;
  // The entries are ascending by key, of equal keys the later last (a restore batch): a backend
  // may then write a large batch in bulk (RocksDB: ingested SST files) instead of entry by entry.
  bool sorted_by_key = false;
};

class bytes_table {
 public:
  virtual ~bytes_table() = default;
  virtual std::optional<bytes> get(bytes_view key) const = 0;
  // Entries with from <= key < to (to = nullopt: no upper bound), ascending.
  virtual std::unique_ptr<table_cursor> scan(bytes_view from,
                                             std::optional<bytes_view> to) const = 0;
  virtual std::optional<bytes> metadata(std::string_view name) const = 0;
  virtual void write(const table_write& batch) = 0;
};

// Names and encodings of the metadata every store keeps, shared by the store layers.
namespace table_metadata {
inline constexpr std::string_view offset = "changelog_offset";
inline constexpr std::string_view stream_time = "stream_time";

bytes encode_i64(std::int64_t value);
// Throws store_error naming the store and the metadata value when it is not 8 bytes.
std::optional<std::int64_t> read_i64(const bytes_table& table, std::string_view name,
                                     std::string_view store_name);
}  // namespace table_metadata

// Store names become column family names, metric labels and changelog topic names
// (`<application>-<store>-changelog`), so they are limited to Kafka's topic characters.
// Throws store_error for an empty or too long name or any other character.
void check_store_name(std::string_view name);

// Throws store_error when `next` is before `committed`: a changelog offset never goes back.
void check_offset_advances(std::string_view store_name, std::optional<changelog_offset> committed,
                           changelog_offset next);

}  // namespace sluice::state
