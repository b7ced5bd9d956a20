// The partition assignors as pure functions: the Java client's results for range and roundrobin,
// and cooperative-sticky's stickiness, balance and two-step hand-over (KIP-429).
#include "kafka/consumer/assignor.hpp"

#include <gtest/gtest.h>

#include <set>

#include "kafka/protocol/error_code.hpp"

namespace sluice::kafka {
namespace {

member_subscription member(std::string id, std::vector<std::string> topics,
                           std::vector<topic_partition> owned = {}, std::int32_t generation = -1) {
  return {std::move(id),    std::nullopt, std::move(topics),
          std::move(owned), generation,   std::nullopt};
}

std::vector<topic_partition> tps(const std::string& topic, std::initializer_list<int> partitions) {
  std::vector<topic_partition> out;
  for (int p : partitions) out.push_back({topic, p});
  return out;
}

std::size_t total(const group_assignment& assignment) {
  std::size_t n = 0;
  for (const auto& [m, parts] : assignment) n += parts.size();
  return n;
}

TEST(assignor_range, splits_each_topic_into_ranges_extra_to_the_first) {
  partition_counts topics{{"t0", 3}, {"t1", 3}};
  std::vector<member_subscription> members{member("c0", {"t0", "t1"}), member("c1", {"t0", "t1"})};
  auto out = assign_range(topics, members);
  // RangeAssignor's javadoc example: C0 [t0p0, t0p1, t1p0, t1p1], C1 [t0p2, t1p2].
  std::vector<topic_partition> c0{{"t0", 0}, {"t0", 1}, {"t1", 0}, {"t1", 1}};
  std::vector<topic_partition> c1{{"t0", 2}, {"t1", 2}};
  EXPECT_EQ(out["c0"], c0);
  EXPECT_EQ(out["c1"], c1);
}

TEST(assignor_range, only_subscribers_of_a_topic_share_it) {
  partition_counts topics{{"t0", 2}, {"t1", 4}};
  std::vector<member_subscription> members{member("a", {"t0"}), member("b", {"t0", "t1"}),
                                           member("c", {"t1"})};
  auto out = assign_range(topics, members);
  EXPECT_EQ(out["a"], tps("t0", {0}));
  std::vector<topic_partition> b{{"t0", 1}, {"t1", 0}, {"t1", 1}};
  EXPECT_EQ(out["b"], b);
  EXPECT_EQ(out["c"], tps("t1", {2, 3}));
}

TEST(assignor_range, static_members_sort_by_instance_id) {
  partition_counts topics{{"t", 2}};
  auto z = member("aaa-member", {"t"});
  z.group_instance_id = "z";
  auto a = member("zzz-member", {"t"});
  a.group_instance_id = "a";
  auto out = assign_range(topics, {z, a});
  EXPECT_EQ(out["zzz-member"], tps("t", {0}));  // instance "a" first
  EXPECT_EQ(out["aaa-member"], tps("t", {1}));
}

TEST(assignor_range, more_members_than_partitions_leaves_some_empty) {
  partition_counts topics{{"t", 1}};
  auto out = assign_range(topics, {member("a", {"t"}), member("b", {"t"})});
  EXPECT_EQ(out["a"], tps("t", {0}));
  EXPECT_TRUE(out.contains("b"));
  EXPECT_TRUE(out["b"].empty());
}

TEST(assignor_range, unknown_topics_are_not_assigned) {
  partition_counts topics{{"t", 2}};
  auto out = assign_range(topics, {member("a", {"t", "missing"})});
  EXPECT_EQ(out["a"], tps("t", {0, 1}));
}

TEST(assignor_roundrobin, deals_sorted_partitions_in_turn) {
  partition_counts topics{{"t0", 3}, {"t1", 3}};
  auto out = assign_roundrobin(topics, {member("c1", {"t0", "t1"}), member("c0", {"t0", "t1"})});
  // RoundRobinAssignor's javadoc example: C0 [t0p0, t0p2, t1p1], C1 [t0p1, t1p0, t1p2].
  std::vector<topic_partition> c0{{"t0", 0}, {"t0", 2}, {"t1", 1}};
  std::vector<topic_partition> c1{{"t0", 1}, {"t1", 0}, {"t1", 2}};
  EXPECT_EQ(out["c0"], c0);
  EXPECT_EQ(out["c1"], c1);
}

TEST(assignor_roundrobin, skips_members_not_subscribed) {
  partition_counts topics{{"t0", 1}, {"t1", 2}, {"t2", 3}};
  auto out = assign_roundrobin(
      topics, {member("c0", {"t0"}), member("c1", {"t0", "t1"}), member("c2", {"t0", "t1", "t2"})});
  // The javadoc's unequal-subscription example.
  EXPECT_EQ(out["c0"], tps("t0", {0}));
  EXPECT_EQ(out["c1"], tps("t1", {0}));
  std::vector<topic_partition> c2{{"t1", 1}, {"t2", 0}, {"t2", 1}, {"t2", 2}};
  EXPECT_EQ(out["c2"], c2);
}

TEST(assignor_cooperative_sticky, first_assignment_is_balanced) {
  partition_counts topics{{"t", 5}};
  auto out = assign_cooperative_sticky(
      topics, {member("a", {"t"}), member("b", {"t"}), member("c", {"t"})});
  EXPECT_EQ(total(out), 5u);
  for (const auto& [m, parts] : out) {
    EXPECT_GE(parts.size(), 1u);
    EXPECT_LE(parts.size(), 2u);
  }
}

TEST(assignor_cooperative_sticky, a_new_member_gets_partitions_in_two_steps) {
  partition_counts topics{{"t", 4}};
  // a owns everything; b joins.
  auto first = assign_cooperative_sticky(
      topics, {member("a", {"t"}, tps("t", {0, 1, 2, 3}), 1), member("b", {"t"})});
  // Step 1: a keeps two, gives up two (withheld from b while a still owns them).
  EXPECT_EQ(first["a"], tps("t", {0, 1}));
  EXPECT_TRUE(first["b"].empty());
  // Step 2: a rejoins owning only its two; b gets the released ones.
  auto second = assign_cooperative_sticky(
      topics, {member("a", {"t"}, tps("t", {0, 1}), 2), member("b", {"t"}, {}, 2)});
  EXPECT_EQ(second["a"], tps("t", {0, 1}));
  EXPECT_EQ(second["b"], tps("t", {2, 3}));
}

TEST(assignor_cooperative_sticky, keeps_owned_partitions_when_a_member_leaves) {
  partition_counts topics{{"t", 6}};
  auto out = assign_cooperative_sticky(
      topics, {member("a", {"t"}, tps("t", {0, 1}), 3), member("c", {"t"}, tps("t", {4, 5}), 3)});
  // b (who owned 2 and 3) left: nobody else moves.
  EXPECT_EQ(total(out), 6u);
  for (auto p : {0, 1})
    EXPECT_NE(std::find(out["a"].begin(), out["a"].end(), topic_partition{"t", p}), out["a"].end());
  for (auto p : {4, 5})
    EXPECT_NE(std::find(out["c"].begin(), out["c"].end(), topic_partition{"t", p}), out["c"].end());
}

TEST(assignor_cooperative_sticky, newer_generation_wins_a_double_claim) {
  partition_counts topics{{"t", 2}};
  auto out = assign_cooperative_sticky(
      topics, {member("a", {"t"}, tps("t", {0}), 1), member("b", {"t"}, tps("t", {0}), 2)});
  EXPECT_EQ(out["b"], tps("t", {0}));
  EXPECT_EQ(out["a"], tps("t", {1}));
}

TEST(assignor, by_name_and_protocol) {
  partition_counts topics{{"t", 2}};
  std::vector<member_subscription> members{member("a", {"t"})};
  EXPECT_EQ(total(run_assignor("range", topics, members)), 2u);
  EXPECT_EQ(total(run_assignor("roundrobin", topics, members)), 2u);
  EXPECT_EQ(total(run_assignor("cooperative-sticky", topics, members)), 2u);
  EXPECT_THROW(run_assignor("sticky-ish", topics, members), kafka_error);
  EXPECT_EQ(protocol_of("cooperative-sticky"), rebalance_protocol::cooperative);
  EXPECT_EQ(protocol_of("range"), rebalance_protocol::eager);
}

}  // namespace
}  // namespace sluice::kafka
