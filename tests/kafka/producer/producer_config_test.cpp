// Producer configuration: the Java client's defaults, and wrong combinations rejected before
// anything connects, with a message naming the settings.
#include "kafka/producer/producer_config.hpp"

#include <gtest/gtest.h>

#include "kafka/producer/partitioner.hpp"
#include "kafka/protocol/error_code.hpp"

namespace sluice::kafka {
namespace {

producer_config valid() {
  producer_config config;
  config.bootstrap_servers = {{"localhost", 9092}};
  return config;
}

std::string rejection(const producer_config& config) {
  try {
    config.validate();
  } catch (const kafka_error& e) {
    EXPECT_FALSE(e.retriable());
    return e.what();
  }
  return "";
}

TEST(producer_config, defaults_are_the_java_clients) {
  producer_config config;
  EXPECT_EQ(config.acks, acks::all);
  EXPECT_EQ(config.linger.count(), 5);
  EXPECT_EQ(config.batch_size, 16384u);
  EXPECT_EQ(config.buffer_memory, 33554432u);
  EXPECT_EQ(config.max_request_size, 1048576u);
  EXPECT_EQ(config.request_timeout.count(), 30000);
  EXPECT_EQ(config.delivery_timeout.count(), 120000);
  EXPECT_EQ(config.retry_backoff.count(), 100);
  EXPECT_EQ(config.max_block.count(), 60000);
  EXPECT_EQ(config.max_in_flight_requests_per_connection, 5);
  EXPECT_EQ(config.transaction_timeout.count(), 60000);
  EXPECT_TRUE(config.idempotent());
  EXPECT_FALSE(config.transactional());
  EXPECT_NO_THROW(valid().validate());
}

TEST(producer_config, idempotence_is_quietly_off_when_unset_and_acks_conflict) {
  auto config = valid();
  config.acks = acks::leader;
  EXPECT_FALSE(config.idempotent());
  EXPECT_NO_THROW(config.validate());
  config = valid();
  config.max_in_flight_requests_per_connection = 6;
  EXPECT_FALSE(config.idempotent());
  EXPECT_NO_THROW(config.validate());
}

TEST(producer_config, explicit_idempotence_rejects_conflicts) {
  auto config = valid();
  config.enable_idempotence = true;
  config.acks = acks::leader;
  EXPECT_NE(rejection(config).find("enable_idempotence requires acks=all (got acks=1)"),
            std::string::npos);
  config = valid();
  config.enable_idempotence = true;
  config.max_in_flight_requests_per_connection = 6;
  EXPECT_NE(rejection(config).find("max_in_flight_requests_per_connection <= 5 (got 6)"),
            std::string::npos);
  config = valid();
  config.enable_idempotence = true;
  config.retries = 0;
  EXPECT_NE(rejection(config).find("retries > 0"), std::string::npos);
}

TEST(producer_config, transactions_require_idempotence) {
  auto config = valid();
  config.transactional_id = "tx";
  EXPECT_NO_THROW(config.validate());
  config.enable_idempotence = false;
  EXPECT_NE(rejection(config).find(
                "transactional_id requires idempotence, which enable_idempotence=false turns off"),
            std::string::npos);
  config = valid();
  config.transactional_id = "tx";
  config.acks = acks::leader;
  EXPECT_NE(rejection(config).find("transactional_id requires idempotence"), std::string::npos);
  config = valid();
  config.transactional_id = "";
  EXPECT_NE(rejection(config).find("transactional_id must not be empty"), std::string::npos);
}

TEST(producer_config, rejects_bad_values) {
  auto config = valid();
  config.delivery_timeout = std::chrono::milliseconds(1000);
  EXPECT_NE(
      rejection(config).find(
          "delivery_timeout (1000 ms) must be at least linger + request_timeout (5 + 30000 ms)"),
      std::string::npos);
  config = valid();
  config.compression = records::compression::gzip;
  config.compression_level = 42;
  EXPECT_NE(rejection(config).find("compression_level 42 is not valid for gzip"),
            std::string::npos);
  config = valid();
  config.batch_size = 0;
  EXPECT_NE(rejection(config).find("batch_size must be positive"), std::string::npos);
  config = valid();
  config.buffer_memory = 100;
  EXPECT_NE(rejection(config).find("buffer_memory (100 bytes) must be at least batch_size"),
            std::string::npos);
  config = valid();
  config.linger = std::chrono::milliseconds(-1);
  EXPECT_NE(rejection(config).find("linger must not be negative"), std::string::npos);
  config = valid();
  config.bootstrap_servers.clear();
  EXPECT_NE(rejection(config).find("bootstrap_servers is empty"), std::string::npos);
  config = valid();
  config.partitioner = std::make_shared<round_robin_partitioner>();
  config.partitioner_ignore_keys = true;
  EXPECT_NE(
      rejection(config).find("partitioner_ignore_keys applies to the built-in partitioner only"),
      std::string::npos);
}

TEST(producer_config, parses_acks_and_compression_names) {
  EXPECT_EQ(parse_acks("all"), acks::all);
  EXPECT_EQ(parse_acks("-1"), acks::all);
  EXPECT_EQ(parse_acks("1"), acks::leader);
  EXPECT_EQ(parse_acks("0"), acks::none);
  EXPECT_EQ(parse_acks("2"), std::nullopt);
  EXPECT_EQ(parse_compression("LZ4"), records::compression::lz4);
  EXPECT_EQ(parse_compression("zstd"), records::compression::zstd);
  EXPECT_EQ(parse_compression("brotli"), std::nullopt);
}

}  // namespace
}  // namespace sluice::kafka
