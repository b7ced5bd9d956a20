#pragma once

// The vocabulary every store layer shares: byte strings, changelog offsets, changes and the
// error a store throws. Bytes are held in std::string / std::string_view (RocksDB's own
// convention, so a key reaches rocksdb::Slice without a copy); they are binary, never text.

#include <compare>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sluice::state {

using bytes = std::string;
using bytes_view = std::string_view;

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

// What a store throws: bad input (a negative window start, a malformed changelog key, an offset
// going backwards) or a failure of the backend. The message names the store and what failed.
class store_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace sluice::state
