#pragma once

// The vocabulary every store layer shares: byte strings, changelog offsets, changes and the
// error a store throws. Bytes are held in std::string / std::string_view (RocksDB's own
// convention, so a key reaches rocksdb::Slice without a copy); they are binary, never text.

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sluice::state {

using bytes = std::string;
using bytes_view = std::string_view;

// Hash and equality over bytes that take a bytes_view too (heterogeneous lookup), for hash maps
// keyed by bytes: a lookup needs no copy of the key.
struct bytes_hash {
  using is_transparent = void;
  std::size_t operator()(bytes_view key) const { return std::hash<bytes_view>{}(key); }
};
struct bytes_equal {
  using is_transparent = void;
  bool operator()(bytes_view a, bytes_view b) const { return a == b; }
};

// A position in a store's changelog partition, with Kafka's committed-offset meaning: the offset
// of the next changelog record the store does NOT reflect yet. A restore seeks here. A strong type
// so that it is never mixed up with an input offset or a timestamp.
struct changelog_offset {
  std::int64_t value = 0;
  auto operator<=>(const changelog_offset&) const = default;
};

// One change as it travels through a changelog: the key in the store's changelog layout (the
// raw key for key-value stores, the window or session key for the others, see key_layout.hpp)
// and the new value, or nullopt for a deletion (a tombstone in the compacted topic).
struct change {
  bytes key;
  std::optional<bytes> value;
  bool operator==(const change&) const = default;
};

// When a store writes committed transactions to its table (write-back). Each table write is a
// RocksDB WriteBatch whose every entry is a memtable insert; a key updated in many commits is
// written once per flush instead of once per commit. Until a flush the table (and the changelog
// offset recorded with it) lags behind Kafka, which costs nothing but a longer restore after a
// crash: the restore reads the changelog from the table's offset. The defaults flush at every
// commit.
struct write_back_policy {
  // Flush when the buffered committed writes exceed this many bytes (keys, values and overhead).
  std::size_t max_bytes = 0;
  // ... or when this many commits have not been flushed.
  std::uint32_t max_commits = 1;
  // The first flush after this many commits instead (0: max_commits). A process gives its stores
  // different ones (memory_budget::next_store_write_back), so that their flushes, which would
  // otherwise all fall on the same commit and stall the loop for their sum, take turns.
  std::uint32_t first_flush_after = 0;
};

// What a store throws: bad input (a negative window start, a malformed changelog key, an offset
// going backwards) or a failure of the backend. The message names the store and what failed.
class store_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace sluice::state
