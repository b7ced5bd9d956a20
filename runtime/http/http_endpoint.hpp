#pragma once

// http_endpoint: a small HTTP/1.1 server for what an operator's tools poll: Prometheus' scrape of
// /metrics, an orchestrator's /health and /ready probes. GET and HEAD only, one handler per path,
// keep-alive, an idle connection closed after a timeout. Boost.Beast on the caller's executor:
// the handlers run there, so they may read the application's state without locks, and a scrape
// waits at most for the step the loop is in.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace sluice::runtime::http {

namespace asio = boost::asio;

struct response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using handler = std::function<response()>;

struct endpoint_config {
  std::string address = "0.0.0.0";
  std::uint16_t port = 0;  // 0: any free port (port() says which)
  std::chrono::seconds idle_timeout{30};
};

class endpoint {
 public:
  // Binds and listens at once; throws std::runtime_error naming the address when it cannot (the
  // port taken, an address not of this host). Serves once start() is called.
  endpoint(asio::any_io_executor executor, endpoint_config config,
           std::map<std::string, handler> routes);
  ~endpoint();  // close()
  endpoint(const endpoint&) = delete;
  endpoint& operator=(const endpoint&) = delete;

  std::uint16_t port() const;
  void start();
  // Stops accepting and closes the open connections; the executor then runs out of this work.
  void close();

  struct state;  // http_endpoint.cpp

 private:
  std::shared_ptr<state> state_;
};

}  // namespace sluice::runtime::http
