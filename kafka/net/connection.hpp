#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kafka/net/broker_address.hpp"
#include "kafka/net/net_error.hpp"
#include "kafka/net/security_config.hpp"
#include "kafka/protocol/error_code.hpp"
#include "kafka/protocol/messages/api_key.hpp"
#include "kafka/protocol/wire.hpp"

namespace sluice::kafka {

namespace asio = boost::asio;

struct connection_options {
  std::string client_id = "sluice";
  security_config security;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};
};

// One TCP (or TLS) connection to one broker, with pipelined requests.
//
// Job: connect, TLS handshake, ApiVersions negotiation (KIP-511), SASL (KIP-43/152), then any
// number of requests in flight: each gets a correlation id, frames are written one at a time in
// send order, and one read loop hands responses to their waiting senders in order (Kafka answers
// a connection's requests in the order it received them).
//
// Lifetime: shared; the read loop holds a reference until the socket closes. When the connection
// dies, or a request outlives the request timeout (the connection is then closed, as the Java
// client does, because a late response would misalign the stream), every request in flight fails
// with a retriable `net_error`. For Produce that outcome is ambiguous: the broker may have written
// the batch; only the idempotent producer makes a retry safe.
//
// Threading: everything of a connection runs on the executor given to `open`, which must be
// single-threaded (an io_context run by one thread, or a strand).
class connection : public std::enable_shared_from_this<connection> {
 public:
  // Throws kafka_error: connect_failed (naming the address and the reason), authentication_failed,
  // no_common_version.
  static asio::awaitable<std::shared_ptr<connection>> open(asio::any_io_executor executor,
                                                           broker_address address,
                                                           connection_options options);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Sends a typed request at the negotiated version and returns the decoded response.
  template <typename Request>
  asio::awaitable<typename Request::response_type> send(Request request) {
    co_return co_await send(std::move(request), required_version(Request::api));
  }

  template <typename Request>
  asio::awaitable<typename Request::response_type> send(Request request, std::int16_t version) {
    auto reply = co_await round_trip(Request::api, version, encode(request, version), true);
    typename Request::response_type response;
    protocol::reader in(protocol::bytes_view(reply.frame).subspan(reply.body_offset));
    response.decode(in, version);
    if (!in.ok()) throw_decode_failure(Request::api, version, in);
    co_return response;
  }

  // For requests the broker does not answer (Produce with acks=0).
  template <typename Request>
  asio::awaitable<void> send_without_response(Request request) {
    auto version = required_version(Request::api);
    co_await round_trip(Request::api, version, encode(request, version), false);
  }

  // A response frame; the body (after the response header) starts at body_offset.
  struct raw_reply {
    protocol::bytes frame;
    std::size_t body_offset = 0;
  };
  // An encoded request body with long byte strings left out of `bytes`
  // (protocol::writer's borrowed spans): they are written to the socket from where they are.
  // `keep_alive` owns the memory they point into; the connection holds it until the frame was
  // written or the connection is gone, however the round trip ends.
  struct request_body {
    protocol::bytes bytes;
    std::vector<protocol::borrowed_span> borrowed;
    std::shared_ptr<const void> keep_alive;
  };
  // Sends an encoded request body; `expects_response = false` returns as soon as it is written
  // (or queued behind another request being written).
  asio::awaitable<raw_reply> round_trip(protocol::api_key api, std::int16_t version,
                                        protocol::bytes body, bool expects_response);
  asio::awaitable<raw_reply> round_trip(protocol::api_key api, std::int16_t version,
                                        request_body body, bool expects_response);

  // min(our max, the broker's max) for an API, or nullopt when the broker lacks it or the ranges
  // do not overlap.
  std::optional<std::int16_t> negotiated_version(protocol::api_key api) const;
  // Like negotiated_version, but throws kafka_error(no_common_version) naming the API and broker.
  std::int16_t required_version(protocol::api_key api) const;

  struct version_range {
    std::int16_t min_version;
    std::int16_t max_version;
  };
  // What the broker advertised in ApiVersions, by API key.
  const std::map<std::int16_t, version_range>& broker_versions() const { return broker_versions_; }

  const broker_address& address() const { return address_; }
  bool is_open() const;
  // Closes the socket; requests in flight fail with net_error::connection_closed.
  void close();

 private:
  struct state;
  connection(asio::any_io_executor executor, broker_address address, connection_options options);

  template <typename Request>
  static protocol::bytes encode(const Request& request, std::int16_t version) {
    protocol::bytes body;
    protocol::writer out(body);
    request.encode(out, version);
    return body;
  }
  [[noreturn]] void throw_decode_failure(protocol::api_key api, std::int16_t version,
                                         const protocol::reader& in) const;

  asio::awaitable<void> connect();
  asio::awaitable<void> negotiate_versions();
  asio::awaitable<void> authenticate();
  asio::awaitable<void> read_loop(std::shared_ptr<connection> self);
  asio::awaitable<void> write_pending();
  void fail_in_flight(net_error reason);

  broker_address address_;
  connection_options options_;
  std::unique_ptr<state> state_;
  std::map<std::int16_t, version_range> broker_versions_;
};

}  // namespace sluice::kafka
