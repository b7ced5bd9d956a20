#pragma once

// An incremental fetch session with one broker (KIP-227): the broker remembers the partitions of
// the last request and their fetch offsets, so the next request names only what changed (new
// partitions, moved offsets or leader epochs) and what left (forgotten partitions), and a response
// carries only partitions with news. A session id of 0 means none: the next request is a full one
// that asks the broker to open a session (epoch 0).
//
// One fetch per broker is in flight at a time (the consumer's fetch scheduler sees to it), so a
// request is built from the session, and the session is updated from that request's response
// before the next request is built: the epochs advance in order. Owned by the consumer's state
// (consumer::impl::sessions, one per broker) and used on the consumer's executor only.

#include <cstdint>
#include <map>

#include "kafka/consumer/topic_partition.hpp"
#include "kafka/protocol/error_code.hpp"
#include "kafka/protocol/messages/fetch.hpp"

namespace sluice::kafka {

class fetch_session {
 public:
  // What the consumer wants of one partition in the next Fetch request.
  struct partition_request {
    std::int64_t fetch_offset = 0;
    std::int32_t leader_epoch = -1;        // current_leader_epoch (KIP-320)
    std::int32_t last_fetched_epoch = -1;  // sent, but not what decides a resend
    protocol::uuid topic_id;               // Fetch v13+ names topics by id (KIP-516)
  };
  // Sorted by topic, so that each topic appears once in the request.
  using wanted_partitions = std::map<topic_partition, partition_request>;

  // What the broker's session holds of a partition (what the last request sent).
  struct held_partition {
    std::int64_t fetch_offset = 0;
    std::int32_t leader_epoch = -1;
    protocol::uuid topic_id;
    bool operator==(const held_partition&) const = default;
  };

  // What a response did to the session.
  enum class outcome : std::uint8_t {
    opened,         // the broker opened a new session; the next request is incremental (epoch 1)
    continued,      // the session goes on with the next epoch
    not_kept,       // the broker keeps no session (none asked for, or its cache is full)
    session_error,  // the session was evicted or out of step: the next fetch opens a new one
    failed,         // another top-level error: the session is gone and the fetch failed
  };

  // Writes the session id and epoch into `request`, the partitions to fetch (all of them for a
  // full request; for an incremental one only those the session does not hold at the same offset
  // and leader epoch) and the partitions the session holds that `wanted` lacks (forgotten: paused,
  // queue full, moved to another broker).
  void fill_request(protocol::fetch_request& request, const wanted_partitions& wanted,
                    std::int32_t partition_max_bytes) const;

  // Applies a response's top-level error and session id to the session; `wanted` is what the
  // request was built from (the broker's session now holds exactly that).
  outcome on_response(error_code code, std::int32_t session_id, const wanted_partitions& wanted);

  // The request failed without a response (connection lost): the broker's view is unknown.
  void reset();

  // FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH, FETCH_SESSION_TOPIC_ID_ERROR: the
  // session needs a fresh start, not the partitions' metadata.
  static bool is_session_error(error_code code);

  // The epoch after `epoch`: it wraps to 1, never to 0, which asks for a new session (Java's
  // FetchMetadata.nextEpoch).
  static std::int32_t next_epoch(std::int32_t epoch);

  // A session is open: the next request is incremental.
  bool incremental() const { return id_ != 0; }
  std::int32_t id() const { return id_; }
  // The epoch the next incremental request carries.
  std::int32_t epoch() const { return epoch_; }
  const std::map<topic_partition, held_partition>& held() const { return held_; }

 private:
  std::int32_t id_ = 0;
  std::int32_t epoch_ = 0;
  std::map<topic_partition, held_partition> held_;
};

}  // namespace sluice::kafka
