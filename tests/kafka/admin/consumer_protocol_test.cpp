#include "kafka/admin/consumer_protocol.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace sluice::kafka {
namespace {

TEST(consumer_protocol, assignment_round_trips_at_every_version) {
  const std::vector<topic_partition> partitions{{"a", 0}, {"a", 2}, {"b", 1}};
  for (std::int16_t version = 0; version <= 3; ++version) {
    auto bytes = consumer_protocol::encode_assignment(partitions, version);
    EXPECT_EQ(consumer_protocol::decode_assignment(bytes), partitions) << "version " << version;
  }
}

TEST(consumer_protocol, subscription_round_trips) {
  auto bytes = consumer_protocol::encode_subscription({"orders", "payments"}, 1);
  auto decoded = consumer_protocol::decode_subscription(bytes);
  EXPECT_EQ(decoded.topics, (std::vector<std::string>{"orders", "payments"}));
  EXPECT_TRUE(decoded.owned_partitions.empty());
}

TEST(consumer_protocol, an_empty_assignment_means_none_yet) {
  EXPECT_TRUE(consumer_protocol::decode_assignment({}).empty());
}

TEST(consumer_protocol, a_newer_version_is_read_as_the_newest_known) {
  // Version 9 (from a future client) followed by a v3 body plus an extra trailing field.
  auto bytes = consumer_protocol::encode_assignment({{"t", 4}}, 3);
  bytes[0] = std::byte{0};
  bytes[1] = std::byte{9};
  bytes.push_back(std::byte{0x7f});
  auto decoded = consumer_protocol::decode_assignment(bytes);
  ASSERT_EQ(decoded.size(), 1u);
  EXPECT_EQ(decoded[0], (topic_partition{"t", 4}));
}

TEST(consumer_protocol, truncated_bytes_are_an_error_naming_what) {
  auto bytes = consumer_protocol::encode_assignment({{"topic", 1}}, 0);
  ASSERT_GT(bytes.size(), 3u);
  const auto truncated = protocol::bytes_view(bytes).first(bytes.size() - 3);
  try {
    consumer_protocol::decode_assignment(truncated);
    ADD_FAILURE() << "no exception";
  } catch (const kafka_error& e) {
    EXPECT_NE(std::string(e.what()).find("assignment"), std::string::npos) << e.what();
  }
  const protocol::bytes negative{std::byte{0xff}, std::byte{0xff}};
  EXPECT_THROW(consumer_protocol::decode_subscription(negative), kafka_error);
}

}  // namespace
}  // namespace sluice::kafka
