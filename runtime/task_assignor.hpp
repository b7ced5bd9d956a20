#pragma once

// task_assignor: the runtime's assignor for the classic group protocol (cooperative, KIP-429).
// It turns partitions into tasks and back (task N of a sub-topology is partition N of each of
// its source topics, so a task's inputs always go to one member), carries each member's report
// of its local state in the subscription's user data and each member's standby and warm-up
// orders in the assignment's user data, and leaves the decisions to assign_tasks()
// (task_assignment.hpp).
//
// Called on the consumer's executor (the app's), one call at a time, like every assignor.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "kafka/consumer/assignor.hpp"
#include "runtime/task_assignment.hpp"

namespace sluice::runtime {

inline constexpr std::string_view task_assignor_name = "sluice-tasks";

class task_assignor final : public kafka::partition_assignor {
 public:
  // `sub_topology_of`: input topic -> sub-topology; `report`: this member's report, asked at
  // every join.
  task_assignor(std::map<std::string, int, std::less<>> sub_topology_of,
                task_assignment_settings settings, std::function<member_task_report()> report);

  std::string name() const override { return std::string(task_assignor_name); }
  kafka::rebalance_protocol protocol() const override {
    return kafka::rebalance_protocol::cooperative;
  }
  std::optional<std::string> subscription_user_data(
      const std::vector<std::string>& topics) override;
  kafka::group_assignment assign(const kafka::partition_counts& topics,
                                 const std::vector<kafka::member_subscription>& members) override;
  std::optional<std::string> assignment_user_data(const std::string& member_id) override;
  void on_assignment(const std::vector<kafka::topic_partition>& assigned, std::int32_t generation,
                     const std::optional<std::string>& user_data) override;

  // This member's standby and warm-up orders from the last assignment, and a count that changes
  // with every assignment (the loop applies orders when it changes).
  const member_task_orders& orders() const { return orders_; }
  std::uint64_t assignments() const { return assignments_; }
  const task_assignment_settings& settings() const { return settings_; }

 private:
  std::map<std::string, int, std::less<>> sub_topology_of_;
  task_assignment_settings settings_;
  std::function<member_task_report()> report_;
  // Each task's owner by transactional id (rule: see member_task_orders::owners), and which
  // vanished owners the new owners must fence.
  void add_owners_and_fences(const std::vector<assignor_member>& members,
                             task_assignment& decided) const;

  std::map<std::string, member_task_orders> planned_orders_;  // the leader's, per member
  std::map<task_id, std::string> known_owners_;               // from the last assignment's orders
  member_task_orders orders_;
  std::uint64_t assignments_ = 0;
};

}  // namespace sluice::runtime
