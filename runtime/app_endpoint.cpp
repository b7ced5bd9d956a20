#include "runtime/app_endpoint.hpp"

#include <boost/asio/post.hpp>
#include <future>

#include "runtime/metrics_exposition.hpp"

namespace sluice::runtime {
namespace {

constexpr const char* plain_text = "text/plain; charset=utf-8";

}  // namespace

app_endpoint::app_endpoint(asio::any_io_executor executor,
                           const runtime_config::http_endpoint_config& config,
                           std::vector<const stream_app*> apps)
    : executor_(executor),
      apps_(std::move(apps)),
      stalled_after_(config.stalled_after),
      endpoint_(executor, http::endpoint_config{config.address, config.port},
                {{"/metrics", [this] { return metrics(); }},
                 {"/ready", [this] { return ready(); }},
                 {"/health", [this] { return health(); }}}) {
  endpoint_.start();
}

bool app_endpoint::on_app(const stream_app& app, const std::function<void()>& read) const {
  if (app.executor() == executor_) {
    read();
    return true;
  }
  auto task = std::make_shared<std::packaged_task<void()>>(read);
  auto done = task->get_future();
  asio::post(app.executor(), [task] { (*task)(); });
  if (done.wait_for(app_timeout) != std::future_status::ready) return false;
  done.get();
  return true;
}

http::response app_endpoint::metrics() const {
  exposition out;
  for (const auto* app : apps_) on_app(*app, [&] { out.add(app->scrape_sources()); });
  return {200, "text/plain; version=0.0.4; charset=utf-8", out.text()};
}

http::response app_endpoint::ready() const {
  std::string not_ready;
  for (const auto* app : apps_) {
    std::optional<std::string> why;
    if (!on_app(*app, [&] { why = app->not_ready_reason(); })) why = "did not answer within 2 s";
    if (why) not_ready += app->topology().name + ": not ready: " + *why + "\n";
  }
  if (not_ready.empty()) return {200, plain_text, "ready\n"};
  return {503, plain_text, not_ready};
}

http::response app_endpoint::health() const {
  std::string stalled;
  for (const auto* app : apps_) {
    std::chrono::steady_clock::duration quiet{};
    if (!on_app(*app, [&] { quiet = app->time_since_loop_turned(); }))
      quiet = std::chrono::steady_clock::duration::max();
    if (quiet > stalled_after_) {
      stalled +=
          app->topology().name + ": stalled: the loop has not turned for " +
          (quiet == std::chrono::steady_clock::duration::max()
               ? std::string("long: it does not answer")
               : std::to_string(std::chrono::duration_cast<std::chrono::seconds>(quiet).count()) +
                     " s") +
          "\n";
    }
  }
  if (stalled.empty()) return {200, plain_text, "ok\n"};
  return {503, plain_text, stalled};
}

}  // namespace sluice::runtime
