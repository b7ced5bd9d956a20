// The partition assignors as pure functions: the Java client's results for range and roundrobin,
// sticky's and cooperative-sticky's stickiness, balance and two-step hand-over (KIP-429), Java
// StickyAssignor's user data, and application assignors in the config.
#include "kafka/consumer/assignor.hpp"

#include <gtest/gtest.h>

#include <set>

#include "kafka/consumer/consumer_config.hpp"
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
  EXPECT_EQ(total(run_assignor("sticky", topics, members)), 2u);
  EXPECT_THROW(run_assignor("sticky-ish", topics, members), kafka_error);
  EXPECT_EQ(protocol_of("cooperative-sticky"), rebalance_protocol::cooperative);
  EXPECT_EQ(protocol_of("range"), rebalance_protocol::eager);
}

// ---- sticky (eager) ----------------------------------------------------------------------------

member_subscription sticky_member(std::string id, std::vector<std::string> topics,
                                  std::vector<topic_partition> previous = {},
                                  std::int32_t generation = -1) {
  auto m = member(std::move(id), std::move(topics));
  if (!previous.empty()) m.user_data = encode_sticky_user_data(previous, generation);
  return m;
}

std::size_t kept(const std::vector<topic_partition>& now, const std::vector<topic_partition>& had) {
  std::size_t n = 0;
  for (const auto& tp : had) n += std::count(now.begin(), now.end(), tp);
  return n;
}

TEST(assignor_sticky, user_data_is_javas_sticky_assignor_v1_layout) {
  auto data = encode_sticky_user_data({{"t0", 1}, {"t0", 0}}, 5);
  // [1 topic]["t0"][2 partitions][1][0][generation 5], big-endian, int16 string lengths.
  const std::string expected(
      "\0\0\0\1"
      "\0\2t0"
      "\0\0\0\2"
      "\0\0\0\1"
      "\0\0\0\0"
      "\0\0\0\5",
      24);
  EXPECT_EQ(data, expected);
  auto decoded = decode_sticky_user_data(data);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->generation, 5);
  EXPECT_EQ(decoded->partitions, (std::vector<topic_partition>{{"t0", 1}, {"t0", 0}}));
}

TEST(assignor_sticky, v0_user_data_has_no_generation_and_garbage_is_rejected) {
  auto v1 = encode_sticky_user_data({{"t", 3}}, 7);
  auto v0 = v1.substr(0, v1.size() - 4);
  auto decoded = decode_sticky_user_data(v0);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->generation, -1);
  EXPECT_EQ(decoded->partitions, tps("t", {3}));
  EXPECT_FALSE(decode_sticky_user_data(v1.substr(0, 7)).has_value());
  EXPECT_FALSE(decode_sticky_user_data(std::string("\xff\xff\xff\xff", 4)).has_value());
  EXPECT_FALSE(decode_sticky_user_data(v1 + "x").has_value());
}

TEST(assignor_sticky, reads_kafka_pythons_version_prefixed_user_data) {
  // kafka-python 2.x's StickyAssignorUserData([("t0", [1, 0])], 5).encode().
  const std::string python(
      "\0\1"
      "\0\0\0\1"
      "\0\2t0"
      "\0\0\0\2"
      "\0\0\0\1"
      "\0\0\0\0"
      "\0\0\0\5",
      26);
  auto decoded = decode_sticky_user_data(python);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->generation, 5);
  EXPECT_EQ(decoded->partitions, (std::vector<topic_partition>{{"t0", 1}, {"t0", 0}}));
}

TEST(assignor_sticky, first_assignment_is_balanced) {
  partition_counts topics{{"t", 7}, {"u", 2}};
  auto out = assign_sticky(topics, {sticky_member("a", {"t", "u"}), sticky_member("b", {"t", "u"}),
                                    sticky_member("c", {"t", "u"})});
  EXPECT_EQ(total(out), 9u);
  for (const auto& [m, parts] : out) EXPECT_EQ(parts.size(), 3u) << m;
}

TEST(assignor_sticky, a_new_member_takes_only_the_excess) {
  partition_counts topics{{"t", 6}};
  auto out = assign_sticky(
      topics, {sticky_member("a", {"t"}, tps("t", {0, 1, 2}), 1),
               sticky_member("b", {"t"}, tps("t", {3, 4, 5}), 1), sticky_member("c", {"t"})});
  EXPECT_EQ(out["a"].size(), 2u);
  EXPECT_EQ(out["b"].size(), 2u);
  EXPECT_EQ(out["c"].size(), 2u);
  // Eager, so c gets its partitions at once; only two partitions moved in all.
  EXPECT_EQ(kept(out["a"], tps("t", {0, 1, 2})), 2u);
  EXPECT_EQ(kept(out["b"], tps("t", {3, 4, 5})), 2u);
}

