#include "kafka/net/connection.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>

#include "kafka/net/sasl_authenticator.hpp"
#include "kafka/protocol/messages/api_versions.hpp"
#include "kafka/protocol/messages/request_header.hpp"
#include "kafka/protocol/messages/response_header.hpp"
#include "kafka/protocol/messages/sasl_authenticate.hpp"
#include "kafka/protocol/messages/sasl_handshake.hpp"

namespace sluice::kafka {

namespace {

using boost::asio::ip::tcp;
using namespace boost::asio::experimental::awaitable_operators;
using protocol::api_key;
using protocol::bytes;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// A frame larger than this is a corrupt stream, not a response (fetch.max.bytes tops out far
// lower).
constexpr std::int32_t max_frame_size = 512 * 1024 * 1024;
constexpr const char* client_software_name = "sluice";
constexpr const char* client_software_version = "0.1.0";

kafka_error net_failure(net_error error, const std::string& what) {
  return kafka_error(make_error_code(error), what, is_retriable(error));
}

// The response header carries tagged fields only when the request version is flexible, and
// ApiVersions responses always use header v0 so that a client with a too-new version can still
// read the broker's answer (KIP-511).
bool is_flexible(api_key api, std::int16_t version) {
  const auto* range = protocol::find_api(static_cast<std::int16_t>(api));
  return range != nullptr && version >= range->first_flexible_version;
}

std::int16_t response_header_version(api_key api, std::int16_t version) {
  if (api == api_key::api_versions) return 0;
  return is_flexible(api, version) ? 1 : 0;
}

// The pieces of one request frame, in order: head, then the body with its borrowed spans spliced
// in where they belong.
std::vector<asio::const_buffer> frame_buffers(const bytes& head,
                                              const connection::request_body& body) {
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(2 + 2 * body.borrowed.size());
  buffers.emplace_back(head.data(), head.size());
  std::size_t from = 0;
  for (const auto& span : body.borrowed) {
    if (span.at > from) buffers.emplace_back(body.bytes.data() + from, span.at - from);
    buffers.emplace_back(span.data.data(), span.data.size());
    from = span.at;
  }
  if (body.bytes.size() > from)
    buffers.emplace_back(body.bytes.data() + from, body.bytes.size() - from);
  return buffers;
}

}  // namespace

struct connection::state {
  using reply_channel =
      asio::experimental::channel<void(boost::system::error_code, std::error_code, raw_reply)>;

  struct in_flight {
    std::int32_t correlation_id;
    std::int16_t response_header_version;
    std::shared_ptr<reply_channel> channel;
  };

  explicit state(asio::any_io_executor executor) : executor(executor), socket(executor) {}

  asio::any_io_executor executor;
  tcp::socket socket;
  std::unique_ptr<asio::ssl::context> tls_context;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
  // A request waiting to be written: the size and request header, then the body.
  struct outgoing {
    bytes head;
    request_body body;
  };
  std::deque<outgoing> outbox;
  bool writing = false;
  bool closed = false;
  std::deque<in_flight> waiting;
  std::int32_t next_correlation_id = 1;

  template <typename Buffers>
  asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> write(
      const Buffers& buffers) {
    if (tls) co_return co_await asio::async_write(*tls, buffers, use_tuple);
    co_return co_await asio::async_write(socket, buffers, use_tuple);
  }
  template <typename Buffers>
  asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> read(const Buffers& buffers) {
    if (tls) co_return co_await asio::async_read(*tls, buffers, use_tuple);
    co_return co_await asio::async_read(socket, buffers, use_tuple);
  }
};

connection::connection(asio::any_io_executor executor, broker_address address,
                       connection_options options)
    : address_(std::move(address)),
      options_(std::move(options)),
      state_(std::make_unique<state>(executor)) {}

connection::~connection() {
  boost::system::error_code ignored;
  state_->socket.close(ignored);
}

asio::awaitable<std::shared_ptr<connection>> connection::open(asio::any_io_executor executor,
                                                              broker_address address,
                                                              connection_options options) {
  std::shared_ptr<connection> self(
      new connection(executor, std::move(address), std::move(options)));
  co_await self->connect();
  // The read loop owns a reference so that the connection lives while responses can arrive.
  asio::co_spawn(
      executor, self->read_loop(self), [address = self->address_](std::exception_ptr failure) {
        if (!failure) return;
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& e) {
          spdlog::error("connection to {}: read loop failed: {}", address.to_string(), e.what());
        }
      });
  try {
    co_await self->negotiate_versions();
    if (self->options_.security.uses_sasl()) co_await self->authenticate();
  } catch (...) {
    self->close();
    throw;
  }
  spdlog::debug("connected to {} ({})", self->address_.to_string(),
                self->options_.security.describe());
  co_return self;
}

