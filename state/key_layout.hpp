#pragma once

// Byte layouts of the keys window and session stores write, in RocksDB and in their changelogs:
//
//   window key   [key bytes][window start: 8 bytes big-endian]
//   session key  [key bytes][session end: 8 bytes big-endian][session start: 8 bytes big-endian]
//   segment key  [segment id: 8 bytes big-endian][window or session key]   (inside a backend)
//
// Big-endian non-negative times sort by bytes in time order, so one key's windows are adjacent
// and ascending by start, and one key's sessions ascending by end (sessions are found by end:
// end >= from bounds a seek). Negative times would sort after positive ones, so they are rejected.
// The key has no length prefix (the changelog stays readable by Kafka Streams-like tools); a scan
// for one key therefore checks that a hit's key part has that key's length, because "ab" + time
// and "a" + "b..." can share bytes.

#include <cstdint>
#include <optional>

#include "state/store_types.hpp"

namespace sluice::state::key_layout {

inline constexpr std::size_t time_size = 8;

// Appends `value` as 8 bytes big-endian (two's complement).
void append_be64(bytes& out, std::int64_t value);
// Reads 8 bytes big-endian at `at`; the caller checks the size.
std::int64_t read_be64(bytes_view in, std::size_t at);

bytes window_key(bytes_view key, std::int64_t window_start);
bytes session_key(bytes_view key, std::int64_t start, std::int64_t end);

struct window_key_parts {
  bytes_view key;
  std::int64_t window_start = 0;
};
struct session_key_parts {
  bytes_view key;
  std::int64_t start = 0;
  std::int64_t end = 0;
};

// nullopt when `encoded` is too short or holds a negative time (or, for sessions, start > end).
std::optional<window_key_parts> parse_window_key(bytes_view encoded);
std::optional<session_key_parts> parse_session_key(bytes_view encoded);

// The smallest byte string greater than every string that starts with `prefix`, or nullopt when
// there is none (the prefix is all 0xFF bytes): the exclusive upper bound of a prefix scan.
std::optional<bytes> prefix_successor(bytes_view prefix);

}  // namespace sluice::state::key_layout
