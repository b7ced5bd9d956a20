#pragma once

// Client-side failures that have no Kafka error code: the connection, TLS, SASL and the framing.

#include <cstdint>
#include <system_error>

namespace sluice::kafka {

enum class net_error : std::uint8_t {
  connection_closed = 1,  // the peer hung up or the connection was closed; in-flight requests fail
  request_timed_out,      // no response within the request timeout (the connection is closed)
  connect_failed,         // DNS, TCP or TLS failed for every address of the broker
  protocol_violation,     // a frame or response that does not decode, or a correlation mismatch
  no_common_version,      // the broker supports no version of an API that this client supports
  authentication_failed,  // SASL rejected, or the mechanism is not enabled on the broker
  bad_configuration,      // the client's own settings are wrong (say which)
};

const std::error_category& net_category() noexcept;
inline std::error_code make_error_code(net_error e) noexcept {
  return {static_cast<int>(e), net_category()};
}

// Whether another attempt (possibly on a new connection) may succeed.
constexpr bool is_retriable(net_error e) noexcept {
  return e == net_error::connection_closed || e == net_error::request_timed_out ||
         e == net_error::connect_failed;
}

}  // namespace sluice::kafka

template <>
struct std::is_error_code_enum<sluice::kafka::net_error> : std::true_type {};
