#include "kafka/client/strong_int.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <sstream>
#include <type_traits>
#include <unordered_set>

#include "kafka/client/identifiers.hpp"

namespace sluice::kafka {
namespace {

TEST(strong_int, gives_back_the_value_it_was_made_from) {
  EXPECT_EQ(partition_id{7}.value(), 7);
  EXPECT_EQ(log_offset{-1}.value(), -1);
  EXPECT_EQ(producer_epoch{32767}.value(), 32767);
  EXPECT_EQ(partition_id{}.value(), 0);
}

TEST(strong_int, converts_neither_from_nor_to_its_representation_implicitly) {
  static_assert(std::is_constructible_v<partition_id, std::int32_t>);
  static_assert(!std::is_convertible_v<std::int32_t, partition_id>);
  static_assert(!std::is_convertible_v<partition_id, std::int32_t>);
  // Identifiers of the same representation are different types.
  static_assert(!std::is_convertible_v<partition_id, node_id>);
  static_assert(!std::is_constructible_v<node_id, partition_id>);
  static_assert(!std::is_convertible_v<log_offset, timestamp_ms>);
  static_assert(!std::is_constructible_v<timestamp_ms, log_offset>);
  // So an optional<offset> does not take a timestamp either.
  static_assert(!std::is_convertible_v<timestamp_ms, std::optional<log_offset>>);
  static_assert(std::is_trivially_copyable_v<log_offset>);
  static_assert(sizeof(log_offset) == sizeof(std::int64_t));
}

TEST(strong_int, orders_and_compares_like_its_value) {
  EXPECT_LT(log_offset{3}, log_offset{4});
  EXPECT_GT(log_offset{4}, log_offset{-1});
  EXPECT_EQ(node_id{2}, node_id{2});
  EXPECT_NE(node_id{2}, node_id{3});
  EXPECT_EQ(log_offset{5} <=> log_offset{5}, std::strong_ordering::equal);

  std::map<partition_id, log_offset> by_partition{{partition_id{2}, log_offset{20}},
                                                  {partition_id{0}, log_offset{0}}};
  EXPECT_EQ(by_partition.begin()->first, partition_id{0});
}

TEST(strong_int, hashes_so_equal_values_meet_in_a_hash_set) {
  std::unordered_set<node_id> nodes{node_id{1}, node_id{2}, node_id{1}};
  EXPECT_EQ(nodes.size(), 2U);
  EXPECT_TRUE(nodes.contains(node_id{2}));
  EXPECT_FALSE(nodes.contains(node_id{3}));
  EXPECT_EQ(std::hash<node_id>{}(node_id{5}), std::hash<std::int32_t>{}(5));
}

TEST(strong_int, formats_and_prints_as_the_bare_number) {
  EXPECT_EQ(fmt::format("{}", partition_id{12}), "12");
  EXPECT_EQ(fmt::format("offset {:>6}", log_offset{-1}), "offset     -1");
  EXPECT_EQ(fmt::format("{}", producer_epoch{3}), "3");

  std::ostringstream printed;
  printed << generation_id{4} << " " << producer_id{1000};
  EXPECT_EQ(printed.str(), "4 1000");
  EXPECT_EQ(testing::PrintToString(timestamp_ms{1700000000000}), "1700000000000");
}

TEST(producer_identity, is_unknown_until_the_producer_has_one) {
  producer_identity unknown;
  EXPECT_EQ(unknown.id, producer_id{-1});
  EXPECT_EQ(unknown.epoch, producer_epoch{-1});
  EXPECT_NE(unknown, (producer_identity{producer_id{-1}, producer_epoch{0}}));
}

}  // namespace
}  // namespace sluice::kafka
