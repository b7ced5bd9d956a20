#include "tests/support/tcp_proxy.hpp"

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "kafka/protocol/messages/api_key.hpp"
#include "kafka/protocol/messages/find_coordinator.hpp"
#include "kafka/protocol/messages/metadata.hpp"
#include "kafka/protocol/messages/response_header.hpp"
#include "kafka/protocol/wire.hpp"

namespace sluice::test {

namespace {

namespace asio = boost::asio;
namespace protocol = sluice::kafka::protocol;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Kafka's own limit on a frame is socket.request.max.bytes (100 MiB); anything larger is garbage.
constexpr std::int32_t max_frame = 256 << 20;

std::int32_t read_int32(const std::byte* at) {
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = (value << 8) | static_cast<std::uint8_t>(at[i]);
  return static_cast<std::int32_t>(value);
}

std::int16_t read_int16(const std::byte* at) {
  return static_cast<std::int16_t>((static_cast<std::uint8_t>(at[0]) << 8) |
                                   static_cast<std::uint8_t>(at[1]));
}

void write_int32(std::byte* at, std::int32_t value) {
  auto bits = static_cast<std::uint32_t>(value);
  for (int i = 3; i >= 0; --i) {
    at[i] = static_cast<std::byte>(bits & 0xff);
    bits >>= 8;
  }
}

void log_failure(const char* what, std::exception_ptr failure) {
  if (!failure) return;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tcp_proxy: %s failed: %s\n", what, e.what());
  }
}

// One client connection and the broker connection it is forwarded to.
struct session {
  tcp::socket client;
  tcp::socket broker;
  // Correlation id -> (api key, version) of the requests sent, to decode their responses.
  std::map<std::int32_t, std::pair<std::int16_t, std::int16_t>> pending;
  bool closed = false;

  explicit session(tcp::socket accepted)
      : client(std::move(accepted)), broker(client.get_executor()) {}

  void close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ignored;
    client.shutdown(tcp::socket::shutdown_both, ignored);
    client.close(ignored);
    broker.shutdown(tcp::socket::shutdown_both, ignored);
    broker.close(ignored);
  }
};

struct listener {
  std::string upstream_host;
  int upstream_port = 0;
  tcp::acceptor acceptor;
  std::uint16_t local_port = 0;

  listener(asio::io_context& context, std::string host, int port)
      : upstream_host(std::move(host)), upstream_port(port), acceptor(context) {
    tcp::endpoint local(asio::ip::make_address("127.0.0.1"), 0);
    acceptor.open(local.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(local);
    acceptor.listen();
    local_port = acceptor.local_endpoint().port();
  }
};

struct cut_rule {
  std::size_t every = 0;  // 0: off
  bool repeat = false;
  std::size_t counted = 0;
};

}  // namespace

// Everything below runs on the proxy's thread, except the atomics and the constructor (before
// the thread starts).
struct tcp_proxy::impl {
  asio::io_context context;
  asio::executor_work_guard<asio::io_context::executor_type> work{context.get_executor()};
  std::map<std::pair<std::string, int>, std::shared_ptr<listener>> listeners;
  std::vector<std::uint16_t> bootstrap_ports;
  std::set<std::shared_ptr<session>> sessions;
  std::array<cut_rule, 2> rules;
  std::map<std::int16_t, std::chrono::milliseconds> response_delays;  // by api key
  std::map<std::string, std::size_t> bytes_by_upstream;
  bool stopping = false;
  std::atomic<std::size_t> cut_count{0};
  std::atomic<std::size_t> accepted{0};
  std::atomic<std::size_t> rewritten{0};
  std::thread thread;

  // Runs fn on the proxy thread and waits for it.
  void run_on_proxy(std::function<void()> fn) {
    std::promise<void> done;
    auto finished = done.get_future();
    asio::post(context, [&] {
      fn();
      done.set_value();
    });
    finished.get();
  }

  std::uint16_t listener_for(const std::string& host, int port) {
    auto key = std::make_pair(host, port);
    auto it = listeners.find(key);
    if (it != listeners.end()) return it->second->local_port;
    auto made = std::make_shared<listener>(context, host, port);
    listeners.emplace(key, made);
    asio::co_spawn(context, accept_loop(made),
                   [](std::exception_ptr e) { log_failure("accepting", e); });
    return made->local_port;
  }

  void cut_all() {
    for (const auto& s : sessions) s->close();
    sessions.clear();
    ++cut_count;
  }

  asio::awaitable<void> accept_loop(std::shared_ptr<listener> from) {
    while (!stopping) {
      auto [error, socket] = co_await from->acceptor.async_accept(use_tuple);
      if (error || stopping) break;
      ++accepted;
      auto s = std::make_shared<session>(std::move(socket));
      sessions.insert(s);
      asio::co_spawn(context, run_session(s, from->upstream_host, from->upstream_port),
                     [](std::exception_ptr e) { log_failure("a session", e); });
    }
  }

