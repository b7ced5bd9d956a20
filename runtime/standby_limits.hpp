#pragma once

// standby_limits: how far standby tasks may read the topics of tables restored from their own
// topic (operators::table_restore::source). Such a store has no changelog; its standby reads the
// table's topic itself, but only up to the group's committed offset of that partition, never past
// it (Kafka Streams' "limit offsets" of source-topic changelogs): the active task may have read
// further, but what it has not committed may be processed again by whoever takes the task over,
// and under exactly-once a store holding rows from after the committed offset would join those
// records with rows from their future. So the standby's table is always the state at an offset
// the group committed, and a takeover restores from there to the committed offset as usual.
//
// This class keeps the limits known and says when to look them up again: at once for a partition
// just tracked, then every `refresh_every` (Kafka Streams refreshes them every commit interval),
// and `failure_backoff` after a lookup that failed (the stream loop waits for a lookup, so a
// coordinator that is away must not hold it every commit interval). A limit only moves up: a
// lookup that answers less (offsets reset by hand) leaves it.
//
// One thread: the stream loop's (standby_tasks owns it).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "kafka/client/topic_partition.hpp"

namespace sluice::runtime {

class standby_limits {
 public:
  using clock = std::chrono::steady_clock;

  static constexpr std::chrono::seconds failure_backoff{5};

  explicit standby_limits(clock::duration refresh_every) : refresh_every_(refresh_every) {}

  // Partitions of new standbys: no limit known yet (nothing may be read), looked up at once.
  void track(const std::vector<kafka::topic_partition>& partitions);
  // Their standbys closed or became active.
  void forget(const std::vector<kafka::topic_partition>& partitions);
  bool empty() const { return tracked_.empty(); }

  // Whether a lookup is due; when it is, the partitions to look up, and the next lookup is
  // scheduled `refresh_every` from `now` (a failed lookup waits for it too).
  bool due(clock::time_point now) const { return !tracked_.empty() && now >= next_refresh_; }
  std::vector<kafka::topic_partition> begin_refresh(clock::time_point now);
  // The lookup begun at `now` failed: the next one waits failure_backoff.
  void refresh_failed(clock::time_point now);
  // A lookup's answer: the group's committed offset of each partition it answered for (0 for
  // one with nothing committed). Returns the limits that moved (up), to hand to the reader.
  std::map<kafka::topic_partition, std::int64_t> update(
      const std::map<kafka::topic_partition, std::int64_t>& committed);

  // nullopt: not tracked, or not answered by a lookup yet.
  std::optional<std::int64_t> limit(const kafka::topic_partition& partition) const;

 private:
  clock::duration refresh_every_;
  std::set<kafka::topic_partition> tracked_;
  std::map<kafka::topic_partition, std::int64_t> limits_;
  clock::time_point next_refresh_{};
};

}  // namespace sluice::runtime
