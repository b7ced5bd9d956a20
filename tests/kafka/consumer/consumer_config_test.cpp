// consumer_config: Java's defaults, validation naming the bad setting, and the string forms.
#include "kafka/consumer/consumer_config.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "kafka/net/net_error.hpp"
#include "kafka/protocol/error_code.hpp"

namespace sluice::kafka {
namespace {

consumer_config valid() {
  consumer_config config;
  config.bootstrap_servers = parse_bootstrap_servers("127.0.0.1:9092");
  return config;
}

// Expects validate() to fail with bad_configuration and a message containing `mentions`.
void expect_rejected(const std::function<void(consumer_config&)>& change,
                     const std::string& mentions) {
  auto config = valid();
  change(config);
  try {
    config.validate();
    ADD_FAILURE() << "accepted a config that should mention '" << mentions << "'";
  } catch (const kafka_error& e) {
    EXPECT_EQ(e.code(), make_error_code(net_error::bad_configuration));
    EXPECT_FALSE(e.retriable());
    EXPECT_NE(std::string(e.what()).find(mentions), std::string::npos) << e.what();
  }
}

TEST(consumer_config, defaults_are_javas) {
  consumer_config config;
  EXPECT_TRUE(config.group_id.empty());
  EXPECT_FALSE(config.group_instance_id.has_value());
  EXPECT_EQ(config.offset_reset, auto_offset_reset::latest);
  EXPECT_TRUE(config.enable_auto_commit);
  EXPECT_EQ(config.auto_commit_interval.count(), 5'000);
  EXPECT_EQ(config.fetch_min_bytes, 1);
  EXPECT_EQ(config.fetch_max_bytes, 52'428'800);
  EXPECT_EQ(config.fetch_max_wait.count(), 500);
  EXPECT_EQ(config.max_partition_fetch_bytes, 1'048'576);
  EXPECT_EQ(config.max_poll_records, 500);
  EXPECT_EQ(config.max_poll_interval.count(), 300'000);
  EXPECT_EQ(config.session_timeout.count(), 45'000);
  EXPECT_EQ(config.heartbeat_interval.count(), 3'000);
  EXPECT_EQ(config.isolation, isolation_level::read_uncommitted);
  EXPECT_EQ(config.assignment_strategies,
            (std::vector<std::string>{"range", "cooperative-sticky"}));
  EXPECT_TRUE(config.check_crcs);
  EXPECT_TRUE(config.exclude_internal_topics);
  EXPECT_EQ(config.default_api_timeout.count(), 60'000);
}

TEST(consumer_config, valid_config_passes) {
  auto config = valid();
  EXPECT_NO_THROW(config.validate());
  config.group_id = "g";
  config.group_instance_id = "instance-1";
  config.assignment_strategies = {"roundrobin"};
  EXPECT_NO_THROW(config.validate());
}

TEST(consumer_config, auto_commit_needs_a_group) {
  auto config = valid();
  EXPECT_FALSE(config.auto_commit_active());
  config.group_id = "g";
  EXPECT_TRUE(config.auto_commit_active());
  config.enable_auto_commit = false;
  EXPECT_FALSE(config.auto_commit_active());
}

TEST(consumer_config, rejects_bad_settings_naming_them) {
  expect_rejected([](auto& c) { c.bootstrap_servers.clear(); }, "bootstrap_servers");
  expect_rejected([](auto& c) { c.fetch_min_bytes = -1; }, "fetch_min_bytes");
  expect_rejected([](auto& c) { c.fetch_max_bytes = -5; }, "fetch_max_bytes");
  expect_rejected([](auto& c) { c.max_partition_fetch_bytes = -1; }, "max_partition_fetch_bytes");
  expect_rejected([](auto& c) { c.max_poll_records = 0; }, "max_poll_records");
  expect_rejected([](auto& c) { c.max_poll_interval = std::chrono::milliseconds(0); },
                  "max_poll_interval");
  expect_rejected([](auto& c) { c.session_timeout = std::chrono::milliseconds(0); },
                  "session_timeout");
  expect_rejected([](auto& c) { c.auto_commit_interval = std::chrono::milliseconds(-1); },
                  "auto_commit_interval");
  expect_rejected(
      [](auto& c) {
        c.fetch_min_bytes = 1000;
        c.fetch_max_bytes = 10;
      },
      "fetch_max_bytes (10) is smaller than fetch_min_bytes (1000)");
  expect_rejected([](auto& c) { c.fetch_max_wait = std::chrono::milliseconds(40'000); },
                  "must exceed fetch_max_wait");
  expect_rejected([](auto& c) { c.heartbeat_interval = std::chrono::milliseconds(50'000); },
                  "heartbeat_interval (50000 ms) must be lower than session_timeout");
  expect_rejected([](auto& c) { c.group_instance_id = "static-1"; },
                  "group_instance_id is set but group_id is empty");
  expect_rejected(
      [](auto& c) {
        c.group_id = "g";
        c.group_instance_id = "";
      },
      "group_instance_id is set but empty");
  expect_rejected(
      [](auto& c) {
        c.group_id = "g";
        c.assignment_strategies.clear();
      },
      "assignment_strategies is empty");
  expect_rejected(
      [](auto& c) {
        c.group_id = "g";
        c.assignment_strategies = {"range", "bogus"};
      },
      "unknown assignment strategy 'bogus'");
  expect_rejected(
      [](auto& c) {
        c.group_id = "g";
        c.assignment_strategies = {"range", "range"};
      },
      "listed twice");
}

TEST(consumer_config, parses_javas_spellings) {
  EXPECT_EQ(parse_auto_offset_reset("earliest"), auto_offset_reset::earliest);
  EXPECT_EQ(parse_auto_offset_reset("LATEST"), auto_offset_reset::latest);
  EXPECT_EQ(parse_auto_offset_reset("none"), auto_offset_reset::none);
  EXPECT_FALSE(parse_auto_offset_reset("smallest").has_value());
  EXPECT_EQ(parse_isolation_level("read_committed"), isolation_level::read_committed);
  EXPECT_EQ(parse_isolation_level("READ_UNCOMMITTED"), isolation_level::read_uncommitted);
  EXPECT_FALSE(parse_isolation_level("committed").has_value());
  EXPECT_STREQ(to_string(auto_offset_reset::earliest), "earliest");
  EXPECT_STREQ(to_string(isolation_level::read_committed), "read_committed");
  EXPECT_EQ(static_cast<int>(isolation_level::read_committed), 1);  // the wire value
}

}  // namespace
}  // namespace sluice::kafka
