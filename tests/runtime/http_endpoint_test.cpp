#include "runtime/http/http_endpoint.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <stdexcept>
#include <thread>

#include "tests/runtime/http_client.hpp"

namespace sluice::runtime::http {
namespace {

using test_support::http_request;
namespace bhttp = boost::beast::http;

// An endpoint serving on its own thread, as the app's executor would.
class served {
 public:
  explicit served(std::map<std::string, handler> routes)
      : work_(asio::make_work_guard(context_)),
        endpoint_(context_.get_executor(), endpoint_config{"127.0.0.1", 0}, std::move(routes)) {
    endpoint_.start();
    runner_ = std::thread([this] { context_.run(); });
  }
  ~served() {
    asio::post(context_, [this] {
      endpoint_.close();
      work_.reset();
    });
    runner_.join();
  }
  std::uint16_t port() const { return endpoint_.port(); }

 private:
  asio::io_context context_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  endpoint endpoint_;
  std::thread runner_;
};

TEST(http_endpoint, serves_each_path_with_its_handler) {
  int calls = 0;
  served server(
      {{"/metrics",
        [&] {
          return response{200, "text/plain; version=0.0.4", "m " + std::to_string(++calls)};
        }},
       {"/ready", [] {
          return response{503, "text/plain", "not ready: restoring state\n"};
        }}});
  ASSERT_NE(server.port(), 0);
  auto metrics = http_request(server.port(), "/metrics");
  EXPECT_EQ(metrics.status, 200u);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4");
  EXPECT_EQ(metrics.body, "m 1");
  EXPECT_EQ(http_request(server.port(), "/metrics?x=1").body, "m 2") << "a query string is ignored";
  auto ready = http_request(server.port(), "/ready");
  EXPECT_EQ(ready.status, 503u);
  EXPECT_EQ(ready.body, "not ready: restoring state\n");
}

TEST(http_endpoint, answers_unknown_paths_methods_and_failing_handlers_clearly) {
  served server({{"/health",
                  [] {
                    return response{200, "text/plain", "ok\n"};
                  }},
                 {"/boom", []() -> response { throw std::runtime_error("the handler failed"); }}});
  auto missing = http_request(server.port(), "/nope");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_NE(missing.body.find("/health"), std::string::npos) << missing.body;
  EXPECT_EQ(http_request(server.port(), "/health", bhttp::verb::post).status, 405u);
  auto head = http_request(server.port(), "/health", bhttp::verb::head);
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
  auto failed = http_request(server.port(), "/boom");
  EXPECT_EQ(failed.status, 500u);
  EXPECT_EQ(failed.body, "the handler failed\n");
}

TEST(http_endpoint, a_taken_port_is_an_error_naming_it) {
  asio::io_context context;
  endpoint first(context.get_executor(), {"127.0.0.1", 0}, {});
  try {
    endpoint second(context.get_executor(), {"127.0.0.1", first.port()}, {});
    FAIL() << "bound a taken port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(first.port())),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(endpoint(context.get_executor(), {"not-an-address", 0}, {}), std::runtime_error);
}

}  // namespace
}  // namespace sluice::runtime::http
