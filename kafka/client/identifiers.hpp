#pragma once

// The Kafka identifiers the public API passes as strong types (see strong_int.hpp and
// docs/style.md, "Names and types", for which values are typed and which stay plain integers).
// The generated protocol messages keep the wire's plain integers; the clients convert where a
// value crosses from a message to the public API.

#include <cstdint>

#include "kafka/client/strong_int.hpp"

namespace sluice::kafka {

// A partition's index within its topic.
using partition_id = strong_int<struct partition_id_tag, std::int32_t>;
// A record's position in its partition's log.
using log_offset = strong_int<struct log_offset_tag, std::int64_t>;
// A record timestamp or a time to look offsets up by: milliseconds since the Unix epoch.
using timestamp_ms = strong_int<struct timestamp_ms_tag, std::int64_t>;
// A broker (node.id / broker.id).
using node_id = strong_int<struct node_id_tag, std::int32_t>;
// An idempotent or transactional producer's id and epoch (KIP-98, KIP-360).
using producer_id = strong_int<struct producer_id_tag, std::int64_t>;
using producer_epoch = strong_int<struct producer_epoch_tag, std::int16_t>;
// A consumer group's generation (classic protocol) or a member's epoch (KIP-848's `consumer`
// protocol): what the coordinator fences an outdated member by.
using generation_id = strong_int<struct generation_id_tag, std::int32_t>;

// Who a producer is to the brokers: its id and the epoch it writes with. Both are -1 before the
// producer has one (not started, or neither idempotent nor transactional).
struct producer_identity {
  producer_id id{-1};
  producer_epoch epoch{-1};
  bool operator==(const producer_identity&) const = default;
};

}  // namespace sluice::kafka
