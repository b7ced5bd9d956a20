#include "runtime/task_assignment.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace sluice::runtime {
namespace {

task_id task(int partition, int sub_topology = 0) {
  return {sub_topology, partition};
}

std::set<task_id> tasks_up_to(int count) {
  std::set<task_id> tasks;
  for (int p = 0; p < count; ++p) tasks.insert(task(p));
  return tasks;
}

// Offset sums far beyond the default acceptable_recovery_lag (10'000): a member without them is
// not caught up.
constexpr std::int64_t fresh = 5'000'000;

std::map<task_id, std::int64_t> sums_of(const std::set<task_id>& tasks, std::int64_t sum) {
  std::map<task_id, std::int64_t> sums;
  for (const auto& t : tasks) sums[t] = sum;
  return sums;
}

assignor_member member(std::string id, std::set<task_id> active = {},
                       std::map<task_id, std::int64_t> offset_sums = {}, std::string process = "") {
  assignor_member m;
  m.member_id = std::move(id);
  m.active = std::move(active);
  m.report.offset_sums = std::move(offset_sums);
  m.report.process = process.empty() ? m.member_id : std::move(process);
  return m;
}

// A member that runs `active` and so has fresh state for it.
assignor_member owner(std::string id, const std::set<task_id>& active, std::string process = "") {
  return member(std::move(id), active, sums_of(active, fresh), std::move(process));
}

std::size_t warmup_count(const task_assignment& a) {
  std::size_t count = 0;
  for (const auto& [id, orders] : a.orders) count += orders.warmups.size();
  return count;
}

std::vector<std::size_t> loads(const task_assignment& a) {
  std::vector<std::size_t> out;
  for (const auto& [id, active] : a.active) out.push_back(active.size());
  return out;
}

bool within_one(const std::vector<std::size_t>& loads) {
  const auto [lowest, highest] = std::minmax_element(loads.begin(), loads.end());
  return loads.empty() || *highest - *lowest <= 1;
}

// The rules every assignment keeps, whatever the input: see the header.
void expect_invariants(const std::set<task_id>& tasks, const std::vector<assignor_member>& members,
                       const task_assignment_settings& settings, const task_assignment& a) {
  ASSERT_EQ(a.active.size(), members.size());
  ASSERT_EQ(a.orders.size(), members.size());
  // The live owner of each task as the assignor must see it: the first claimant in member order.
  auto ordered = members;
  std::sort(ordered.begin(), ordered.end(), [](const auto& x, const auto& y) {
    return std::tie(x.instance_id ? *x.instance_id : x.member_id, x.member_id) <
           std::tie(y.instance_id ? *y.instance_id : y.member_id, y.member_id);
  });
  std::map<task_id, std::string> live_owner;
  for (const auto& m : ordered) {
    for (const auto& t : m.active) {
      if (tasks.contains(t)) live_owner.emplace(t, m.member_id);
    }
  }
  std::map<task_id, std::string> runner;
  for (const auto& [id, active] : a.active) {
    for (const auto& t : active) {
      EXPECT_TRUE(tasks.contains(t)) << t.to_string();
      EXPECT_TRUE(runner.emplace(t, id).second) << t.to_string() << " is active twice";
      EXPECT_FALSE(a.withheld.contains(t)) << t.to_string() << " is active and withheld";
      // Cooperative: a task never goes to a member while another still runs it.
      const auto live = live_owner.find(t);
      if (live != live_owner.end()) {
        EXPECT_EQ(live->second, id) << t.to_string();
      }
    }
  }
  for (const auto& t : a.withheld) {
    EXPECT_TRUE(live_owner.contains(t)) << t.to_string() << " is withheld but nobody runs it";
  }
  for (const auto& t : tasks) {
    if (members.empty()) break;
    EXPECT_NE(runner.contains(t), a.withheld.contains(t)) << t.to_string();
  }
  std::size_t warmups = 0;
  std::map<task_id, int> standbys_of;
  for (const auto& [id, orders] : a.orders) {
    warmups += orders.warmups.size();
    for (const auto& t : orders.warmups) EXPECT_TRUE(orders.standbys.contains(t));
    for (const auto& t : orders.standbys) {
      ++standbys_of[t];
      EXPECT_FALSE(a.active.at(id).contains(t)) << t.to_string() << " standby on its active";
    }
  }
  EXPECT_LE(warmups, static_cast<std::size_t>(std::max(settings.max_warmup_replicas, 0)));
  // Each task gets every standby it asks for that there are members for.
  const auto other_members = static_cast<int>(members.empty() ? 0 : members.size() - 1);
  for (const auto& t : tasks) {
    if (members.empty()) continue;
    EXPECT_EQ(std::max(standbys_of[t], std::min(settings.standby_replicas, other_members)),
              standbys_of[t])
        << t.to_string();
    // A withheld task has one more on the member it moves to, for the handoff.
    EXPECT_LE(standbys_of[t],
              std::max(settings.standby_replicas, 1) + (a.withheld.contains(t) ? 1 : 0))
        << t.to_string();
  }
  // Without warm-ups balance is stuck only where none are allowed.
  if (warmups == 0 && a.withheld.empty() && settings.max_warmup_replicas > 0) {
    EXPECT_TRUE(within_one(loads(a)));
  }
}

task_assignment checked_assign(const std::set<task_id>& tasks,
                               const std::vector<assignor_member>& members,
                               const task_assignment_settings& settings = {}) {
  auto a = assign_tasks(tasks, members, settings);
  expect_invariants(tasks, members, settings, a);
  return a;
}

TEST(task_assignment, a_rebalance_where_nothing_changed_moves_nothing) {
  const auto tasks = tasks_up_to(6);
  const std::vector members{owner("a", {task(0), task(1)}), owner("b", {task(2), task(3)}),
                            owner("c", {task(4), task(5)})};
  const auto a = checked_assign(tasks, members);
  EXPECT_EQ(a.active.at("a"), (std::set{task(0), task(1)}));
  EXPECT_EQ(a.active.at("b"), (std::set{task(2), task(3)}));
  EXPECT_EQ(a.active.at("c"), (std::set{task(4), task(5)}));
  EXPECT_TRUE(a.withheld.empty());
  EXPECT_EQ(warmup_count(a), 0U);
}

TEST(task_assignment, a_new_member_without_state_warms_up_while_the_owner_keeps_everything) {
  const auto tasks = tasks_up_to(4);
  const std::vector members{owner("a", tasks), member("b")};
  const auto a = checked_assign(tasks, members);
  EXPECT_EQ(a.active.at("a"), tasks);
  EXPECT_TRUE(a.active.at("b").empty());
  EXPECT_TRUE(a.withheld.empty());
  // Two warm-ups bring b to the balanced two tasks once they have caught up.
  EXPECT_EQ(a.orders.at("b").warmups, (std::set{task(0), task(1)}));
  EXPECT_EQ(a.orders.at("b").standbys, a.orders.at("b").warmups);
  EXPECT_EQ(a.orders.at("a"), member_task_orders{});
}

TEST(task_assignment, tasks_a_new_member_is_caught_up_on_move_to_it_in_two_rebalances) {
  const auto tasks = tasks_up_to(4);
  // b holds fresh copies of tasks 2 and 3 (from an earlier life, or standbys).
  std::vector members{owner("a", tasks), member("b", {}, sums_of({task(2), task(3)}, fresh))};
  const auto first = checked_assign(tasks, members);
  EXPECT_EQ(first.withheld, (std::set{task(2), task(3)}));
  EXPECT_EQ(first.active.at("a"), (std::set{task(0), task(1)}));
  EXPECT_TRUE(first.active.at("b").empty());
  EXPECT_EQ(warmup_count(first), 0U);

  // a revoked the withheld tasks and rejoined; nobody owns them now.
  members[0].active = first.active.at("a");
  const auto second = checked_assign(tasks, members);
  EXPECT_EQ(second.active.at("a"), (std::set{task(0), task(1)}));
  EXPECT_EQ(second.active.at("b"), (std::set{task(2), task(3)}));
  EXPECT_TRUE(second.withheld.empty());
}

TEST(task_assignment, an_unowned_task_goes_to_the_least_loaded_then_freshest_caught_up_member) {
  const std::set tasks{task(0), task(1)};
  // Within the lag everybody is caught up on task 0; a has the freshest copy but a task already.
  const std::vector members{member("a", {task(1)}, {{task(0), 200}}),
                            member("b", {}, {{task(0), 50}}), member("c", {}, {{task(0), 100}})};
  const auto a = checked_assign(tasks, members);
  EXPECT_EQ(a.active.at("c"), (std::set{task(0)}));
}

TEST(task_assignment, balance_moves_the_task_the_destination_has_the_freshest_copy_of) {
  const std::set tasks{task(0), task(1), task(2)};
  // b is caught up on tasks 1 and 2; the balance moves one task.
  const std::vector members{owner("a", tasks),
                            member("b", {}, {{task(1), fresh - 100}, {task(2), fresh}})};
  const auto a = checked_assign(tasks, members);
  EXPECT_EQ(a.withheld, (std::set{task(2)}));
}

TEST(task_assignment, balance_prefers_moving_a_task_that_needs_no_handoff) {
  // a runs task 0_0 and is the only member with state for sub-topology 1, so it gets those and
  // the new task 0_1 too; b can take 0_0 or 0_1 (stateless), and 0_1 moves without a revocation.
  const std::set tasks{task(0), task(1), task(2), task(3), task(0, 1), task(1, 1), task(2, 1)};
  const std::vector members{
      member("a", {task(0)}, sums_of({task(0, 1), task(1, 1), task(2, 1)}, fresh)),
      member("b", {task(2), task(3)})};
  const auto a = checked_assign(tasks, members);
  EXPECT_EQ(a.active.at("b"), (std::set{task(1), task(2), task(3)}));
  EXPECT_TRUE(a.withheld.empty());
}

TEST(task_assignment, a_warmup_goes_where_the_copy_is_closest_to_caught_up) {
  const auto tasks = tasks_up_to(4);
  const std::vector members{owner("a", tasks), member("b", {}, {{task(3), fresh - 50'000}})};
  const auto a = checked_assign(tasks, members, {.max_warmup_replicas = 1});
  EXPECT_EQ(a.orders.at("b").warmups, (std::set{task(3)}));
}

TEST(task_assignment, a_dead_members_tasks_go_to_the_member_with_the_freshest_standby) {
  const auto tasks = tasks_up_to(6);
  // a's tasks have their standbys on b, b's on c; a has died.
  auto b = owner("b", {task(2), task(3)});
  b.report.offset_sums[task(0)] = fresh - 5;
  b.report.offset_sums[task(1)] = fresh - 5;
  b.report.standbys = {task(0), task(1)};
  auto c = owner("c", {task(4), task(5)});
  c.report.offset_sums[task(0)] = fresh - 900'000;  // an old copy: behind by more than the lag
  c.report.offset_sums[task(2)] = fresh;
  c.report.offset_sums[task(3)] = fresh;
  const task_assignment_settings settings{.standby_replicas = 1};
  const auto a = checked_assign(tasks, {b, c}, settings);
  EXPECT_TRUE(a.active.at("b").contains(task(0)));
  EXPECT_TRUE(a.active.at("b").contains(task(1)));
  // b has four tasks now; c is caught up on b's own tasks 2 and 3, so one of them moves.
  EXPECT_EQ(a.active.at("c"), (std::set{task(4), task(5)}));
  EXPECT_EQ(a.withheld.size(), 1U);
  EXPECT_TRUE(a.withheld.contains(task(2)) || a.withheld.contains(task(3)));
}

TEST(task_assignment, standbys_are_never_on_the_member_running_the_task) {
  const auto tasks = tasks_up_to(4);
  const std::vector members{owner("a", {task(0), task(1)}), owner("b", {task(2), task(3)})};
  // Three replicas asked, one other member: one standby each, on the other member.
  const auto a = checked_assign(tasks, members, {.standby_replicas = 3});
  EXPECT_EQ(a.orders.at("a").standbys, (std::set{task(2), task(3)}));
  EXPECT_EQ(a.orders.at("b").standbys, (std::set{task(0), task(1)}));
  EXPECT_TRUE(a.orders.at("a").warmups.empty());
}

TEST(task_assignment, standbys_prefer_another_process_then_the_freshest_copy) {
  const std::set tasks{task(0)};
  // b shares a's process and has the freshest copy; c and d run elsewhere, d with a fresher copy.
  const std::vector members{owner("a", tasks, "p1"), member("b", {}, sums_of(tasks, fresh), "p1"),
                            member("c", {}, sums_of(tasks, 10), "p2"),
                            member("d", {}, sums_of(tasks, 20), "p3")};
  const auto one = checked_assign(tasks, members, {.standby_replicas = 1});
  EXPECT_EQ(one.orders.at("d").standbys, tasks);
  const auto two = checked_assign(tasks, members, {.standby_replicas = 2});
  EXPECT_EQ(two.orders.at("d").standbys, tasks);
  EXPECT_EQ(two.orders.at("c").standbys, tasks);
  EXPECT_TRUE(two.orders.at("b").standbys.empty());
  const auto three = checked_assign(tasks, members, {.standby_replicas = 3});
  EXPECT_EQ(three.orders.at("b").standbys, tasks);
}

TEST(task_assignment, standbys_spread_over_the_members_with_the_fewest) {
  const auto tasks = tasks_up_to(4);
  // No state anywhere, one process: only the standby counts tell the members apart.
  const std::vector members{member("a", {task(0), task(1), task(2), task(3)}, {}, "p"),
                            member("b", {}, {}, "p"), member("c", {}, {}, "p")};
  const auto a = checked_assign(tasks, members, {.standby_replicas = 1});
  EXPECT_TRUE(within_one({a.orders.at("a").standbys.size(), a.orders.at("b").standbys.size(),
                          a.orders.at("c").standbys.size()}));
}

// The old owner holds the freshest state, so it is the standby replica; the new owner keeps its
// copy following the changelogs until it takes the task over in the next rebalance.
TEST(task_assignment, a_withheld_task_keeps_standbys_on_its_old_owner_and_its_new_one) {
  const auto tasks = tasks_up_to(2);
  const std::vector members{owner("a", tasks), member("b", {}, sums_of({task(1)}, fresh)),
                            member("c")};
  const auto a = checked_assign(tasks, members, {.standby_replicas = 1, .max_warmup_replicas = 0});
  ASSERT_EQ(a.withheld, (std::set{task(1)}));
  EXPECT_TRUE(a.orders.at("a").standbys.contains(task(1)));
  EXPECT_TRUE(a.orders.at("b").standbys.contains(task(1)));
  EXPECT_FALSE(a.orders.at("c").standbys.contains(task(1)));
}

TEST(task_assignment, loads_end_within_one_of_each_other) {
  const auto tasks = tasks_up_to(10);
  const std::vector members{member("a"), member("b"), member("c")};
  const auto a = checked_assign(tasks, members);
  std::vector<std::size_t> sizes = loads(a);
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 4}));
}

TEST(task_assignment, warmups_stay_within_max_warmup_replicas) {
  const auto tasks = tasks_up_to(8);
  const std::vector members{owner("a", tasks), member("b"), member("c"), member("d")};
  for (int max_warmups : {0, 1, 2, 5}) {
    const auto a = checked_assign(tasks, members, {.max_warmup_replicas = max_warmups});
    EXPECT_EQ(warmup_count(a), static_cast<std::size_t>(max_warmups)) << max_warmups;
    EXPECT_EQ(a.active.at("a"), tasks);
    EXPECT_TRUE(a.withheld.empty());
  }
}

TEST(task_assignment, stateless_tasks_balance_freely) {
  const auto tasks = tasks_up_to(6);
  // a runs everything but nobody has state: b is caught up on all of it.
  std::vector members{member("a", tasks), member("b")};
  const auto first = checked_assign(tasks, members);
  EXPECT_EQ(first.withheld.size(), 3U);
  EXPECT_EQ(first.active.at("a").size(), 3U);
  EXPECT_EQ(warmup_count(first), 0U);
  members[0].active = first.active.at("a");
  const auto second = checked_assign(tasks, members);
  EXPECT_EQ(second.active.at("b"), first.withheld);
  EXPECT_TRUE(second.withheld.empty());
}

TEST(task_assignment, the_same_input_gives_the_same_assignment_in_any_member_order) {
  const auto tasks = tasks_up_to(9);
  std::vector members{owner("a", {task(0), task(1), task(2), task(3)}, "p1"),
                      member("b", {}, sums_of({task(1)}, fresh), "p1"), member("c", {}, {}, "p2"),
                      member("d", {task(8)}, {}, "p2")};
  const task_assignment_settings settings{.standby_replicas = 2};
  const auto first = checked_assign(tasks, members, settings);
  EXPECT_EQ(assign_tasks(tasks, members, settings).active, first.active);
  std::reverse(members.begin(), members.end());
  const auto reversed = assign_tasks(tasks, members, settings);
  EXPECT_EQ(reversed.active, first.active);
  EXPECT_EQ(reversed.orders, first.orders);
  EXPECT_EQ(reversed.withheld, first.withheld);
}

TEST(task_assignment, a_task_two_members_claim_stays_with_the_first_by_instance_id) {
  const std::set tasks{task(0), task(1)};
  auto zombie = member("a-zombie", {task(0)});
  zombie.instance_id = "instance-2";
  auto live = member("b-live", {task(0), task(7)});  // task 7 is not in the topology: ignored
  live.instance_id = "instance-1";
  const auto a = checked_assign(tasks, {zombie, live});
  EXPECT_EQ(a.active.at("b-live"), (std::set{task(0)}));
  EXPECT_EQ(a.active.at("a-zombie"), (std::set{task(1)}));
  EXPECT_TRUE(a.withheld.empty());
}

TEST(task_assignment, no_members_get_nothing_and_no_tasks_give_empty_entries) {
  EXPECT_TRUE(assign_tasks(tasks_up_to(3), {}, {}).active.empty());
  const auto a = checked_assign({}, {member("a"), member("b")}, {.standby_replicas = 1});
  EXPECT_TRUE(a.active.at("a").empty());
  EXPECT_EQ(a.orders.at("b"), member_task_orders{});
}

// A group over rounds: each rebalance feeds the previous result back as the members' owned tasks
// and reports. Between rebalances the changelogs grow by more than the acceptable lag (the
// members ask for the next one once warm-ups have restored), except after a round that withheld
// tasks: their owner revokes them and rejoins at once. What a member runs or keeps as a standby
// follows the changelogs; what it gave up stays where it was.
class simulated_group {
 public:
  simulated_group(std::set<task_id> tasks, task_assignment_settings settings)
      : tasks_(std::move(tasks)), settings_(settings) {}

  void join(const std::string& id, const std::string& process) {
    members_[id] = member(id, {}, {}, process);
  }
  void leave(const std::string& id) { members_.erase(id); }

  task_assignment rebalance() {
    if (!handing_over_) changelog_end_ += 3 * settings_.acceptable_recovery_lag;
    std::vector<assignor_member> group;
    for (auto& [id, m] : members_) {
      for (const auto& t : m.active) m.report.offset_sums[t] = changelog_end_;
      for (const auto& t : m.report.standbys) m.report.offset_sums[t] = changelog_end_;
      group.push_back(m);
    }
    auto result = checked_assign(tasks_, group, settings_);
    for (auto& [id, m] : members_) {
      m.active = result.active.at(id);
      m.report.standbys = result.orders.at(id).standbys;
    }
    handing_over_ = !result.withheld.empty();
    return result;
  }

  // Rebalances until a round withholds nothing and warms nothing up (the members ask for another
  // rebalance until then); returns how many it took.
  int settle(int max_rounds) {
    for (int round = 1; round <= max_rounds; ++round) {
      const auto a = rebalance();
      if (a.withheld.empty() && warmup_count(a) == 0) return round;
    }
    return max_rounds + 1;
  }

  std::map<std::string, std::size_t> loads() const {
    std::map<std::string, std::size_t> out;
    for (const auto& [id, m] : members_) out[id] = m.active.size();
    return out;
  }

 private:
  std::set<task_id> tasks_;
  task_assignment_settings settings_;
  std::map<std::string, assignor_member> members_;
  std::int64_t changelog_end_ = 0;
  bool handing_over_ = false;
};

TEST(task_assignment, scaling_one_to_three_to_one_converges_without_running_a_task_twice) {
  // The invariants (no task in two active sets, nor given while another member runs it) are
  // checked in every round by checked_assign.
  simulated_group group(tasks_up_to(6), {.standby_replicas = 1, .max_warmup_replicas = 2});
  group.join("a", "p1");
  EXPECT_EQ(group.settle(1), 1);
  EXPECT_EQ(group.loads(), (std::map<std::string, std::size_t>{{"a", 6}}));

  group.join("b", "p2");
  group.join("c", "p3");
  EXPECT_LE(group.settle(10), 10);
  EXPECT_EQ(group.loads(), (std::map<std::string, std::size_t>{{"a", 2}, {"b", 2}, {"c", 2}}));
  // Settled means stable: one more rebalance changes nothing.
  const auto again = group.rebalance();
  EXPECT_TRUE(again.withheld.empty());
  EXPECT_EQ(warmup_count(again), 0U);

  group.leave("b");
  group.leave("c");
  EXPECT_EQ(group.settle(1), 1);
  EXPECT_EQ(group.loads(), (std::map<std::string, std::size_t>{{"a", 6}}));
}

TEST(task_assignment, a_new_member_takes_over_only_after_warming_up) {
  simulated_group group(tasks_up_to(4), {.max_warmup_replicas = 2});
  group.join("a", "p1");
  group.rebalance();
  group.join("b", "p2");
  const auto warming = group.rebalance();
  EXPECT_EQ(warming.orders.at("b").warmups.size(), 2U);
  EXPECT_EQ(group.loads().at("a"), 4U);
  const auto moving = group.rebalance();
  EXPECT_EQ(moving.withheld, warming.orders.at("b").warmups);
  const auto moved = group.rebalance();
  EXPECT_EQ(moved.active.at("b"), warming.orders.at("b").warmups);
  EXPECT_TRUE(moved.withheld.empty());
}

TEST(task_assignment, random_membership_changes_always_settle_balanced) {
  std::mt19937 random(441);
  const auto pick = [&](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random);
  };
  for (int scenario = 0; scenario < 30; ++scenario) {
    SCOPED_TRACE("scenario " + std::to_string(scenario));
    simulated_group group(tasks_up_to(pick(1, 12)),
                          {.standby_replicas = pick(0, 2), .max_warmup_replicas = pick(1, 3)});
    std::set<std::string> present;
    for (int change = 0; change < 8; ++change) {
      const auto id = "m" + std::to_string(pick(0, 4));
      if (present.contains(id) && present.size() > 1) {
        group.leave(id);
        present.erase(id);
      } else {  // a present member joining again has restarted without its state
        group.join(id, "p" + std::to_string(pick(0, 2)));
        present.insert(id);
      }
      ASSERT_LE(group.settle(20), 20) << "after " << id << " came or went";
      std::vector<std::size_t> sizes;
      for (const auto& [member_id, load] : group.loads()) sizes.push_back(load);
      EXPECT_TRUE(within_one(sizes));
    }
  }
}

// Random groups: the invariants of expect_invariants, for inputs nobody wrote by hand (claims by
// two members, unknown tasks, stale and missing reports, one process or several).
TEST(task_assignment, random_groups_keep_the_invariants) {
  std::mt19937 random(20261206);
  const auto pick = [&](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random);
  };
  for (int round = 0; round < 400; ++round) {
    std::set<task_id> tasks;
    const int sub_topologies = pick(1, 2);
    const int partitions = pick(0, 8);
    for (int s = 0; s < sub_topologies; ++s) {
      for (int p = 0; p < partitions; ++p) tasks.insert(task(p, s));
    }
    const task_assignment_settings settings{.standby_replicas = pick(0, 3),
                                            .acceptable_recovery_lag = pick(0, 200),
                                            .max_warmup_replicas = pick(0, 3)};
    std::vector<assignor_member> members;
    const int member_count = pick(0, 5);
    for (int m = 0; m < member_count; ++m) {
      auto next = member("m" + std::to_string(m), {}, {}, "p" + std::to_string(pick(0, 2)));
      if (pick(0, 1) == 1) next.instance_id = "i" + std::to_string(pick(0, 9)) + next.member_id;
      for (int s = 0; s < sub_topologies; ++s) {
        for (int p = 0; p <= partitions; ++p) {  // p == partitions: a task the topology lost
          const auto t = task(p, s);
          const bool runs = pick(0, member_count) == 0;
          if (runs) next.active.insert(t);
          // Running tasks are mostly far ahead of other copies, which then need warm-ups.
          if (runs && pick(0, 2) != 0) {
            next.report.offset_sums[t] = 5'000 + pick(0, 1000);
          } else if (pick(0, 2) == 0) {
            next.report.offset_sums[t] = pick(0, 1000);
          }
        }
      }
      members.push_back(std::move(next));
    }
    SCOPED_TRACE("round " + std::to_string(round));
    const auto a = checked_assign(tasks, members, settings);
    std::shuffle(members.begin(), members.end(), random);
    const auto shuffled = assign_tasks(tasks, members, settings);
    EXPECT_EQ(shuffled.active, a.active);
    EXPECT_EQ(shuffled.orders, a.orders);
    EXPECT_EQ(shuffled.withheld, a.withheld);
    if (HasFailure()) return;
  }
}

