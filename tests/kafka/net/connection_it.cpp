// The connection against the real broker that scripts/kafka starts (PLAINTEXT and SASL_SSL).
#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>

#include "kafka/net/connection.hpp"
#include "kafka/protocol/messages/metadata.hpp"
#include "tests/support/run_coroutine.hpp"
#include "tests/support/test_cluster.hpp"

namespace sluice::kafka {
namespace {

namespace asio = boost::asio;
using protocol::api_key;
using sluice::test::run_coroutine;

broker_address first_address(const std::string& list) {
  return parse_bootstrap_servers(list).front();
}

connection_options sasl_ssl_options(sasl_mechanism mechanism, std::string user,
                                    std::string password) {
  connection_options options;
  options.security.protocol = security_protocol::sasl_ssl;
  options.security.tls.ca_file = test::required_env("SLUICE_CA_FILE");
  options.security.sasl = {mechanism, std::move(user), std::move(password), ""};
  options.connect_timeout = std::chrono::seconds(10);
  return options;
}

asio::awaitable<protocol::metadata_response> metadata_over(asio::any_io_executor executor,
                                                           broker_address address,
                                                           connection_options options) {
  auto conn = co_await connection::open(executor, address, options);
  protocol::metadata_request request;
  request.topics.emplace();  // brokers only
  auto response = co_await conn->send(std::move(request));
  conn->close();
  co_return response;
}

asio::awaitable<void> check_negotiated_versions(asio::any_io_executor executor,
                                                broker_address address) {
  connection_options options;
  auto conn = co_await connection::open(executor, address, options);
  EXPECT_TRUE(conn->is_open());
  EXPECT_GT(conn->broker_versions().size(), 40u);
  // We negotiate the highest version both sides support.
  auto metadata = conn->negotiated_version(api_key::metadata);
  EXPECT_EQ(metadata, std::min<std::int16_t>(protocol::metadata_request::max_version,
                                             conn->broker_versions().at(3).max_version));
  EXPECT_GE(conn->broker_versions().at(1).min_version, 4);  // Fetch v0-v3 are gone (KIP-896)
  protocol::metadata_request request;
  auto response = co_await conn->send(std::move(request));
  EXPECT_FALSE(response.brokers.empty());
  EXPECT_TRUE(response.cluster_id.has_value());
  conn->close();
}

TEST(connection, negotiates_versions_with_the_real_broker) {
  auto address = first_address(test::bootstrap_servers());
  run_coroutine(
      [&](asio::any_io_executor executor) { return check_negotiated_versions(executor, address); });
}

asio::awaitable<void> send_many_in_flight(asio::any_io_executor executor, broker_address address,
                                          int count) {
  connection_options options;
  auto conn = co_await connection::open(executor, address, options);
  std::vector<std::future<protocol::metadata_response>> replies;
  for (int i = 0; i < count; ++i) {
    replies.push_back(
        asio::co_spawn(executor, conn->send(protocol::metadata_request{}), asio::use_future));
  }
  // The requests all go out back to back before any answer is looked at.
  while (std::any_of(replies.begin(), replies.end(), [](auto& reply) {
    return reply.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
  })) {
    asio::steady_timer tick(executor, std::chrono::milliseconds(5));
    co_await tick.async_wait(asio::use_awaitable);
  }
  for (auto& reply : replies) EXPECT_FALSE(reply.get().brokers.empty());
  conn->close();
}

TEST(connection, pipelines_many_requests_and_answers_each_in_order) {
  auto address = first_address(test::bootstrap_servers());
  run_coroutine(
      [&](asio::any_io_executor executor) { return send_many_in_flight(executor, address, 200); });
}

TEST(connection, authenticates_with_scram_sha_256_and_512_over_tls) {
  auto address = first_address(test::required_env("SLUICE_SASL_SSL_BOOTSTRAP"));
  for (auto mechanism : {sasl_mechanism::scram_sha_256, sasl_mechanism::scram_sha_512}) {
    auto options = sasl_ssl_options(mechanism, test::required_env("SLUICE_SCRAM_USER"),
                                    test::required_env("SLUICE_SCRAM_PASSWORD"));
    auto response = run_coroutine(
        [&](asio::any_io_executor executor) { return metadata_over(executor, address, options); });
    EXPECT_FALSE(response.brokers.empty()) << to_string(mechanism);
  }
}

TEST(connection, authenticates_with_plain_over_tls_and_checks_the_host_name) {
  auto address = first_address(test::required_env("SLUICE_SASL_SSL_BOOTSTRAP"));
  address.host = "localhost";  // the broker certificate names localhost and 127.0.0.1
  auto options = sasl_ssl_options(sasl_mechanism::plain, test::required_env("SLUICE_PLAIN_USER"),
                                  test::required_env("SLUICE_PLAIN_PASSWORD"));
  auto response = run_coroutine(
      [&](asio::any_io_executor executor) { return metadata_over(executor, address, options); });
  EXPECT_FALSE(response.brokers.empty());
}

TEST(connection, a_wrong_password_is_a_clear_fatal_error) {
  auto address = first_address(test::required_env("SLUICE_SASL_SSL_BOOTSTRAP"));
  auto options = sasl_ssl_options(sasl_mechanism::scram_sha_512,
                                  test::required_env("SLUICE_SCRAM_USER"), "wrong");
  try {
    run_coroutine(
        [&](asio::any_io_executor executor) { return metadata_over(executor, address, options); });
    FAIL() << "authentication with a wrong password succeeded";
  } catch (const kafka_error& e) {
    EXPECT_FALSE(e.retriable());
    EXPECT_EQ(e.code(), make_error_code(net_error::authentication_failed));
    EXPECT_NE(std::string(e.what()).find(test::required_env("SLUICE_SCRAM_USER")),
              std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find("wrong"), std::string::npos)
        << "the password leaked: " << e.what();
  }
}

TEST(connection, a_certificate_from_an_unknown_ca_is_rejected) {
  auto address = first_address(test::required_env("SLUICE_SASL_SSL_BOOTSTRAP"));
  auto options = sasl_ssl_options(sasl_mechanism::plain, "u", "p");
  options.security.tls.ca_file.clear();  // the system's CAs do not know the test CA
  try {
    run_coroutine(
        [&](asio::any_io_executor executor) { return metadata_over(executor, address, options); });
    FAIL() << "TLS accepted a certificate from an unknown CA";
  } catch (const kafka_error& e) {
    EXPECT_NE(std::string(e.what()).find("TLS handshake"), std::string::npos) << e.what();
  }
}

TEST(connection, an_unreachable_broker_fails_fast_naming_the_address) {
  auto started = std::chrono::steady_clock::now();
  try {
    run_coroutine([&](asio::any_io_executor executor) {
      return metadata_over(executor, broker_address{"127.0.0.1", 1, -1}, connection_options());
    });
    FAIL() << "connected to port 1";
  } catch (const kafka_error& e) {
    EXPECT_TRUE(e.retriable());
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:1"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

}  // namespace
}  // namespace sluice::kafka