  asio::awaitable<void> run_session(std::shared_ptr<session> s, std::string host, int port) {
    tcp::resolver resolver(context);
    boost::system::error_code error;
    auto endpoints = resolver.resolve(host, std::to_string(port), error);
    if (error) {
      std::fprintf(stderr, "tcp_proxy: cannot resolve %s:%d: %s\n", host.c_str(), port,
                   error.message().c_str());
      s->close();
      sessions.erase(s);
      co_return;
    }
    auto [connect_error, connected] = co_await asio::async_connect(s->broker, endpoints, use_tuple);
    (void)connected;
    if (connect_error || s->closed) {
      s->close();
      sessions.erase(s);
      co_return;
    }
    asio::co_spawn(context, pump_to_broker(s),
                   [](std::exception_ptr e) { log_failure("forwarding to the broker", e); });
    co_await pump_to_client(s, host + ":" + std::to_string(port));
  }

  // Reads one size-prefixed frame (prefix included in `frame`); false at the end or on error.
  static asio::awaitable<bool> read_frame(tcp::socket& from, protocol::bytes& frame) {
    std::array<std::byte, 4> size_bytes{};
    auto [size_error, size_read] =
        co_await asio::async_read(from, asio::buffer(size_bytes), use_tuple);
    (void)size_read;
    if (size_error) co_return false;
    const auto size = read_int32(size_bytes.data());
    if (size < 0 || size > max_frame) co_return false;
    frame.resize(4 + static_cast<std::size_t>(size));
    std::copy(size_bytes.begin(), size_bytes.end(), frame.begin());
    auto [body_error, body_read] = co_await asio::async_read(
        from, asio::buffer(frame.data() + 4, frame.size() - 4), use_tuple);
    (void)body_read;
    co_return !body_error;
  }

  // Writes the frame, or the part of it before a cut and then cuts every connection.
  asio::awaitable<bool> forward(std::shared_ptr<session> s, tcp::socket& to,
                                const protocol::bytes& frame, direction where) {
    auto& rule = rules[where == direction::to_broker ? 0 : 1];
    std::size_t length = frame.size();
    bool cut = false;
    if (rule.every > 0) {
      if (rule.counted + length >= rule.every) {
        length = rule.every - rule.counted;
        cut = true;
        rule.counted = 0;
        if (!rule.repeat) rule.every = 0;
      } else {
        rule.counted += length;
      }
    }
    if (length > 0 && !s->closed) {
      auto [error, written] =
          co_await asio::async_write(to, asio::buffer(frame.data(), length), use_tuple);
      (void)written;
      if (error && !cut) co_return false;
    }
    if (cut) cut_all();
    co_return !s->closed;
  }

  asio::awaitable<void> pump_to_broker(std::shared_ptr<session> s) {
    protocol::bytes frame;
    while (!s->closed && co_await read_frame(s->client, frame)) {
      // Request header v1/v2: api key, api version, correlation id.
      if (frame.size() >= 12) {
        s->pending[read_int32(frame.data() + 8)] = {read_int16(frame.data() + 4),
                                                    read_int16(frame.data() + 6)};
      }
      if (!co_await forward(s, s->broker, frame, direction::to_broker)) break;
    }
    s->close();
    sessions.erase(s);
  }

  asio::awaitable<void> pump_to_client(std::shared_ptr<session> s, std::string upstream) {
    protocol::bytes frame;
    while (!s->closed && co_await read_frame(s->broker, frame)) {
      bytes_by_upstream[upstream] += frame.size();
      std::chrono::milliseconds delay{0};
      if (frame.size() >= 8) {
        auto it = s->pending.find(read_int32(frame.data() + 4));
        if (it != s->pending.end()) {
          const auto [key, version] = it->second;
          s->pending.erase(it);
          rewrite(frame, key, version);
          if (auto d = response_delays.find(key); d != response_delays.end()) delay = d->second;
        }
      }
      if (delay.count() > 0) {
        // Holds this connection's later responses too, as a slow broker would.
        asio::steady_timer wait(s->client.get_executor(), delay);
        co_await wait.async_wait(use_tuple);
      }
      if (!co_await forward(s, s->client, frame, direction::to_client)) break;
    }
    s->close();
    sessions.erase(s);
  }

