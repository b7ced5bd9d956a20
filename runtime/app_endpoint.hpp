#pragma once

// app_endpoint: the HTTP endpoint of one process, for every stream_app it runs (one, or several
// pipelines in one `sluice run`): /metrics has each app's metrics under its `pipeline` label, in
// one exposition; /ready is 200 when every app is ready, /health when every app's loop turns.
// Serves on the apps' executor (they must share it), so a scrape reads their state between the
// steps of their loops.

#include "runtime/http/http_endpoint.hpp"
#include "runtime/stream_app.hpp"

#include <memory>
#include <vector>

namespace sluice::runtime {

class app_endpoint {
 public:
  // Listens at once; throws std::runtime_error naming the address when it cannot.
  app_endpoint(asio::any_io_executor executor, const runtime_config::http_endpoint_config& config,
               std::vector<const stream_app*> apps);
  std::uint16_t port() const { return endpoint_.port(); }
  void close() { endpoint_.close(); }

 private:
  http::response metrics() const;
  http::response ready() const;
  http::response health() const;

  std::vector<const stream_app*> apps_;
  std::chrono::seconds stalled_after_;
  http::endpoint endpoint_;
};

}  // namespace sluice::runtime
