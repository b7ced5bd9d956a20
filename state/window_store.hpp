#pragma once

// window_store: values per (key, window start), e.g. one aggregate per key and tumbling or
// hopping window. Times are milliseconds since the epoch (Kafka record timestamps) and must not
// be negative.
//
// Retention: the store tracks its observed stream time (the largest window start written). A
// window whose start is <= stream time - retention has expired: reads no longer return it, and
// a put for it is dropped and counted in expired_drops() (a late record is counted, never lost
// silently). Backends segment the data by time and drop whole segments on commit.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "state/state_store.hpp"

namespace sluice::state {

struct window_store_options {
  // How long windows are kept after stream time passes their start.
  std::chrono::milliseconds retention{std::chrono::hours(24)};
  // Width of one time segment; zero means max(retention / 2, 60 s), Kafka Streams' default.
  std::chrono::milliseconds segment_interval{0};
  // When committed writes reach the backend (store_types.hpp).
  write_back_policy write_back{};
};

using window_visitor =
    std::function<bool(bytes_view key, std::int64_t window_start, bytes_view value)>;

class window_store : public state_store {
 public:
  // Returns false (and counts the drop) when the window has already expired.
  virtual bool put(bytes_view key, std::int64_t window_start, bytes_view value) = 0;
  virtual void remove(bytes_view key, std::int64_t window_start) = 0;
  virtual std::optional<bytes> fetch(bytes_view key, std::int64_t window_start) const = 0;

  // Windows of `key` with time_from <= start <= time_to, ascending by start.
  virtual void fetch(bytes_view key, std::int64_t time_from, std::int64_t time_to,
                     const window_visitor& visit) const = 0;
  // Windows of every key with time_from <= start <= time_to, ordered by window key bytes
  // ([key][big-endian start], see key_layout.hpp): by key, then start, for keys of one length.
  virtual void fetch_all(std::int64_t time_from, std::int64_t time_to,
                         const window_visitor& visit) const = 0;
  // Every live window, in the same order as fetch_all.
  virtual void all(const window_visitor& visit) const = 0;

  virtual std::chrono::milliseconds retention() const = 0;
  // Largest window start written (buffered writes included); nullopt for an empty store.
  virtual std::optional<std::int64_t> observed_stream_time() const = 0;
  // Puts dropped because their window had expired, since the store was opened.
  virtual std::uint64_t expired_drops() const = 0;
};

}  // namespace sluice::state