asio::awaitable<void> connection::connect() {
  auto& s = *state_;
  const auto where = address_.to_string();
  asio::steady_timer deadline(s.executor);
  deadline.expires_after(options_.connect_timeout);

  tcp::resolver resolver(s.executor);
  auto resolved =
      co_await (resolver.async_resolve(address_.host, std::to_string(address_.port), use_tuple) ||
                deadline.async_wait(use_tuple));
  if (resolved.index() == 1)
    throw net_failure(net_error::connect_failed, "resolve " + where + ": timed out");
  auto [resolve_error, endpoints] = std::get<0>(resolved);
  if (resolve_error)
    throw net_failure(net_error::connect_failed,
                      "resolve " + where + ": " + resolve_error.message());

  auto connected = co_await (asio::async_connect(s.socket, endpoints, use_tuple) ||
                             deadline.async_wait(use_tuple));
  if (connected.index() == 1) {
    throw net_failure(net_error::connect_failed,
                      "connect to " + where + ": timed out after " +
                          std::to_string(options_.connect_timeout.count()) + " ms");
  }
  if (auto [connect_error, endpoint] = std::get<0>(connected); connect_error) {
    throw net_failure(net_error::connect_failed,
                      "connect to " + where + ": " + connect_error.message());
  }
  s.socket.set_option(tcp::no_delay(true));

  if (!options_.security.uses_tls()) co_return;
  const auto& tls = options_.security.tls;
  s.tls_context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  auto& context = *s.tls_context;
  boost::system::error_code ec;
  if (tls.ca_file.empty()) {
    context.set_default_verify_paths(ec);
  } else {
    context.load_verify_file(tls.ca_file, ec);
  }
  if (ec)
    throw net_failure(net_error::bad_configuration,
                      "TLS CA file '" + tls.ca_file + "': " + ec.message());
  if (!tls.cert_file.empty()) {
    if (!tls.key_password.empty()) {
      context.set_password_callback(
          [password = tls.key_password](std::size_t, asio::ssl::context::password_purpose) {
            return password;
          });
    }
    context.use_certificate_chain_file(tls.cert_file, ec);
    if (!ec) context.use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
    if (ec)
      throw net_failure(net_error::bad_configuration,
                        "TLS client certificate/key: " + ec.message());
  }
  context.set_verify_mode(asio::ssl::verify_peer);
  s.tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(s.socket, context);
  if (tls.verify_hostname)
    s.tls->set_verify_callback(asio::ssl::host_name_verification(address_.host));
  // SNI, so brokers behind a TLS-routing proxy see which host we want.
  SSL_set_tlsext_host_name(s.tls->native_handle(), address_.host.c_str());
  auto handshake = co_await (s.tls->async_handshake(asio::ssl::stream_base::client, use_tuple) ||
                             deadline.async_wait(use_tuple));
  if (handshake.index() == 1)
    throw net_failure(net_error::connect_failed, "TLS handshake with " + where + ": timed out");
  if (auto [handshake_error] = std::get<0>(handshake); handshake_error) {
    throw net_failure(net_error::connect_failed,
                      "TLS handshake with " + where + ": " + handshake_error.message());
  }
}

asio::awaitable<void> connection::negotiate_versions() {
  protocol::api_versions_request request;
  request.client_software_name = client_software_name;
  request.client_software_version = client_software_version;
  std::int16_t version = protocol::api_versions_request::max_version;
  protocol::api_versions_response response;
  // A broker that does not know our ApiVersions version answers UNSUPPORTED_VERSION in v0 with
  // the versions it does support; we retry once at its maximum (KIP-511).
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto reply =
        co_await round_trip(api_key::api_versions, version, encode(request, version), true);
    auto body = protocol::bytes_view(reply.frame).subspan(reply.body_offset);
    protocol::reader in(body);
    response.decode(in, version);
    if (!in.ok() ||
        response.error_code == static_cast<std::int16_t>(error_code::unsupported_version)) {
      protocol::reader fallback(body);
      response.decode(fallback, 0);
      if (!fallback.ok()) throw_decode_failure(api_key::api_versions, version, in);
      auto it =
          std::find_if(response.api_keys.begin(), response.api_keys.end(), [](const auto& entry) {
            return entry.api_key == static_cast<std::int16_t>(api_key::api_versions);
          });
      if (it == response.api_keys.end() || attempt == 1) break;
      version =
          std::min<std::int16_t>(it->max_version, protocol::api_versions_request::max_version);
      continue;
    }
    break;
  }
  if (response.error_code != 0) {
    throw kafka_error(static_cast<error_code>(response.error_code),
                      "ApiVersions with " + address_.to_string());
  }
  for (const auto& entry : response.api_keys) {
    broker_versions_[entry.api_key] = {entry.min_version, entry.max_version};
  }
}