  // Points the broker addresses of Metadata and FindCoordinator responses at the proxy.
  void rewrite(protocol::bytes& frame, std::int16_t key, std::int16_t version) {
    const auto api = static_cast<protocol::api_key>(key);
    if (api == protocol::api_key::metadata) {
      rewrite_body<protocol::metadata_response>(frame, version, [&](auto& body) {
        for (auto& broker : body.brokers) {
          broker.port = listener_for(broker.host, broker.port);
          broker.host = "127.0.0.1";
        }
      });
    } else if (api == protocol::api_key::find_coordinator) {
      rewrite_body<protocol::find_coordinator_response>(frame, version, [&](auto& body) {
        if (!body.host.empty() && body.port > 0) {
          body.port = listener_for(body.host, body.port);
          body.host = "127.0.0.1";
        }
        for (auto& coordinator : body.coordinators) {
          if (coordinator.host.empty() || coordinator.port <= 0) continue;
          coordinator.port = listener_for(coordinator.host, coordinator.port);
          coordinator.host = "127.0.0.1";
        }
      });
    }
  }

  template <typename Response, typename Edit>
  void rewrite_body(protocol::bytes& frame, std::int16_t version, Edit edit) {
    const std::int16_t header_version = version >= Response::first_flexible_version ? 1 : 0;
    protocol::reader in(protocol::bytes_view(frame).subspan(4));
    protocol::response_header header;
    header.decode(in, header_version);
    Response body;
    body.decode(in, version);
    if (!in.ok()) {
      std::fprintf(stderr, "tcp_proxy: cannot decode a response (api %d v%d); forwarded as is\n",
                   static_cast<int>(Response::key), version);
      return;
    }
    edit(body);
    protocol::bytes out(4);
    protocol::writer writer(out);
    header.encode(writer, header_version);
    body.encode(writer, version);
    write_int32(out.data(), static_cast<std::int32_t>(out.size() - 4));
    frame = std::move(out);
    ++rewritten;
  }
};

tcp_proxy::tcp_proxy(const std::string& upstream_bootstrap) : impl_(std::make_unique<impl>()) {
  std::size_t start = 0;
  while (start < upstream_bootstrap.size()) {
    auto end = upstream_bootstrap.find(',', start);
    if (end == std::string::npos) end = upstream_bootstrap.size();
    const auto address = upstream_bootstrap.substr(start, end - start);
    const auto colon = address.rfind(':');
    if (colon == std::string::npos || colon + 1 == address.size()) {
      throw std::invalid_argument("tcp_proxy: '" + address + "' in '" + upstream_bootstrap +
                                  "' is not host:port");
    }
    impl_->bootstrap_ports.push_back(
        impl_->listener_for(address.substr(0, colon), std::stoi(address.substr(colon + 1))));
    start = end + 1;
  }
  if (impl_->bootstrap_ports.empty()) {
    throw std::invalid_argument("tcp_proxy: no upstream bootstrap address");
  }
  impl_->thread = std::thread([this] { impl_->context.run(); });
}

tcp_proxy::~tcp_proxy() {
  // Close everything so that every coroutine ends, then let run() return on its own.
  impl_->run_on_proxy([this] {
    impl_->stopping = true;
    for (auto& [address, l] : impl_->listeners) {
      boost::system::error_code ignored;
      l->acceptor.close(ignored);
    }
    for (const auto& s : impl_->sessions) s->close();
    impl_->sessions.clear();
  });
  impl_->work.reset();
  impl_->thread.join();
}

std::string tcp_proxy::bootstrap_servers() const {
  std::string out;
  for (auto port : impl_->bootstrap_ports) {
    out += (out.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(port);
  }
  return out;
}

void tcp_proxy::cut_all() {
  impl_->run_on_proxy([this] { impl_->cut_all(); });
}

void tcp_proxy::cut_every(direction where, std::size_t bytes) {
  impl_->run_on_proxy([this, where, bytes] {
    impl_->rules[where == direction::to_broker ? 0 : 1] = cut_rule{bytes, true, 0};
  });
}

void tcp_proxy::delay_responses(std::int16_t api_key, std::chrono::milliseconds delay) {
  impl_->run_on_proxy([this, api_key, delay] {
    if (delay.count() > 0) {
      impl_->response_delays[api_key] = delay;
    } else {
      impl_->response_delays.erase(api_key);
    }
  });
}

void tcp_proxy::cut_after(direction where, std::size_t bytes) {
  impl_->run_on_proxy([this, where, bytes] {
    impl_->rules[where == direction::to_broker ? 0 : 1] = cut_rule{bytes, false, 0};
  });
}

std::size_t tcp_proxy::cuts() const {
  return impl_->cut_count;
}
std::size_t tcp_proxy::connections_accepted() const {
  return impl_->accepted;
}
std::size_t tcp_proxy::rewritten_responses() const {
  return impl_->rewritten;
}

std::size_t tcp_proxy::bytes_from(const std::string& upstream) const {
  std::size_t bytes = 0;
  impl_->run_on_proxy([&] {
    auto it = impl_->bytes_by_upstream.find(upstream);
    if (it != impl_->bytes_by_upstream.end()) bytes = it->second;
  });
  return bytes;
}

}  // namespace sluice::test
