// The group settings KIP-848 added (group_protocol, group_remote_assignor): spellings, defaults and
// the errors for combinations that cannot work.
#include <gtest/gtest.h>

#include <string>

#include "kafka/consumer/consumer_config.hpp"
#include "kafka/protocol/error_code.hpp"

namespace sluice::kafka {
namespace {

consumer_config grouped() {
  consumer_config config;
  config.bootstrap_servers = parse_bootstrap_servers("127.0.0.1:9092");
  config.group_id = "g";
  return config;
}

std::string rejection(const consumer_config& config) {
  try {
    config.validate();
  } catch (const kafka_error& e) {
    return e.what();
  }
  return "";
}

TEST(group_protocol_config, classic_is_the_default_like_javas) {
  // (A named config: GCC 12 -O3 reports a temporary's strings as maybe-uninitialized.)
  const consumer_config defaults;
  EXPECT_EQ(defaults.group_protocol, group_protocol_type::classic);
  EXPECT_FALSE(defaults.group_remote_assignor.has_value());
}

TEST(group_protocol_config, parses_javas_spellings) {
  EXPECT_EQ(parse_group_protocol("consumer"), group_protocol_type::consumer);
  EXPECT_EQ(parse_group_protocol("CLASSIC"), group_protocol_type::classic);
  EXPECT_FALSE(parse_group_protocol("share").has_value());
  EXPECT_STREQ(to_string(group_protocol_type::consumer), "consumer");
}

TEST(group_protocol_config, remote_assignor_needs_the_consumer_protocol) {
  auto config = grouped();
  config.group_remote_assignor = "uniform";
  EXPECT_NE(rejection(config).find("group_remote_assignor"), std::string::npos);
  config.group_protocol = group_protocol_type::consumer;
  EXPECT_EQ(rejection(config), "");
  config.group_remote_assignor = "";
  EXPECT_NE(rejection(config).find("empty"), std::string::npos);
}

TEST(group_protocol_config, client_assignors_are_not_checked_with_the_consumer_protocol) {
  // The coordinator assigns; assignment_strategies only matter to classic members.
  auto config = grouped();
  config.group_protocol = group_protocol_type::consumer;
  config.assignment_strategies.clear();
  EXPECT_EQ(rejection(config), "");
  config.group_protocol = group_protocol_type::classic;
  EXPECT_NE(rejection(config).find("assignment_strategies is empty"), std::string::npos);
}

TEST(group_protocol_config, sticky_is_a_known_strategy) {
  auto config = grouped();
  config.assignment_strategies = {"sticky"};
  EXPECT_EQ(rejection(config), "");
}

}  // namespace
}  // namespace sluice::kafka
