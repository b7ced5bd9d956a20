// The partitioners: murmur2 and the keyed mapping against values computed with the Java client's
// own Utils.murmur2 / toPositive (kafka-clients 4.3.1), the sticky keyless partitioner and the
// round-robin one.
#include "kafka/producer/partitioner.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace sluice::kafka {
namespace {

struct java_vector {
  const char* key;
  std::int32_t murmur2;
  std::int32_t partition_of_3;
  std::int32_t partition_of_7;
  std::int32_t partition_of_12;
};

// From `Utils.murmur2(key.getBytes(UTF_8))` and `Utils.toPositive(h) % n` with kafka-clients 4.3.1.
constexpr java_vector java_vectors[] = {
    {"", 275646681, 0, 2, 9},
    {"a", -1563381124, 1, 5, 4},
    {"ab", 316155434, 2, 0, 2},
    {"abc", 479470107, 0, 4, 3},
    {"abcd", -1323649548, 2, 5, 8},
    {"hello", 2132663229, 0, 4, 9},
    {"key-0", 29210041, 1, 0, 1},
    {"key-1", 193331640, 0, 5, 0},
    {"key-42", -187086521, 0, 3, 3},
    {"order-12345", -1747359319, 1, 3, 1},
    {"the quick brown fox jumps over the lazy dog", -890066680, 1, 3, 4},
    {"\xc3\xa9t\xc3\xa9", -2101193575, 1, 4, 1},  // "été" in UTF-8
};

TEST(partitioner, murmur2_matches_the_java_client) {
  for (const auto& vector : java_vectors) {
    EXPECT_EQ(murmur2(protocol::as_bytes_view(vector.key)), vector.murmur2)
        << '"' << vector.key << '"';
  }
  protocol::bytes all_bytes(256);
  for (int i = 0; i < 256; ++i) all_bytes[static_cast<std::size_t>(i)] = static_cast<std::byte>(i);
  EXPECT_EQ(murmur2(all_bytes), -1948347274);
}

TEST(partitioner, keyed_partition_matches_the_java_client) {
  for (const auto& vector : java_vectors) {
    const auto key = protocol::as_bytes_view(vector.key);
    EXPECT_EQ(partition_for_key(key, 3), vector.partition_of_3) << vector.key;
    EXPECT_EQ(partition_for_key(key, 7), vector.partition_of_7) << vector.key;
    EXPECT_EQ(partition_for_key(key, 12), vector.partition_of_12) << vector.key;
  }
}

TEST(partitioner, to_positive_clears_the_sign_bit) {
  EXPECT_EQ(to_positive(-1), 0x7fffffff);
  EXPECT_EQ(to_positive(INT32_MIN), 0);
  EXPECT_EQ(to_positive(5), 5);
}

topic_info topic_with(int partitions, std::set<int> leaderless = {}) {
  topic_info topic;
  topic.name = "t";
  for (int i = 0; i < partitions; ++i) {
    partition_info partition;
    partition.partition = i;
    partition.leader = leaderless.count(i) ? -1 : 1;
    topic.partitions.push_back(partition);
  }
  return topic;
}

TEST(partitioner, sticky_keeps_a_partition_for_a_batch_then_moves) {
  auto topic = topic_with(6);
  sticky_partition_state sticky;
  const auto first = sticky.next(topic, 100, 1000);
  // 10 records of 100 bytes fill the 1000-byte batch: all on the first partition.
  for (int i = 1; i < 10; ++i) EXPECT_EQ(sticky.next(topic, 100, 1000), first);
  const auto second = sticky.next(topic, 100, 1000);
  EXPECT_NE(second, first);
  for (int i = 1; i < 10; ++i) EXPECT_EQ(sticky.next(topic, 100, 1000), second);
}

TEST(partitioner, sticky_spreads_over_every_partition_with_a_leader) {
  auto topic = topic_with(4, {2});
  sticky_partition_state sticky;
  std::map<std::int32_t, int> seen;
  for (int i = 0; i < 4000; ++i) ++seen[sticky.next(topic, 1000, 1000)];
  EXPECT_EQ(seen.count(2), 0u) << "a partition without a leader was chosen";
  EXPECT_EQ(seen.size(), 3u);
}

TEST(partitioner, sticky_with_one_partition) {
  auto topic = topic_with(1);
  sticky_partition_state sticky;
  for (int i = 0; i < 100; ++i) EXPECT_EQ(sticky.next(topic, 10'000, 1000), 0);
}

TEST(partitioner, round_robin_cycles_through_partitions) {
  auto topic = topic_with(3);
  round_robin_partitioner partitioner;
  std::vector<std::int32_t> chosen;
  for (int i = 0; i < 6; ++i)
    chosen.push_back(partitioner.partition(topic, std::nullopt, std::nullopt));
  EXPECT_EQ(chosen, (std::vector<std::int32_t>{0, 1, 2, 0, 1, 2}));
}

}  // namespace
}  // namespace sluice::kafka