TEST(assignor_sticky, a_leaving_member_s_partitions_are_spread_and_nothing_else_moves) {
  partition_counts topics{{"t", 6}};
  auto out = assign_sticky(topics, {sticky_member("a", {"t"}, tps("t", {0, 1}), 4),
                                    sticky_member("b", {"t"}, tps("t", {2, 3}), 4)});
  EXPECT_EQ(out["a"].size(), 3u);
  EXPECT_EQ(out["b"].size(), 3u);
  EXPECT_EQ(kept(out["a"], tps("t", {0, 1})), 2u);
  EXPECT_EQ(kept(out["b"], tps("t", {2, 3})), 2u);
}

TEST(assignor_sticky, different_subscriptions_are_balanced_where_possible) {
  partition_counts topics{{"t1", 2}, {"t2", 2}};
  auto out = assign_sticky(topics, {sticky_member("a", {"t1", "t2"}), sticky_member("b", {"t1"})});
  EXPECT_EQ(out["a"], tps("t2", {0, 1}));
  EXPECT_EQ(out["b"], tps("t1", {0, 1}));
}

TEST(assignor_sticky, newer_generation_wins_and_unsubscribed_topics_are_dropped) {
  partition_counts topics{{"t", 2}, {"gone", 1}};
  auto out = assign_sticky(topics, {sticky_member("a", {"t"}, {{"t", 0}, {"gone", 0}}, 1),
                                    sticky_member("b", {"t", "gone"}, tps("t", {0}), 2)});
  EXPECT_EQ(out["b"], (std::vector<topic_partition>{{"gone", 0}, {"t", 0}}));
  EXPECT_EQ(out["a"], tps("t", {1}));
}

TEST(assignor_sticky, the_member_object_remembers_its_assignment_for_the_next_join) {
  auto sticky = make_builtin_assignor("sticky");
  ASSERT_NE(sticky, nullptr);
  EXPECT_EQ(sticky->name(), "sticky");
  EXPECT_EQ(sticky->protocol(), rebalance_protocol::eager);
  std::vector<std::string> topics{"t"};
  EXPECT_FALSE(sticky->subscription_user_data(topics).has_value());
  sticky->on_assignment(tps("t", {1, 2}), 9);
  auto data = sticky->subscription_user_data(topics);
  ASSERT_TRUE(data.has_value());
  auto decoded = decode_sticky_user_data(*data);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->partitions, tps("t", {1, 2}));
  EXPECT_EQ(decoded->generation, 9);
  // A second object has its own memory.
  EXPECT_FALSE(make_builtin_assignor("sticky")->subscription_user_data(topics).has_value());
  EXPECT_EQ(make_builtin_assignor("no-such"), nullptr);
}

TEST(assignor_cooperative_sticky, a_third_member_gets_a_balanced_share_over_two_steps) {
  partition_counts topics{{"t", 4}};
  // a and b own two each; c joins: the loads end 2/1/1, never 2/2/0.
  auto first = assign_cooperative_sticky(
      topics, {member("a", {"t"}, tps("t", {0, 1}), 3), member("b", {"t"}, tps("t", {2, 3}), 3),
               member("c", {"t"})});
  EXPECT_EQ(total(first), 3u);  // one withheld while its owner revokes it
  EXPECT_TRUE(first["c"].empty());
  std::vector<member_subscription> second_round{member("a", {"t"}, first["a"], 4),
                                                member("b", {"t"}, first["b"], 4),
                                                member("c", {"t"}, {}, 4)};
  auto second = assign_cooperative_sticky(topics, second_round);
  EXPECT_EQ(total(second), 4u);
  EXPECT_EQ(second["c"].size(), 1u);
}

// ---- application assignors --------------------------------------------------------------------

class everything_to_the_first : public partition_assignor {
 public:
  std::string name() const override { return "all-to-first"; }
  group_assignment assign(const partition_counts& topics,
                          const std::vector<member_subscription>& members) override {
    group_assignment out;
    for (const auto& m : members) out[m.member_id];
    for (const auto& [topic, count] : topics) {
      for (int p = 0; p < count; ++p) out[members.front().member_id].push_back({topic, p});
    }
    return out;
  }
};

TEST(assignor_custom, is_accepted_when_listed_in_the_strategies) {
  consumer_config config;
  config.bootstrap_servers = parse_bootstrap_servers("127.0.0.1:9092");
  config.group_id = "g";
  config.custom_assignors.push_back(std::make_shared<everything_to_the_first>());
  config.assignment_strategies = {"all-to-first", "range"};
  EXPECT_NO_THROW(config.validate());
  config.assignment_strategies = {"range"};
  try {
    config.validate();
    ADD_FAILURE() << "an unlisted custom assignor was accepted";
  } catch (const kafka_error& e) {
    EXPECT_NE(std::string(e.what()).find("'all-to-first' is not listed"), std::string::npos)
        << e.what();
  }
  config.assignment_strategies = {"all-to-first", "sticky", "nope"};
  EXPECT_THROW(config.validate(), kafka_error);
  config.assignment_strategies = {"all-to-first"};
  config.custom_assignors.push_back(make_builtin_assignor("range"));
  EXPECT_THROW(config.validate(), kafka_error);  // takes a built-in's name
}

}  // namespace
}  // namespace sluice::kafka
