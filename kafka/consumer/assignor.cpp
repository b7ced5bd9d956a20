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

namespace {

// Sticky placement shared by `sticky` and `cooperative-sticky`. `previous` is what each member
// claims to own (and from which generation); returns the assignment and who validly owned what.
struct sticky_result {
  group_assignment assignment;
  std::map<topic_partition, const member_subscription*> owner;
};

// What each member says it had, and from which generation.
using previous_claims =
    std::map<const member_subscription*, std::pair<std::vector<topic_partition>, std::int32_t>>;

sticky_result place_sticky(const partition_counts& topics,
                           const std::vector<member_subscription>& members,
                           const previous_claims& previous) {
  sticky_result result;
  auto& out = result.assignment;
  out = empty_assignment(members);
  auto order = sorted_members(members);
  if (order.empty()) return result;
  const auto all = subscribed_partitions(topics, members);
  std::set<topic_partition> exists(all.begin(), all.end());

  // Who validly owns what now: the member must still subscribe to the topic; if two members claim a
  // partition, the claim from the newer generation wins (the other is a zombie's view).
  auto& owner = result.owner;
  std::map<const member_subscription*, std::int32_t> generation_of;
  for (const auto* m : order) {
    auto it = previous.find(m);
    if (it == previous.end()) continue;
    generation_of[m] = it->second.second;
    for (const auto& tp : it->second.first) {
      if (!exists.contains(tp) || !subscribes(*m, tp.topic)) continue;
      auto [at, inserted] = owner.emplace(tp, m);
      if (!inserted && it->second.second > generation_of[at->second]) at->second = m;
    }
  }

  // 1. Every member keeps what it validly owns.
  std::map<std::string, std::set<topic_partition>> mine;
  std::set<topic_partition> placed;
  for (const auto& [tp, m] : owner) {
    mine[m->member_id].insert(tp);
    placed.insert(tp);
  }
  for (const auto* m : order) mine[m->member_id];
  auto load = [&](const member_subscription* m) { return mine[m->member_id].size(); };
  // 2. The rest to the least loaded subscriber (ties: member order).
  for (const auto& tp : all) {
    if (placed.contains(tp)) continue;
    const member_subscription* best = nullptr;
    for (const auto* m : order) {
      if (subscribes(*m, tp.topic) && (best == nullptr || load(m) < load(best))) best = m;
    }
    if (best == nullptr) continue;
    mine[best->member_id].insert(tp);
    placed.insert(tp);
  }
  // 3. Balance: move a partition from a member to a subscriber of its topic with at least two
  // fewer. Each move lowers the sum of squared loads, so this ends. Partitions the donor did not
  // own before move first, then its highest ones.
  bool moved = true;
  while (moved) {
    moved = false;
    std::vector<const member_subscription*> by_load(order.begin(), order.end());
    std::stable_sort(by_load.begin(), by_load.end(),
                     [&](const auto* a, const auto* b) { return load(a) > load(b); });
    for (const auto* donor : by_load) {
      std::vector<topic_partition> candidates(mine[donor->member_id].rbegin(),
                                              mine[donor->member_id].rend());
      std::stable_partition(candidates.begin(), candidates.end(), [&](const topic_partition& tp) {
        auto it = owner.find(tp);
        return it == owner.end() || it->second != donor;
      });
      for (const auto& tp : candidates) {
        const member_subscription* receiver = nullptr;
        for (const auto* m : order) {
          if (m == donor || !subscribes(*m, tp.topic)) continue;
          if (load(m) + 1 < load(donor) && (receiver == nullptr || load(m) < load(receiver)))
            receiver = m;
        }
        if (receiver == nullptr) continue;
        mine[donor->member_id].erase(tp);
        mine[receiver->member_id].insert(tp);
        moved = true;
        break;
      }
      if (moved) break;
    }
  }
  for (auto& [member_id, partitions] : mine)
    out[member_id] = std::vector<topic_partition>(partitions.begin(), partitions.end());
  return result;
}

void put_int16(std::string& out, std::int16_t value) {
  auto v = static_cast<std::uint16_t>(value);
  out.push_back(static_cast<char>(v >> 8U));
  out.push_back(static_cast<char>(v & 0xFFU));
}

void put_int32(std::string& out, std::int32_t value) {
  auto v = static_cast<std::uint32_t>(value);
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> static_cast<unsigned>(shift)) & 0xFFU));
}

// Big-endian reads that fail (false) past the end instead of reading it.
struct byte_reader {
  std::string_view data;
  std::size_t at = 0;
  bool int16(std::int16_t& value) {
    if (data.size() - at < 2) return false;
    value = static_cast<std::int16_t>((static_cast<std::uint8_t>(data[at]) << 8U) |
                                      static_cast<std::uint8_t>(data[at + 1]));
    at += 2;
    return true;
  }
  bool int32(std::int32_t& value) {
    if (data.size() - at < 4) return false;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8U) | static_cast<std::uint8_t>(data[at + i]);
    value = static_cast<std::int32_t>(v);
    at += 4;
    return true;
  }
};

}  // namespace