TEST(task_assignment_encoding, a_report_round_trips) {
  member_task_report report;
  report.process = "host-7:a3f9";
  report.offset_sums = {{task(0), 0}, {task(3, 2), 1'234'567'890'123}, {task(5, 1), -2}};
  report.standbys = {task(3, 2), task(9, 4)};
  report.transactional_id = "app-instance-7";
  EXPECT_EQ(decode_report(encode_report(report)), report);
  EXPECT_EQ(decode_report(encode_report({})), member_task_report{});
}

TEST(task_assignment_encoding, orders_round_trip) {
  member_task_orders orders;
  orders.standbys = {task(0), task(1, 1), task(2'000'000, 70)};
  orders.warmups = {task(1, 1)};
  orders.owners = {{task(0), "app-a"}, {task(1, 1), ""}, {task(2'000'000, 70), "app-b"}};
  orders.fence = {"app-c", "app-d"};
  EXPECT_EQ(decode_orders(encode_orders(orders)), orders);
  EXPECT_EQ(decode_orders(encode_orders({})), member_task_orders{});
}

TEST(task_assignment_encoding, orders_are_a_kind_byte_a_version_and_big_endian_ints) {
  member_task_orders orders;
  orders.standbys = {task(258, 1)};
  const std::string expected(
      "O\x01"
      "\x00\x00\x00\x01"
      "\x00\x00\x00\x01\x00\x00\x01\x02"
      "\x00\x00\x00\x00"
      "\x00\x00\x00\x00"
      "\x00\x00\x00\x00",
      26);
  EXPECT_EQ(encode_orders(orders), expected);
}

