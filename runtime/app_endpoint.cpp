#include "runtime/app_endpoint.hpp"

#include "runtime/metrics_exposition.hpp"

namespace sluice::runtime {
namespace {

constexpr const char* plain_text = "text/plain; charset=utf-8";

}  // namespace

app_endpoint::app_endpoint(asio::any_io_executor executor, const runtime_config::http_endpoint_config& config,
                           std::vector<const stream_app*> apps)
    : apps_(std::move(apps)),
      stalled_after_(config.stalled_after),
      endpoint_(executor, http::endpoint_config{config.address, config.port},
                {{"/metrics", [this] { return metrics(); }},
                 {"/ready", [this] { return ready(); }},
                 {"/health", [this] { return health(); }}}) {
  endpoint_.start();
}

http::response app_endpoint::metrics() const {
  std::vector<metrics_sources> sources;
  sources.reserve(apps_.size());
  for (const auto* app : apps_) sources.push_back(app->scrape_sources());
  return {200, "text/plain; version=0.0.4; charset=utf-8", prometheus_text(sources)};
}

http::response app_endpoint::ready() const {
  std::string not_ready;
  for (const auto* app : apps_) {
    if (auto why = app->not_ready_reason()) not_ready += app->topology().name + ": not ready: " + *why + "\n";
  }
  if (not_ready.empty()) return {200, plain_text, "ready\n"};
  return {503, plain_text, not_ready};
}

http::response app_endpoint::health() const {
  std::string stalled;
  for (const auto* app : apps_) {
    const auto quiet = app->time_since_loop_turned();
    if (quiet > stalled_after_) {
      stalled += app->topology().name + ": stalled: the loop has not turned for " +
                 std::to_string(std::chrono::duration_cast<std::chrono::seconds>(quiet).count()) + " s\n";
    }
  }
  if (stalled.empty()) return {200, plain_text, "ok\n"};
  return {503, plain_text, stalled};
}

}  // namespace sluice::runtime