group_assignment assign_cooperative_sticky(const partition_counts& topics,
                                           const std::vector<member_subscription>& members) {
  previous_claims previous;
  for (const auto& m : members) previous[&m] = {m.owned_partitions, m.generation};
  auto [out, owner] = place_sticky(topics, members, previous);
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

group_assignment assign_sticky(const partition_counts& topics,
                               const std::vector<member_subscription>& members) {
  previous_claims previous;
  for (const auto& m : members) {
    if (!m.user_data || m.user_data->empty()) continue;
    if (auto decoded = decode_sticky_user_data(*m.user_data))
      previous[&m] = {std::move(decoded->partitions), decoded->generation};
  }
  return place_sticky(topics, members, previous).assignment;
}

std::string encode_sticky_user_data(const std::vector<topic_partition>& partitions,
                                    std::int32_t generation) {
  std::map<std::string, std::vector<std::int32_t>> by_topic;
  for (const auto& tp : partitions) by_topic[tp.topic].push_back(tp.partition);
  std::string out;
  put_int32(out, static_cast<std::int32_t>(by_topic.size()));
  for (const auto& [topic, list] : by_topic) {
    put_int16(out, static_cast<std::int16_t>(topic.size()));
    out += topic;
    put_int32(out, static_cast<std::int32_t>(list.size()));
    for (auto p : list) put_int32(out, p);
  }
  put_int32(out, generation);
  return out;
}

namespace {

std::optional<sticky_user_data> decode_sticky_struct(std::string_view data) {
  byte_reader in{data};
  sticky_user_data out;
  std::int32_t topics = 0;
  if (!in.int32(topics) || topics < 0) return std::nullopt;
  for (std::int32_t t = 0; t < topics; ++t) {
    std::int16_t length = 0;
    if (!in.int16(length) || length < 0 || data.size() - in.at < static_cast<std::size_t>(length))
      return std::nullopt;
    std::string topic(data.substr(in.at, static_cast<std::size_t>(length)));
    in.at += static_cast<std::size_t>(length);
    std::int32_t count = 0;
    if (!in.int32(count) || count < 0) return std::nullopt;
    for (std::int32_t i = 0; i < count; ++i) {
      std::int32_t partition = 0;
      if (!in.int32(partition)) return std::nullopt;
      out.partitions.push_back({topic, partition});
    }
  }
  // V1 appends the generation; V0 ends here.
  if (in.at < data.size() && !in.int32(out.generation)) return std::nullopt;
  if (in.at != data.size()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<sticky_user_data> decode_sticky_user_data(std::string_view data) {
  if (auto decoded = decode_sticky_struct(data)) return decoded;
  // kafka-python (2.1+) writes the same struct behind an int16 version (0 or 1); accept that too,
  // so that its members' previous assignments count.
  if (data.size() >= 2 && data[0] == 0 && (data[1] == 0 || data[1] == 1)) {
    auto decoded = decode_sticky_struct(data.substr(2));
    if (decoded && data[1] == 0 && decoded->generation != -1) return std::nullopt;
    return decoded;
  }
  return std::nullopt;
}

namespace {

// The stateless built-ins.
class named_assignor : public partition_assignor {
 public:
  explicit named_assignor(std::string_view name) : name_(name) {}
  std::string name() const override { return name_; }
  rebalance_protocol protocol() const override { return protocol_of(name_); }
  group_assignment assign(const partition_counts& topics,
                          const std::vector<member_subscription>& members) override {
    return run_assignor(name_, topics, members);
  }

 private:
  std::string name_;
};

// Java's StickyAssignor on this member: remembers its last assignment and generation for the
// next subscription's user data.
class sticky_assignor : public partition_assignor {
 public:
  std::string name() const override { return std::string(sticky_assignor_name); }
  std::optional<std::string> subscription_user_data(
      const std::vector<std::string>& topics) override {
    (void)topics;
    if (!remembered_) return std::nullopt;
    return encode_sticky_user_data(previous_, generation_);
  }
  group_assignment assign(const partition_counts& topics,
                          const std::vector<member_subscription>& members) override {
    return assign_sticky(topics, members);
  }
  void on_assignment(const std::vector<topic_partition>& assigned,
                     std::int32_t generation) override {
    previous_ = assigned;
    generation_ = generation;
    remembered_ = true;
  }

 private:
  std::vector<topic_partition> previous_;
  std::int32_t generation_ = -1;
  bool remembered_ = false;
};

}  // namespace

std::shared_ptr<partition_assignor> make_builtin_assignor(std::string_view name) {
  if (name == sticky_assignor_name) return std::make_shared<sticky_assignor>();
  if (name == range_assignor_name || name == roundrobin_assignor_name ||
      name == cooperative_sticky_assignor_name) {
    return std::make_shared<named_assignor>(name);
  }
  return nullptr;
}

group_assignment run_assignor(std::string_view name, const partition_counts& topics,
                              const std::vector<member_subscription>& members) {
  if (name == range_assignor_name) return assign_range(topics, members);
  if (name == roundrobin_assignor_name) return assign_roundrobin(topics, members);
  if (name == cooperative_sticky_assignor_name) return assign_cooperative_sticky(topics, members);
  if (name == sticky_assignor_name) return assign_sticky(topics, members);
  throw kafka_error(make_error_code(net_error::bad_configuration),
                    "unknown partition assignor '" + std::string(name) + "'", false);
}

rebalance_protocol protocol_of(std::string_view assignor_name) {
  return assignor_name == cooperative_sticky_assignor_name ? rebalance_protocol::cooperative
                                                           : rebalance_protocol::eager;
}

}  // namespace sluice::kafka
