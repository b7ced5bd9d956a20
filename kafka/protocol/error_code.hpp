#pragma once

// Kafka's error codes: one table (generated from the pinned Kafka's own Errors enum), wired into
// std::error_code, and ONE classifier that every retry loop in the client consults.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace sluice::kafka {

enum class error_code : std::int16_t {
#define SLUICE_KAFKA_ERROR(name, code, retriable, description) name = code,
#include "kafka/protocol/messages/error_table.inc"
#undef SLUICE_KAFKA_ERROR
};

// The Kafka name of the code ("NOT_LEADER_OR_FOLLOWER"), or "UNKNOWN_ERROR_CODE_<n>".
std::string error_name(error_code code);
std::string_view error_description(error_code code) noexcept;
// Whether Kafka classes the error as retriable (its exception extends RetriableException).
bool is_retriable(error_code code) noexcept;
// Whether the code is one this build knows.
bool is_known(std::int16_t code) noexcept;

const std::error_category& kafka_category() noexcept;
inline std::error_code make_error_code(error_code code) noexcept {
  return {static_cast<int>(code), kafka_category()};
}

// What a client does about an error. The classifier is the one place that decides; see
// docs/architecture.md ("Errors").
enum class error_action : std::uint8_t {
  none,                        // success
  retry,                       // transient: back off and send again
  refresh_metadata_and_retry,  // the leader or the topic moved: refresh metadata first
  find_coordinator_and_retry,  // the group/transaction coordinator moved or is loading
  abortable,                   // transactional: abort the transaction, then the caller may retry
  fatal,                       // the client or the request cannot go on (auth, fencing, bad input)
};

error_action classify(error_code code) noexcept;
const char* to_string(error_action action) noexcept;

// The exception public coroutines throw: the Kafka code, whether a retry may succeed, and a
// message saying what failed where (e.g. "create topic 'orders': TOPIC_ALREADY_EXISTS: ...").
class kafka_error : public std::system_error {
 public:
  kafka_error(error_code code, const std::string& what_failed);
  // For client-side failures that have no Kafka code (timeouts, closed connections, bad config).
  kafka_error(std::error_code code, const std::string& what_failed, bool retriable);

  // The Kafka code, or unknown_server_error for a client-side failure.
  error_code kafka_code() const noexcept { return kafka_code_; }
  bool retriable() const noexcept { return retriable_; }

 private:
  error_code kafka_code_;
  bool retriable_;
};

}  // namespace sluice::kafka

template <>
struct std::is_error_code_enum<sluice::kafka::error_code> : std::true_type {};