member_task_report sample_report() {
  member_task_report report;
  report.process = "p";
  report.offset_sums = {{task(1), 77}, {task(2, 1), 1 << 20}};
  report.standbys = {task(2, 1)};
  return report;
}

TEST(task_assignment_encoding, every_truncation_and_trailing_bytes_are_rejected) {
  const auto report = encode_report(sample_report());
  member_task_orders orders;
  orders.standbys = {task(1), task(2)};
  orders.warmups = {task(2)};
  orders.owners = {{task(1), "x"}};
  orders.fence = {"y"};
  const auto encoded_orders = encode_orders(orders);
  for (std::size_t size = 0; size < report.size(); ++size) {
    EXPECT_FALSE(decode_report(std::string_view(report).substr(0, size))) << size;
  }
  for (std::size_t size = 0; size < encoded_orders.size(); ++size) {
    EXPECT_FALSE(decode_orders(std::string_view(encoded_orders).substr(0, size))) << size;
  }
  EXPECT_FALSE(decode_report(report + '\0'));
  EXPECT_FALSE(decode_orders(encoded_orders + "x"));
}

TEST(task_assignment_encoding, other_versions_kinds_and_counts_are_rejected) {
  auto report = encode_report(sample_report());
  EXPECT_FALSE(decode_orders(report));  // a report is not orders
  EXPECT_FALSE(decode_report(encode_orders({})));
  auto newer = report;
  newer[1] = 2;
  EXPECT_FALSE(decode_report(newer));
  // The process's length claims more bytes than there are.
  auto long_process = report;
  long_process[2] = 0x7f;
  EXPECT_FALSE(decode_report(long_process));
  // A count of -1, and a task listed twice.
  EXPECT_FALSE(decode_orders(std::string("O\x01\xff\xff\xff\xff\x00\x00\x00\x00", 10)));
  const std::string twice(
      "O\x01\x00\x00\x00\x02"
      "\x00\x00\x00\x00\x00\x00\x00\x01"
      "\x00\x00\x00\x00\x00\x00\x00\x01"
      "\x00\x00\x00\x00",
      26);
  EXPECT_FALSE(decode_orders(twice));
}

TEST(task_assignment_encoding, random_bytes_never_read_out_of_bounds) {
  // Under the asan preset this also proves that no read goes past the input.
  std::mt19937 random(7);
  const auto valid = encode_report(sample_report());
  for (int round = 0; round < 2000; ++round) {
    std::string bytes = valid;
    const int flips = std::uniform_int_distribution<int>(1, 4)(random);
    for (int i = 0; i < flips; ++i) {
      const auto at = std::uniform_int_distribution<std::size_t>(0, bytes.size() - 1)(random);
      bytes[at] = static_cast<char>(random());
    }
    bytes.resize(std::uniform_int_distribution<std::size_t>(0, bytes.size())(random));
    if (const auto decoded = decode_report(bytes)) {
      // Whatever decodes is a report that encodes back to the same bytes.
      EXPECT_EQ(encode_report(*decoded), bytes);
    }
    (void)decode_orders(bytes);
  }
}

}  // namespace
}  // namespace sluice::runtime