asio::awaitable<void> connection::authenticate() {
  const auto where = address_.to_string();
  auto authenticator = make_sasl_authenticator(options_.security.sasl);
  protocol::sasl_handshake_request handshake;
  handshake.mechanism = authenticator->mechanism_name();
  auto handshake_response = co_await send(handshake);
  if (handshake_response.error_code != 0) {
    std::string enabled;
    for (const auto& mechanism : handshake_response.mechanisms)
      enabled += (enabled.empty() ? "" : ", ") + mechanism;
    throw net_failure(net_error::authentication_failed,
                      "SASL with " + where + ": the broker does not enable " + handshake.mechanism +
                          " (it enables: " + enabled + ")");
  }
  std::optional<std::string> message = authenticator->initial_message();
  while (message) {
    protocol::sasl_authenticate_request request;
    request.auth_bytes = protocol::to_bytes(*message);
    auto response = co_await send(std::move(request));
    if (response.error_code != 0) {
      throw net_failure(net_error::authentication_failed,
                        "SASL " + std::string(authenticator->mechanism_name()) + " with " + where +
                            " as '" + options_.security.sasl.username + "': " +
                            response.error_message.value_or(
                                error_name(static_cast<error_code>(response.error_code))));
    }
    message = authenticator->respond(protocol::as_string_view(response.auth_bytes));
  }
}

// Not a coroutine itself: GCC 12 frees a by-value request_body twice when one coroutine passes
// it on to another and returns that one's result.
asio::awaitable<connection::raw_reply> connection::round_trip(api_key api, std::int16_t version,
                                                              bytes body, bool expects_response) {
  request_body whole;
  whole.bytes = std::move(body);
  return round_trip(api, version, std::move(whole), expects_response);
}

asio::awaitable<connection::raw_reply> connection::round_trip(api_key api, std::int16_t version,
                                                              request_body body,
                                                              bool expects_response) {
  auto& s = *state_;
  if (s.closed) {
    throw net_failure(net_error::connection_closed, std::string(protocol::to_string(api)) + " to " +
                                                        address_.to_string() +
                                                        ": connection is closed");
  }
  const auto correlation_id = s.next_correlation_id++;
  protocol::request_header header;
  header.request_api_key = static_cast<std::int16_t>(api);
  header.request_api_version = version;
  header.correlation_id = correlation_id;
  header.client_id = options_.client_id;

  // The body is not copied behind the header: the two (and any borrowed spans) are written
  // together.
  bytes head;
  protocol::writer out(head);
  auto size_at = out.reserve_int32();
  header.encode(out, is_flexible(api, version) ? 2 : 1);
  auto size = head.size() - 4 + body.bytes.size();
  for (const auto& span : body.borrowed) size += span.data.size();
  out.patch_int32(size_at, static_cast<std::int32_t>(size));

  std::shared_ptr<state::reply_channel> channel;
  if (expects_response) {
    channel = std::make_shared<state::reply_channel>(s.executor, 1);
    s.waiting.push_back({correlation_id, response_header_version(api, version), channel});
  }
  s.outbox.push_back({std::move(head), std::move(body)});
  if (!s.writing) co_await write_pending();
  if (!expects_response) {
    if (s.closed)
      throw net_failure(net_error::connection_closed,
                        "write to " + address_.to_string() + " failed");
    co_return raw_reply{};
  }

  asio::steady_timer timeout(s.executor);
  timeout.expires_after(options_.request_timeout);
  auto outcome = co_await (channel->async_receive(use_tuple) || timeout.async_wait(use_tuple));
  const auto what = std::string(protocol::to_string(api)) + " v" + std::to_string(version) +
                    " to " + address_.to_string();
  if (outcome.index() == 1) {
    close();
    throw net_failure(
        net_error::request_timed_out,
        what + ": no response within " + std::to_string(options_.request_timeout.count()) + " ms");
  }
  auto [channel_error, failure, reply] = std::get<0>(std::move(outcome));
  if (channel_error)
    throw net_failure(net_error::connection_closed, what + ": " + channel_error.message());
  if (failure)
    throw kafka_error(failure, what, is_retriable(static_cast<net_error>(failure.value())));
  co_return std::move(reply);
}

