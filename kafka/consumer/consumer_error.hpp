#pragma once

// Consumer failures that have no Kafka error code of their own. Thrown inside kafka_error, like
// every public failure of the client.

#include <cstdint>
#include <system_error>

namespace sluice::kafka {

enum class consumer_error : std::uint8_t {
  illegal_state = 1,  // a call that the consumer's state forbids (assign after subscribe, ...)
  no_offset_for_partition,  // no position, nothing committed, and auto_offset_reset is none
  commit_failed,            // the group rebalanced: the partitions may belong to another member
  corrupt_record,           // a fetched batch failed its CRC or did not decode
  timed_out,                // an operation did not finish within default_api_timeout
  group_error,              // the group cannot be joined (bad protocol, authorization, fencing)
};

const std::error_category& consumer_category() noexcept;
inline std::error_code make_error_code(consumer_error e) noexcept {
  return {static_cast<int>(e), consumer_category()};
}

}  // namespace sluice::kafka

template <>
struct std::is_error_code_enum<sluice::kafka::consumer_error> : std::true_type {};
