#include "runtime/task_assignor.hpp"

#include <spdlog/spdlog.h>

#include <set>

namespace sluice::runtime {

task_assignor::task_assignor(std::map<std::string, int, std::less<>> sub_topology_of,
                             task_assignment_settings settings,
                             std::function<member_task_report()> report)
    : sub_topology_of_(std::move(sub_topology_of)),
      settings_(settings),
      report_(std::move(report)) {}

std::optional<std::string> task_assignor::subscription_user_data(
    const std::vector<std::string>& topics) {
  (void)topics;
  return encode_report(report_());
}

kafka::group_assignment task_assignor::assign(
    const kafka::partition_counts& topics, const std::vector<kafka::member_subscription>& members) {
  // A sub-topology's tasks: one per partition of its source topics (co-partitioned, checked at
  // start-up; the smallest count if they differ for a moment, so no task lacks an input).
  std::map<int, std::int32_t> partitions_of_sub;
  for (const auto& [topic, sub] : sub_topology_of_) {
    auto count = topics.find(topic);
    if (count == topics.end()) continue;
    auto [it, inserted] = partitions_of_sub.emplace(sub, count->second);
    if (!inserted) it->second = std::min(it->second, count->second);
  }
  std::set<task_id> tasks;
  for (const auto& [sub, count] : partitions_of_sub) {
    for (std::int32_t p = 0; p < count; ++p) tasks.insert({sub, p});
  }

  std::vector<assignor_member> inputs;
  for (const auto& m : members) {
    assignor_member input{m.member_id, m.group_instance_id, {}, {}};
    for (const auto& tp : m.owned_partitions) {
      auto sub = sub_topology_of_.find(tp.topic);
      if (sub != sub_topology_of_.end()) input.active.insert({sub->second, tp.partition});
    }
    if (m.user_data) {
      if (auto report = decode_report(*m.user_data)) input.report = std::move(*report);
    }
    inputs.push_back(std::move(input));
  }
  auto decided = assign_tasks(tasks, inputs, settings_);
  add_owners_and_fences(inputs, decided);

  kafka::group_assignment out;
  for (const auto& [member, active] : decided.active) {
    auto& partitions = out[member];
    for (const auto& id : active) {
      for (const auto& [topic, sub] : sub_topology_of_) {
        if (sub == id.sub_topology && topics.contains(topic))
          partitions.push_back({topic, id.partition});
      }
    }
  }
  std::size_t standbys = 0;
  std::size_t warmups = 0;
  for (const auto& [member, orders] : decided.orders) {
    standbys += orders.standbys.size();
    warmups += orders.warmups.size();
  }
  spdlog::info("task assignor: {} tasks over {} members, {} standbys ({} warming up), {} moving",
               tasks.size(), members.size(), standbys, warmups, decided.withheld.size());
  planned_orders_ = std::move(decided.orders);
  return out;
}

void task_assignor::add_owners_and_fences(const std::vector<assignor_member>& members,
                                          task_assignment& decided) const {
  std::map<std::string, std::string> transactional_id_of;
  std::set<std::string> live;
  // Who owned each task before: the last assignment's map, then what live members claim now.
  auto previous = known_owners_;
  for (const auto& m : members) {
    transactional_id_of[m.member_id] = m.report.transactional_id;
    if (!m.report.transactional_id.empty()) live.insert(m.report.transactional_id);
    for (const auto& id : m.active) previous[id] = m.report.transactional_id;
  }
  std::map<task_id, std::string> owners;
  for (const auto& [member, active] : decided.active) {
    for (const auto& id : active) {
      const auto& owner = owners[id] = transactional_id_of[member];
      auto before = previous.find(id);
      if (before != previous.end() && !before->second.empty() && before->second != owner &&
          !live.contains(before->second)) {
        decided.orders[member].fence.insert(before->second);
      }
    }
  }
  for (const auto& id : decided.withheld) {
    if (auto before = previous.find(id); before != previous.end()) owners[id] = before->second;
  }
  for (auto& [member, orders] : decided.orders) orders.owners = owners;
}

std::optional<std::string> task_assignor::assignment_user_data(const std::string& member_id) {
  auto found = planned_orders_.find(member_id);
  return encode_orders(found == planned_orders_.end() ? member_task_orders{} : found->second);
}

void task_assignor::on_assignment(const std::vector<kafka::topic_partition>& assigned,
                                  std::int32_t generation,
                                  const std::optional<std::string>& user_data) {
  (void)assigned;
  (void)generation;
  std::optional<member_task_orders> decoded;
  if (user_data) decoded = decode_orders(*user_data);
  orders_ = decoded ? std::move(*decoded) : member_task_orders{};
  known_owners_ = orders_.owners;
  ++assignments_;
}

}  // namespace sluice::runtime
