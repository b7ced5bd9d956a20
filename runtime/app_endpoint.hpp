#pragma once

// app_endpoint: the HTTP endpoint of one process, for every stream_app it runs (several pipelines
// in one `sluice run`, or one pipeline on several stream threads): /metrics has each app's
// metrics under its `pipeline` (and `thread`) label, in one exposition; /ready is 200 when every
// app is ready, /health when every app's loop turns. A scrape reads each app on the app's own
// executor, between the steps of its loop: directly for the apps on the endpoint's executor,
// through a task posted to the others' (waiting at most `app_timeout`; an app that does not
// answer counts as not ready and is left out of /metrics).

#include <functional>
#include <memory>
#include <vector>

#include "runtime/http/http_endpoint.hpp"
#include "runtime/stream_app.hpp"

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
  // Runs `read` on the app's executor; false when it did not run within app_timeout.
  bool on_app(const stream_app& app, const std::function<void()>& read) const;

  static constexpr std::chrono::seconds app_timeout{2};
  asio::any_io_executor executor_;
  std::vector<const stream_app*> apps_;
  std::chrono::seconds stalled_after_;
  http::endpoint endpoint_;
};

}  // namespace sluice::runtime
