#include "kafka/consumer/assignor.hpp"

#include <algorithm>
#include <set>

#include "kafka/consumer/consumer_config.hpp"
#include "kafka/net/net_error.hpp"
#include "kafka/protocol/error_code.hpp"

namespace sluice::kafka {

namespace {

// Java's MemberInfo order: static members (by instance id) before dynamic ones (by member id).
bool member_before(const member_subscription* a, const member_subscription* b) {
  if (a->group_instance_id && b->group_instance_id)
    return *a->group_instance_id < *b->group_instance_id;
  if (a->group_instance_id) return true;
  if (b->group_instance_id) return false;
  return a->member_id < b->member_id;
}

std::vector<const member_subscription*> sorted_members(
    const std::vector<member_subscription>& members) {
  std::vector<const member_subscription*> out;
  for (const auto& m : members) out.push_back(&m);
  std::sort(out.begin(), out.end(), member_before);
  return out;
}

bool subscribes(const member_subscription& member, const std::string& topic) {
  return std::find(member.topics.begin(), member.topics.end(), topic) != member.topics.end();
}

group_assignment empty_assignment(const std::vector<member_subscription>& members) {
  group_assignment out;
  for (const auto& m : members) out[m.member_id];
  return out;
}

// Every partition of a topic some member subscribes to, sorted by topic then index.
std::vector<topic_partition> subscribed_partitions(
    const partition_counts& topics, const std::vector<member_subscription>& members) {
  std::set<std::string> wanted;
  for (const auto& m : members) wanted.insert(m.topics.begin(), m.topics.end());
  std::vector<topic_partition> out;
  for (const auto& topic : wanted) {
    auto count = topics.find(topic);
    if (count == topics.end()) continue;
    for (std::int32_t p = 0; p < count->second; ++p) out.push_back({topic, p});
  }
  return out;
}

}  // namespace

group_assignment assign_range(const partition_counts& topics,
                              const std::vector<member_subscription>& members) {
  auto out = empty_assignment(members);
  auto order = sorted_members(members);
  for (const auto& [topic, count] : topics) {
    std::vector<const member_subscription*> takers;
    for (const auto* m : order) {
      if (subscribes(*m, topic)) takers.push_back(m);
    }
    if (takers.empty()) continue;
    const auto n = static_cast<std::int32_t>(takers.size());
    const std::int32_t per_member = count / n;
    const std::int32_t extra = count % n;
    for (std::int32_t i = 0; i < n; ++i) {
      const std::int32_t start = per_member * i + std::min(i, extra);
      const std::int32_t length = per_member + (i < extra ? 1 : 0);
      auto& mine = out[takers[static_cast<std::size_t>(i)]->member_id];
      for (std::int32_t p = start; p < start + length; ++p) mine.push_back({topic, p});
    }
  }
  return out;
}

group_assignment assign_roundrobin(const partition_counts& topics,
                                   const std::vector<member_subscription>& members) {
  auto out = empty_assignment(members);
  auto order = sorted_members(members);
  if (order.empty()) return out;
  std::size_t next = 0;
  for (const auto& tp : subscribed_partitions(topics, members)) {
    // Deal to the next member in the circle that subscribes to this topic.
    for (std::size_t tries = 0; tries < order.size(); ++tries) {
      const auto* m = order[next];
      next = (next + 1) % order.size();
      if (subscribes(*m, tp.topic)) {
        out[m->member_id].push_back(tp);
        break;
      }
    }
  }
  return out;
}

group_assignment assign_cooperative_sticky(const partition_counts& topics,
                                           const std::vector<member_subscription>& members) {
  auto out = empty_assignment(members);
  auto order = sorted_members(members);
  if (order.empty()) return out;
  const auto all = subscribed_partitions(topics, members);
  std::set<topic_partition> exists(all.begin(), all.end());

  // Who validly owns what now: the member must still subscribe to the topic; if two members claim a
  // partition, the claim from the newer generation wins (the other is a zombie's view).
  std::map<topic_partition, const member_subscription*> owner;
  for (const auto* m : order) {
    for (const auto& tp : m->owned_partitions) {
      if (!exists.contains(tp) || !subscribes(*m, tp.topic)) continue;
      auto [it, inserted] = owner.emplace(tp, m);
      if (!inserted && m->generation > it->second->generation) it->second = m;
    }
  }

  // Keep owned partitions up to the balanced share, then deal the rest to the least loaded member
  // that subscribes to the topic.
  const std::size_t quota = (all.size() + order.size() - 1) / order.size();
  std::set<topic_partition> placed;
  for (const auto* m : order) {
    auto& mine = out[m->member_id];
    std::vector<topic_partition> owned = m->owned_partitions;
    std::sort(owned.begin(), owned.end());
    for (const auto& tp : owned) {
      if (mine.size() >= quota) break;
      auto it = owner.find(tp);
      if (it == owner.end() || it->second != m || placed.contains(tp)) continue;
      mine.push_back(tp);
      placed.insert(tp);
    }
  }
  for (const auto& tp : all) {
    if (placed.contains(tp)) continue;
    const member_subscription* best = nullptr;
    for (const auto* m : order) {
      if (!subscribes(*m, tp.topic)) continue;
      if (best == nullptr || out[m->member_id].size() < out[best->member_id].size()) best = m;
    }
    if (best == nullptr) continue;
    out[best->member_id].push_back(tp);
    placed.insert(tp);
  }

  // KIP-429: a partition moving between members is withheld from its new member in this
  // generation; its old owner sees it gone, revokes it and rejoins, and the next rebalance hands it
  // over.
  for (auto& [member_id, mine] : out) {
    std::erase_if(mine, [&, &id = member_id](const topic_partition& tp) {
      auto it = owner.find(tp);
      return it != owner.end() && it->second->member_id != id;
    });
    std::sort(mine.begin(), mine.end());
  }
  return out;
}

group_assignment run_assignor(std::string_view name, const partition_counts& topics,
                              const std::vector<member_subscription>& members) {
  if (name == range_assignor_name) return assign_range(topics, members);
  if (name == roundrobin_assignor_name) return assign_roundrobin(topics, members);
  if (name == cooperative_sticky_assignor_name) return assign_cooperative_sticky(topics, members);
  throw kafka_error(make_error_code(net_error::bad_configuration),
                    "unknown partition assignor '" + std::string(name) + "'", false);
}

rebalance_protocol protocol_of(std::string_view assignor_name) {
  return assignor_name == cooperative_sticky_assignor_name ? rebalance_protocol::cooperative
                                                           : rebalance_protocol::eager;
}

}  // namespace sluice::kafka
