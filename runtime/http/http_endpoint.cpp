#include "runtime/http/http_endpoint.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>
#include <stdexcept>

namespace sluice::runtime::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct endpoint::state {
  state(asio::any_io_executor executor, endpoint_config config,
        std::map<std::string, handler> routes)
      : config(std::move(config)), routes(std::move(routes)), acceptor(executor) {}

  endpoint_config config;
  std::map<std::string, handler> routes;
  tcp::acceptor acceptor;
  std::list<std::weak_ptr<beast::tcp_stream>> connections;
  std::uint16_t port = 0;
  bool closed = false;

  bhttp::response<bhttp::string_body> answer(
      const bhttp::request<bhttp::string_body>& request) const {
    response result;
    const std::string target(request.target());
    const auto path = target.substr(0, target.find('?'));
    if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) {
      result = {405, "text/plain; charset=utf-8", "only GET and HEAD\n"};
    } else if (auto route = routes.find(path); route == routes.end()) {
      std::string known;
      for (const auto& [name, unused] : routes) known += " " + name;
      result = {404, "text/plain; charset=utf-8", "no " + path + " here; try" + known + "\n"};
    } else {
      try {
        result = route->second();
      } catch (const std::exception& e) {
        result = {500, "text/plain; charset=utf-8", std::string(e.what()) + "\n"};
      }
    }
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(result.status),
                                            request.version()};
    out.set(bhttp::field::server, "sluice");
    out.set(bhttp::field::content_type, result.content_type);
    out.keep_alive(request.keep_alive());
    out.body() = std::move(result.body);
    out.prepare_payload();
    if (request.method() == bhttp::verb::head) out.body().clear();
    return out;
  }
};

namespace {

asio::awaitable<void> serve(std::shared_ptr<endpoint::state> self,
                            std::shared_ptr<beast::tcp_stream> stream) {
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request<bhttp::string_body> request;
    stream->expires_after(self->config.idle_timeout);
    auto [read_error, read_bytes] =
        co_await bhttp::async_read(*stream, buffer, request, asio::as_tuple(asio::use_awaitable));
    if (read_error || self->closed) break;
    auto out = self->answer(request);
    const bool keep_alive = out.keep_alive();
    auto [write_error, written] =
        co_await bhttp::async_write(*stream, out, asio::as_tuple(asio::use_awaitable));
    if (write_error || !keep_alive) break;
  }
  beast::error_code ignored;
  stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream->close();
}

asio::awaitable<void> accept(std::shared_ptr<endpoint::state> self) {
  while (!self->closed) {
    auto [error, socket] =
        co_await self->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (self->closed) break;
    if (error) {
      // A peer that hung up before the accept completed, or out of descriptors for a moment.
      spdlog::debug("http endpoint: accept failed: {}", error.message());
      continue;
    }
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    self->connections.remove_if([](const auto& weak) { return weak.expired(); });
    self->connections.push_back(stream);
    asio::co_spawn(self->acceptor.get_executor(), serve(self, std::move(stream)), asio::detached);
  }
}

}  // namespace

endpoint::endpoint(asio::any_io_executor executor, endpoint_config config,
                   std::map<std::string, handler> routes)
    : state_(std::make_shared<state>(std::move(executor), std::move(config), std::move(routes))) {
  const auto where = state_->config.address + ":" + std::to_string(state_->config.port);
  beast::error_code error;
  const auto address = asio::ip::make_address(state_->config.address, error);
  if (error)
    throw std::runtime_error("http endpoint: '" + state_->config.address +
                             "' is not an IP address");
  const tcp::endpoint local(address, state_->config.port);
  auto& acceptor = state_->acceptor;
  acceptor.open(local.protocol(), error);
  if (!error) acceptor.set_option(tcp::acceptor::reuse_address(true), error);
  if (!error) acceptor.bind(local, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error)
    throw std::runtime_error("http endpoint: cannot listen on " + where + ": " + error.message());
  state_->port = acceptor.local_endpoint().port();
}

endpoint::~endpoint() {
  close();
}

std::uint16_t endpoint::port() const {
  return state_->port;
}

void endpoint::start() {
  asio::co_spawn(state_->acceptor.get_executor(), accept(state_), asio::detached);
}

void endpoint::close() {
  if (state_->closed) return;
  state_->closed = true;
  beast::error_code ignored;
  state_->acceptor.close(ignored);
  for (auto& weak : state_->connections) {
    if (auto stream = weak.lock()) stream->socket().close(ignored);
  }
  state_->connections.clear();
}

}  // namespace sluice::runtime::http
