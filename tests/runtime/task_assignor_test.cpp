// task_assignor, the classic protocol's side of the task assignment: partitions to tasks and
// back, the reports and orders in the user data, and which vanished owners a new owner must
// fence (their transactional ids), as the leader decides them from the members' subscriptions.
#include "runtime/task_assignor.hpp"

#include <gtest/gtest.h>

namespace sluice::runtime {
namespace {

using kafka::member_subscription;
using kafka::topic_partition;

// One sub-topology reading "in" (4 partitions): task 0_N is partition N.
task_assignor make_assignor(member_task_report report = {}) {
  return task_assignor({{"in", 0}}, task_assignment_settings{}, [report] { return report; });
}

member_subscription member(std::string id, std::string transactional_id,
                           std::vector<std::int32_t> owned) {
  member_subscription m;
  m.member_id = std::move(id);
  m.group_instance_id = m.member_id;
  m.topics = {"in"};
  for (auto p : owned) m.owned_partitions.push_back({"in", p});
  member_task_report report;
  report.process = m.member_id;
  report.transactional_id = std::move(transactional_id);
  m.user_data = encode_report(report);
  return m;
}

member_task_orders orders_of(task_assignor& assignor, const std::string& member_id) {
  auto bytes = assignor.assignment_user_data(member_id);
  EXPECT_TRUE(bytes);
  auto decoded = decode_orders(bytes.value_or(""));
  EXPECT_TRUE(decoded);
  return decoded.value_or(member_task_orders{});
}

TEST(task_assignor, a_task_is_all_its_partitions_and_the_report_travels_in_the_subscription) {
  member_task_report report;
  report.process = "host:1";
  report.transactional_id = "app-a";
  task_assignor assignor({{"in", 0}, {"app-rekey-repartition", 1}, {"in2", 0}}, {},
                         [report] { return report; });
  EXPECT_EQ(decode_report(assignor.subscription_user_data({"in"}).value_or("")), report);
  const auto assignment = assignor.assign({{"in", 2}, {"in2", 2}, {"app-rekey-repartition", 2}},
                                          {member("a", "app-a", {})});
  // Task by task (0_0, 0_1, 1_0, 1_1), each with partition N of every topic of its sub-topology.
  EXPECT_EQ(assignment.at("a"), (std::vector<topic_partition>{{"in", 0},
                                                              {"in2", 0},
                                                              {"in", 1},
                                                              {"in2", 1},
                                                              {"app-rekey-repartition", 0},
                                                              {"app-rekey-repartition", 1}}));
}

TEST(task_assignor, a_task_taken_from_a_vanished_owner_comes_with_the_order_to_fence_it) {
  auto leader = make_assignor();
  // Generation 1: a and b share the four tasks.
  leader.assign({{"in", 4}}, {member("a", "app-a", {}), member("b", "app-b", {})});
  const auto first = orders_of(leader, "a");
  EXPECT_TRUE(first.fence.empty());
  ASSERT_EQ(first.owners.size(), 4U);
  std::vector<std::int32_t> owned_by_a;
  for (const auto& [task, owner] : first.owners) {
    if (owner == "app-a") owned_by_a.push_back(task.partition);
  }
  ASSERT_EQ(owned_by_a.size(), 2U);
  // Every member learns the owners; a (the next leader here) takes them from its orders.
  leader.on_assignment({}, 1, encode_orders(first));
  // Generation 2: b vanished (kill -9); a takes its tasks and must fence app-b first.
  leader.assign({{"in", 4}}, {member("a", "app-a", owned_by_a)});
  const auto second = orders_of(leader, "a");
  EXPECT_EQ(second.fence, (std::set<std::string>{"app-b"}));
  for (const auto& [task, owner] : second.owners) EXPECT_EQ(owner, "app-a") << task.to_string();
}

TEST(task_assignor, live_owners_restarted_instances_and_unknown_owners_are_never_fenced) {
  auto leader = make_assignor();
  leader.assign({{"in", 4}}, {member("a", "app-a", {}), member("b", "app-b", {})});
  auto orders = orders_of(leader, "a");
  leader.on_assignment({}, 1, encode_orders(orders));
  // b comes back as a new member with its old transactional id: it fences its own zombie.
  leader.assign({{"in", 4}}, {member("a", "app-a", {0, 1}), member("b2", "app-b", {})});
  EXPECT_TRUE(orders_of(leader, "a").fence.empty());
  EXPECT_TRUE(orders_of(leader, "b2").fence.empty());
  // A third member joins: tasks may move between live members, none is fenced.
  leader.assign({{"in", 4}}, {member("a", "app-a", {0, 1}), member("b2", "app-b", {2, 3}),
                              member("c", "app-c", {})});
  for (const auto* m : {"a", "b2", "c"}) EXPECT_TRUE(orders_of(leader, m).fence.empty()) << m;
  // A leader that never saw an assignment (every member restarted) knows no owners to fence.
  auto fresh = make_assignor();
  fresh.assign({{"in", 4}}, {member("a", "app-a", {})});
  EXPECT_TRUE(orders_of(fresh, "a").fence.empty());
  // At-least-once members have no transactional id: nothing to fence.
  auto plain = make_assignor();
  plain.assign({{"in", 4}}, {member("a", "", {}), member("b", "", {})});
  plain.on_assignment({}, 1, encode_orders(orders_of(plain, "a")));
  plain.assign({{"in", 4}}, {member("a", "", {0, 1})});
  EXPECT_TRUE(orders_of(plain, "a").fence.empty());
}

}  // namespace
}  // namespace sluice::runtime