asio::awaitable<void> connection::write_pending() {
  auto& s = *state_;
  s.writing = true;
  while (!s.outbox.empty() && !s.closed) {
    auto frame = std::move(s.outbox.front());
    s.outbox.pop_front();
    const auto buffers = frame_buffers(frame.head, frame.body);
    auto [error, written] = co_await s.write(buffers);
    if (error) {
      spdlog::warn("connection to {}: write failed: {}", address_.to_string(), error.message());
      close();
    }
  }
  s.writing = false;
}

asio::awaitable<void> connection::read_loop(std::shared_ptr<connection> self) {
  auto& s = *state_;
  net_error reason = net_error::connection_closed;
  while (!s.closed) {
    std::array<std::byte, 4> size_bytes{};
    auto [size_error, size_read] = co_await s.read(asio::buffer(size_bytes));
    // close() while the read was pending: its requests have already been failed, so whatever the
    // read brought back (an error, or bytes that completed just before the close) answers nobody.
    if (size_error || s.closed) break;
    protocol::reader size_reader(size_bytes);
    const auto size = size_reader.int32();
    if (size < 4 || size > max_frame_size) {
      spdlog::error("connection to {}: frame size {} is not a Kafka response", address_.to_string(),
                    size);
      reason = net_error::protocol_violation;
      break;
    }
    raw_reply reply;
    reply.frame.resize(static_cast<std::size_t>(size));
    auto [body_error, body_read] = co_await s.read(asio::buffer(reply.frame));
    if (body_error || s.closed) break;
    if (s.waiting.empty()) {
      spdlog::error("connection to {}: a response arrived that nobody asked for",
                    address_.to_string());
      reason = net_error::protocol_violation;
      break;
    }
    auto request = s.waiting.front();
    s.waiting.pop_front();
    protocol::reader in(reply.frame);
    protocol::response_header header;
    header.decode(in, request.response_header_version);
    if (!in.ok() || header.correlation_id != request.correlation_id) {
      spdlog::error("connection to {}: expected correlation id {}, got {}", address_.to_string(),
                    request.correlation_id, header.correlation_id);
      s.waiting.push_front(request);
      reason = net_error::protocol_violation;
      break;
    }
    reply.body_offset = in.position();
    request.channel->try_send(boost::system::error_code{}, std::error_code{}, std::move(reply));
  }
  fail_in_flight(reason);
  close();
  (void)self;
}

void connection::fail_in_flight(net_error reason) {
  auto waiting = std::move(state_->waiting);
  state_->waiting.clear();
  for (auto& request : waiting) {
    request.channel->try_send(boost::system::error_code{}, make_error_code(reason), raw_reply{});
  }
}

bool connection::is_open() const {
  return !state_->closed;
}

void connection::close() {
  auto& s = *state_;
  if (s.closed) return;
  s.closed = true;
  boost::system::error_code ignored;
  s.socket.shutdown(tcp::socket::shutdown_both, ignored);
  s.socket.close(ignored);
  fail_in_flight(net_error::connection_closed);
}

std::optional<std::int16_t> connection::negotiated_version(api_key api) const {
  const auto* ours = protocol::find_api(static_cast<std::int16_t>(api));
  auto theirs = broker_versions_.find(static_cast<std::int16_t>(api));
  if (ours == nullptr || theirs == broker_versions_.end()) return std::nullopt;
  auto low = std::max(ours->min_version, theirs->second.min_version);
  auto high = std::min(ours->max_version, theirs->second.max_version);
  if (low > high) return std::nullopt;
  return high;
}

std::int16_t connection::required_version(api_key api) const {
  if (auto version = negotiated_version(api)) return *version;
  auto theirs = broker_versions_.find(static_cast<std::int16_t>(api));
  const auto* ours = protocol::find_api(static_cast<std::int16_t>(api));
  std::string detail = theirs == broker_versions_.end()
                           ? "the broker does not support it"
                           : "broker supports v" + std::to_string(theirs->second.min_version) +
                                 "-v" + std::to_string(theirs->second.max_version) + ", Sluice v" +
                                 std::to_string(ours->min_version) + "-v" +
                                 std::to_string(ours->max_version);
  throw net_failure(net_error::no_common_version, std::string(protocol::to_string(api)) + " with " +
                                                      address_.to_string() + ": " + detail);
}

void connection::throw_decode_failure(api_key api, std::int16_t version,
                                      const protocol::reader& in) const {
  throw net_failure(net_error::protocol_violation,
                    "decode " + std::string(protocol::to_string(api)) + " v" +
                        std::to_string(version) + " response from " + address_.to_string() + ": " +
                        protocol::to_string(in.error()) + " at byte " +
                        std::to_string(in.position()));
}

}  // namespace sluice::kafka
