#pragma once

// session_store: values per (key, session start, session end), for session windows. A session
// covers [start, end] inclusive, start <= end, times in milliseconds and not negative. Merging
// sessions is the caller's job: it finds the sessions a record overlaps, removes them and puts
// the merged one.
//
// Retention works like the window store's but on session END times: the store tracks the
// largest end written; a session whose end is <= stream time - retention has expired.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "state/state_store.hpp"

namespace sluice::state {

struct session_store_options {
  std::chrono::milliseconds retention{std::chrono::hours(24)};
  // Zero means max(retention / 2, 60 s).
  std::chrono::milliseconds segment_interval{0};
  // When committed writes reach the backend (store_types.hpp).
  write_back_policy write_back{};
};

using session_visitor =
    std::function<bool(bytes_view key, std::int64_t start, std::int64_t end, bytes_view value)>;

class session_store : public state_store {
 public:
  // Returns false (and counts the drop) when the session has already expired.
  virtual bool put(bytes_view key, std::int64_t start, std::int64_t end, bytes_view value) = 0;
  virtual void remove(bytes_view key, std::int64_t start, std::int64_t end) = 0;
  virtual std::optional<bytes> fetch_session(bytes_view key, std::int64_t start,
                                             std::int64_t end) const = 0;

  // Sessions of `key` that overlap [time_from, time_to], i.e. end >= time_from and
  // start <= time_to (Kafka Streams' findSessions(key, earliestSessionEndTime,
  // latestSessionStartTime)), ordered by end, then start.
  virtual void find_sessions(bytes_view key, std::int64_t time_from, std::int64_t time_to,
                             const session_visitor& visit) const = 0;
  // Every live session, ordered by session key bytes ([key][big-endian end][big-endian start]).
  virtual void all(const session_visitor& visit) const = 0;

  virtual std::chrono::milliseconds retention() const = 0;
  virtual std::optional<std::int64_t> observed_stream_time() const = 0;
  virtual std::uint64_t expired_drops() const = 0;
};

}  // namespace sluice::state
