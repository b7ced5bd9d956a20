#pragma once

// The admin client's retry decisions, kept apart from the I/O so that they are unit-tested. They
// follow the one classifier (`classify()` in kafka/protocol/error_code.hpp); what is added here is
// how a client-side failure (no Kafka code) maps onto it, and the backoff schedule.

#include <chrono>
#include <string>
#include <system_error>

#include "kafka/protocol/error_code.hpp"

namespace sluice::kafka::admin_retry {

enum class handling : std::uint8_t {
  give_up,           // not retriable: throw
  retry,             // back off and send again
  refresh_metadata,  // a leader or the controller moved
  find_coordinator,  // the group coordinator moved or is loading (found again on every attempt)
};

// What to do after a whole request failed with `failure`. Client-side failures (connection lost,
// request timed out, connect failed) are retried when kafka_error::retriable() says so, after a
// metadata refresh: the broker may have left, or handed its leadership or controller role on.
handling after_failure(const kafka_error& failure) noexcept;

// Whether an item (one topic, partition or group of a batched request) that failed with `code`
// is tried again. `unknown_topic_is_final`: UNKNOWN_TOPIC_OR_PARTITION is an answer ("no such
// topic"), not a transient state, for calls that name existing topics (delete, describe,
// ListOffsets), as in Kafka's AdminClient.
bool retry_item(error_code code, bool unknown_topic_is_final) noexcept;
// Whether retrying that item needs fresh metadata first.
bool item_needs_metadata(error_code code) noexcept;

// Exponential backoff from `base`, doubling per attempt, capped at `max` (Kafka's
// retry.backoff.ms / retry.backoff.max.ms, KIP-580), with +-20% jitter.
std::chrono::milliseconds backoff(std::chrono::milliseconds base, std::chrono::milliseconds max,
                                  int attempt);

// The exception's message without the trailing ": <code message>" that std::system_error appends,
// so that wrapping an error in context does not repeat the code's description.
std::string message_of(const std::system_error& error);

// `failure` again, its message prefixed with `context` ("create topic 'orders': ..."), its Kafka
// code and retriability kept.
kafka_error with_context(const kafka_error& failure, const std::string& context);

}  // namespace sluice::kafka::admin_retry
