// The classic group protocol (classic_group.hpp). A join is JoinGroup (which parks on the
// coordinator until every member rejoined), then SyncGroup, where the leader hands over the
// assignment its assignor computed; heartbeats keep the membership while stable. Eager
// assignors revoke everything before a join; cooperative ones (KIP-429) revoke only what moves,
// after the assignment, and rejoin so that the partitions reach their new owner.
#include "kafka/consumer/classic_group.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "kafka/client/clock.hpp"
#include "kafka/consumer/group_internal.hpp"
#include "kafka/protocol/messages/consumer_protocol_assignment.hpp"
#include "kafka/protocol/messages/consumer_protocol_subscription.hpp"
#include "kafka/protocol/messages/heartbeat.hpp"
#include "kafka/protocol/messages/leave_group.hpp"
#include "kafka/protocol/versioned_message.hpp"

namespace sluice::kafka::group_detail {

namespace {

constexpr std::string_view consumer_protocol_type = "consumer";
// The subscription version we write: v3 carries owned partitions (KIP-429), the generation and
// the rack (KIP-881).
constexpr std::int16_t subscription_version = 3;
constexpr std::int16_t assignment_version = 3;

// Cooperative only when every configured assignor is (Java's rule): a group may be mid-upgrade.
rebalance_protocol configured_protocol(const consumer_config& config) {
  for (const auto& name : config.assignment_strategies) {
    auto protocol = protocol_of(name);
    for (const auto& custom : config.custom_assignors) {
      if (custom && custom->name() == name) protocol = custom->protocol();
    }
    if (protocol != rebalance_protocol::cooperative) return rebalance_protocol::eager;
  }
  return config.assignment_strategies.empty() ? rebalance_protocol::eager
                                              : rebalance_protocol::cooperative;
}

}  // namespace

classic_group::classic_group(consumer::impl& self)
    : self_(self), rebalance_(configured_protocol(self.config)) {}

bool classic_group::rejoin_due() const {
  return state_ == classic_member_state::joining || state_ == classic_member_state::syncing ||
         state_ == classic_member_state::rebalancing;
}

bool classic_group::stable() const {
  return state_ == classic_member_state::stable || state_ == classic_member_state::rebalancing;
}

bool classic_group::blocks_fetching() const {
  return rebalance_ == rebalance_protocol::eager && !stable();
}

void classic_group::request_rejoin() {
  if (state_ == classic_member_state::stable) state_ = classic_member_state::rebalancing;
  if (state_ == classic_member_state::unjoined) state_ = classic_member_state::joining;
}

void classic_group::subscription_changed() {
  request_rejoin();
}

void classic_group::drop_to_unjoined() {
  state_ = rejoin_due() ? classic_member_state::joining : classic_member_state::unjoined;
}

void classic_group::forget_membership() {
  auto& g = *self_.group;
  g.member_id.clear();
  g.generation = -1;
  drop_to_unjoined();
}

void classic_group::unsubscribed() {
  forget_membership();
  state_ = classic_member_state::unjoined;
}

void classic_group::tick() {
  auto& g = *self_.group;
  if (rejoin_due() && !join_running_ && !g.poll_timed_out && !g.fatal) {
    join_running_ = true;
    self_.spawn("join group", join_loop());
  }
}

void classic_group::metadata_refreshed() {
  if (!stable()) return;
  const auto& g = *self_.group;
  for (const auto& topic : g.topics) {
    const auto* info = self_.cluster.metadata().topic(topic);
    std::int32_t count = info == nullptr ? 0 : static_cast<std::int32_t>(info->partitions.size());
    auto known = partition_counts_.find(topic);
    if ((known == partition_counts_.end() && count > 0) ||
        (known != partition_counts_.end() && known->second != count)) {
      request_rejoin();  // a topic appeared or gained partitions
    }
  }
}

boost::asio::awaitable<void> classic_group::leave(std::string reason, bool closing) {
  co_await send_leave_group(std::move(reason), closing);
}

boost::asio::awaitable<void> classic_group::send_leave_group(std::string reason, bool closing) {
  auto& self = self_;
  auto& g = *self.group;
  // Static members do not leave (KIP-345): their partitions wait for them for a session. On close
  // they do when leave_group_on_close says so (LeaveGroup v3+ names the instance).
  const bool static_member = self.config.group_instance_id.has_value();
  if (g.member_id.empty()) co_return;
  if (static_member && !(closing && self.config.leave_group_on_close.value_or(false))) co_return;
  protocol::leave_group_request request;
  request.group_id = self.config.group_id;
  request.member_id = g.member_id;
  request.members.push_back(
      {.member_id = g.member_id,
       .group_instance_id = static_member ? self.config.group_instance_id : std::nullopt,
       .reason = reason});
  try {
    auto conn = co_await coordinator(self, false);
    auto response = co_await conn->send(std::move(request));
    auto code = static_cast<error_code>(response.error_code);
    if (code != error_code::none && code != error_code::unknown_member_id) {
      spdlog::warn("consumer: LeaveGroup for group '{}': {}", self.config.group_id,
                   error_name(code));
    }
  } catch (const std::exception& e) {
    spdlog::warn("consumer: LeaveGroup for group '{}': {}", self.config.group_id, e.what());
  }
  forget_membership();
}

boost::asio::awaitable<void> classic_group::heartbeat_loop() {
  auto& self = self_;
  auto& g = *self.group;
  while (!self.stopping && self.subscribed()) {
    co_await g.heartbeat_wake.wait(clock::now() + self.config.heartbeat_interval);
    if (self.stopping || !self.subscribed()) break;
    if (!stable()) continue;
    // KIP-62: a member that stops polling leaves the group, so the others do not wait for it; it
    // rejoins on its next poll instead of being kicked out again and again.
    if (!g.poll_timed_out && clock::now() - g.last_poll > self.config.max_poll_interval) {
      spdlog::warn(
          "consumer: no poll for longer than max_poll_interval ({} ms); leaving group '{}' until "
          "the "
          "next poll (process faster or raise max_poll_interval / lower max_poll_records)",
          self.config.max_poll_interval.count(), self.config.group_id);
      g.poll_timed_out = true;
      g.partitions_lost = true;
      request_rejoin();
      co_await send_leave_group("consumer poll timeout has expired", false);
      forget_membership();
      continue;
    }
    protocol::heartbeat_request request;
    request.group_id = self.config.group_id;
    request.generation_id = g.generation;
    request.member_id = g.member_id;
    request.group_instance_id = self.config.group_instance_id;
    const auto generation = g.generation;
    error_code code = error_code::none;
    try {
      auto conn = co_await coordinator(self, false);
      auto response = co_await conn->send(std::move(request));
      code = static_cast<error_code>(response.error_code);
    } catch (const std::exception& e) {
      spdlog::warn("consumer: heartbeat to group '{}': {}", self.config.group_id, e.what());
      coordinator_lost(g);
      continue;
    }
    if (g.generation != generation || !stable()) continue;  // rejoined meanwhile
    switch (code) {
      case error_code::none:
        break;
      case error_code::rebalance_in_progress:
        request_rejoin();
        self.fetch_wanted.notify_all();
        break;
      case error_code::illegal_generation:
      case error_code::unknown_member_id:
        spdlog::info("consumer: group '{}' no longer knows this member ({}); rejoining",
                     self.config.group_id, error_name(code));
        if (code == error_code::unknown_member_id) g.member_id.clear();
        g.generation = -1;
        g.partitions_lost = true;
        state_ = classic_member_state::joining;
        self.fetch_wanted.notify_all();
        break;
      case error_code::fenced_instance_id:
        g.fatal = {make_error_code(code), "group '" + self.config.group_id +
                                              "': another member took group instance id '" +
                                              self.config.group_instance_id.value_or("") + "'"};
        drop_to_unjoined();
        g.partitions_lost = true;
        self.data_ready.notify_all();
        break;
      default:
        if (coordinator_moved(code)) {
          coordinator_lost(g);
        } else {
          spdlog::warn("consumer: heartbeat to group '{}': {}", self.config.group_id,
                       error_name(code));
        }
    }
  }
  heartbeat_running_ = false;
}

// Revokes (or declares lost) before a join, as the rebalance protocol asks.
boost::asio::awaitable<void> classic_group::prepare_join() {
  auto& self = self_;
  auto& g = *self.group;
  if (g.partitions_lost) {
    g.partitions_lost = false;
    auto gone = sorted(owned(self));
    self.set_assignment({}, position_lookup::committed);
    if (!gone.empty()) co_await call_listener(&g, listener_event::lost, gone);
    co_return;
  }
  if (rebalance_ == rebalance_protocol::eager && !self.partitions.empty()) {
    if (self.config.auto_commit_active()) {
      try {
        co_await self.commit_offsets(self.consumed_offsets());
      } catch (const std::exception& e) {
        spdlog::warn("consumer: auto commit before rebalance of group '{}': {}",
                     self.config.group_id, e.what());
      }
    }
    auto gone = sorted(owned(self));
    co_await call_listener(&g, listener_event::revoked, gone);
    self.set_assignment({}, position_lookup::committed);
  }
}

// The configured assignors (assignment_strategies, custom ones by name).
const std::vector<std::shared_ptr<partition_assignor>>& classic_group::assignors() {
  if (assignors_.empty()) {
    for (const auto& name : self_.config.assignment_strategies) {
      std::shared_ptr<partition_assignor> found;
      for (const auto& custom : self_.config.custom_assignors) {
        if (custom && custom->name() == name) found = custom;
      }
      if (!found) found = make_builtin_assignor(name);
      if (!found) {
        throw kafka_error(make_error_code(net_error::bad_configuration),
                          "unknown partition assignor '" + name + "'", false);
      }
      assignors_.push_back(std::move(found));
    }
  }
  return assignors_;
}

partition_assignor* classic_group::assignor_named(const std::string& name) {
  for (const auto& a : assignors()) {
    if (a->name() == name) return a.get();
  }
  return nullptr;
}

// The group leader's part: decode the members' subscriptions, run the chosen assignor.
boost::asio::awaitable<std::vector<protocol::sync_group_request::sync_group_request_assignment>>
classic_group::lead(
    std::string protocol_name,
    std::vector<protocol::join_group_response::join_group_response_member> members) {
  auto& self = self_;
  std::vector<member_subscription> subscriptions;
  std::set<std::string> all_topics;
  for (const auto& m : members) {
    auto decoded = protocol::decode_versioned<protocol::consumer_protocol_subscription>(m.metadata);
    if (!decoded) {
      throw kafka_error(make_error_code(consumer_error::group_error),
                        "group '" + self.config.group_id + "': member " + m.member_id +
                            " sent a subscription that does not decode",
                        false);
    }
    member_subscription s;
    s.member_id = m.member_id;
    s.group_instance_id = m.group_instance_id;
    s.topics = decoded->topics;
    s.generation = decoded->generation_id;
    s.rack = decoded->rack_id;
    if (decoded->user_data) {
      s.user_data = std::string(reinterpret_cast<const char*>(decoded->user_data->data()),
                                decoded->user_data->size());
    }
    for (const auto& t : decoded->owned_partitions) {
      for (auto p : t.partitions) s.owned_partitions.push_back({t.topic, p});
    }
    all_topics.insert(s.topics.begin(), s.topics.end());
    subscriptions.push_back(std::move(s));
  }
  partition_counts counts;
  if (!all_topics.empty()) {
    const auto* metadata = co_await self.cluster.refresh_metadata(
        std::vector<std::string>(all_topics.begin(), all_topics.end()));
    for (const auto& name : all_topics) {
      const auto* topic = metadata->topic(name);
      if (topic != nullptr && topic->error == error_code::none && !topic->partitions.empty()) {
        counts[name] = static_cast<std::int32_t>(topic->partitions.size());
      }
    }
  }
  partition_counts_ = counts;
  auto* assignor = assignor_named(protocol_name);
  if (assignor == nullptr) {
    throw kafka_error(make_error_code(consumer_error::group_error),
                      "group '" + self.config.group_id + "' chose assignor '" + protocol_name +
                          "', which this member does not have",
                      false);
  }
  auto assignment = assignor->assign(counts, subscriptions);
  // An application assignor's result is checked before it reaches the group.
  std::set<std::string> member_ids;
  for (const auto& m : subscriptions) member_ids.insert(m.member_id);
  std::set<topic_partition> given;
  for (const auto& [member_id, partitions] : assignment) {
    if (!member_ids.contains(member_id)) {
      throw kafka_error(make_error_code(consumer_error::group_error),
                        "assignor '" + protocol_name + "' assigned partitions to '" + member_id +
                            "', which is not a member of group '" + self.config.group_id + "'",
                        false);
    }
    for (const auto& tp : partitions) {
      if (!given.insert(tp).second) {
        throw kafka_error(make_error_code(consumer_error::group_error),
                          "assignor '" + protocol_name + "' assigned " + tp.to_string() +
                              " to more than one member of group '" + self.config.group_id + "'",
                          false);
      }
    }
  }
  for (const auto& id : member_ids) assignment[id];
  std::vector<protocol::sync_group_request::sync_group_request_assignment> out;
  for (const auto& [member_id, partitions] : assignment) {
    protocol::consumer_protocol_assignment message;
    for (const auto& tp : partitions) {
      if (message.assigned_partitions.empty() ||
          message.assigned_partitions.back().topic != tp.topic) {
        message.assigned_partitions.push_back({.topic = tp.topic});
      }
      message.assigned_partitions.back().partitions.push_back(tp.partition);
    }
    if (auto data = assignor->assignment_user_data(member_id)) {
      const auto* begin = reinterpret_cast<const std::byte*>(data->data());
      message.user_data = protocol::bytes(begin, begin + data->size());
    }
    out.push_back({.member_id = member_id,
                   .assignment = protocol::encode_versioned(message, assignment_version)});
  }
  co_return out;
}

// Applies SyncGroup's assignment, calling the listener as the protocol asks.
boost::asio::awaitable<void> classic_group::apply_assignment(std::set<topic_partition> next) {
  auto& self = self_;
  auto& g = *self.group;
  auto before = owned(self);
  if (rebalance_ == rebalance_protocol::cooperative) {
    std::vector<topic_partition> gone, added;
    std::set_difference(before.begin(), before.end(), next.begin(), next.end(),
                        std::back_inserter(gone));
    std::set_difference(next.begin(), next.end(), before.begin(), before.end(),
                        std::back_inserter(added));
    if (!gone.empty()) {
      co_await call_listener(&g, listener_event::revoked, gone);
      // KIP-429: after giving partitions up, rejoin so that they can go to their new owner.
      request_rejoin();
    }
    self.set_assignment(std::vector<topic_partition>(next.begin(), next.end()),
                        position_lookup::committed);
    co_await call_listener(&g, listener_event::assigned, added);
  } else {
    self.set_assignment(std::vector<topic_partition>(next.begin(), next.end()),
                        position_lookup::committed);
    co_await call_listener(&g, listener_event::assigned, sorted(next));
  }
}

// One full join: JoinGroup, SyncGroup (as leader or follower), then the new assignment. Returns
// false when the caller should try again (after a backoff where the error asks for one).
boost::asio::awaitable<bool> classic_group::join_once() {
  auto& self = self_;
  auto& g = *self.group;
  auto& config = self.config;
  g.statistics.start();
  co_await prepare_join();
  if (!self.subscribed() || self.stopping) co_return true;

  protocol::consumer_protocol_subscription subscription;
  subscription.topics = std::vector<std::string>(g.topics.begin(), g.topics.end());
  for (const auto& tp : owned(self)) {
    if (subscription.owned_partitions.empty() ||
        subscription.owned_partitions.back().topic != tp.topic) {
      subscription.owned_partitions.push_back({.topic = tp.topic});
    }
    subscription.owned_partitions.back().partitions.push_back(tp.partition);
  }
  subscription.generation_id = g.generation;
  if (!config.client_rack.empty()) subscription.rack_id = config.client_rack;

  protocol::join_group_request join;
  join.group_id = config.group_id;
  join.session_timeout_ms = static_cast<std::int32_t>(config.session_timeout.count());
  join.rebalance_timeout_ms = static_cast<std::int32_t>(config.max_poll_interval.count());
  join.member_id = g.member_id;
  join.group_instance_id = config.group_instance_id;
  join.protocol_type = std::string(consumer_protocol_type);
  for (const auto& assignor : assignors()) {
    // Each assignor may add its own user data (sticky: the previous assignment).
    subscription.user_data.reset();
    if (auto data = assignor->subscription_user_data(subscription.topics)) {
      const auto* begin = reinterpret_cast<const std::byte*>(data->data());
      subscription.user_data = protocol::bytes(begin, begin + data->size());
    }
    join.protocols.push_back(
        {.name = assignor->name(),
         .metadata = protocol::encode_versioned(subscription, subscription_version)});
  }

  state_ = classic_member_state::joining;
  protocol::join_group_response joined;
  try {
    auto conn = co_await coordinator(self, true);
    joined = co_await conn->send(std::move(join));
  } catch (const kafka_error& e) {
    if (!e.retriable()) throw;
    spdlog::warn("consumer: JoinGroup for group '{}': {}", config.group_id, e.what());
    coordinator_lost(g);
    co_return false;
  }
  auto code = static_cast<error_code>(joined.error_code);
  switch (code) {
    case error_code::none:
      break;
    case error_code::member_id_required:
      // KIP-394: the broker assigned a member id; join again with it, at once.
      g.member_id = joined.member_id;
      co_return co_await join_once();
    case error_code::unknown_member_id:
    case error_code::illegal_generation:
      forget_membership();
      co_return false;
    case error_code::rebalance_in_progress:
      co_return false;
    default:
      if (coordinator_moved(code)) {
        coordinator_lost(g);
        co_return false;
      }
      throw kafka_error(code, "join group '" + config.group_id + "'");
  }
  g.member_id = joined.member_id;
  g.generation = joined.generation_id;
  protocol_name_ = joined.protocol_name.value_or("");
  state_ = classic_member_state::syncing;
  const bool leader = joined.leader == joined.member_id && !joined.skip_assignment;
  spdlog::info("consumer: joined group '{}' generation {} as {}{} (assignor '{}')", config.group_id,
               g.generation, g.member_id, leader ? ", leader" : "", protocol_name_);

  protocol::sync_group_request sync;
  sync.group_id = config.group_id;
  sync.generation_id = g.generation;
  sync.member_id = g.member_id;
  sync.group_instance_id = config.group_instance_id;
  sync.protocol_type = std::string(consumer_protocol_type);
  sync.protocol_name = protocol_name_;
  if (leader) sync.assignments = co_await lead(protocol_name_, std::move(joined.members));

  protocol::sync_group_response synced;
  try {
    auto conn = co_await coordinator(self, true);
    synced = co_await conn->send(std::move(sync));
  } catch (const kafka_error& e) {
    if (!e.retriable()) throw;
    coordinator_lost(g);
    co_return false;
  }
  code = static_cast<error_code>(synced.error_code);
  if (code == error_code::unknown_member_id || code == error_code::illegal_generation) {
    forget_membership();
    co_return false;
  }
  if (code == error_code::rebalance_in_progress) co_return false;
  if (coordinator_moved(code)) {
    coordinator_lost(g);
    co_return false;
  }
  if (code != error_code::none) throw kafka_error(code, "sync group '" + config.group_id + "'");

  std::set<topic_partition> next;
  std::optional<std::string> assignment_user_data;
  if (!synced.assignment.empty()) {
    auto decoded =
        protocol::decode_versioned<protocol::consumer_protocol_assignment>(synced.assignment);
    if (!decoded) {
      throw kafka_error(
          make_error_code(consumer_error::group_error),
          "group '" + config.group_id + "': the leader sent an assignment that does not decode",
          false);
    }
    for (const auto& t : decoded->assigned_partitions) {
      for (auto p : t.partitions) next.insert({t.topic, p});
    }
    if (decoded->user_data) {
      assignment_user_data = std::string(reinterpret_cast<const char*>(decoded->user_data->data()),
                                         decoded->user_data->size());
    }
  }
  state_ = classic_member_state::stable;
  // Counts of our own topics, to notice partitions added later.
  for (const auto& topic : g.topics) {
    if (const auto* info = self.cluster.metadata().topic(topic)) {
      partition_counts_[topic] = static_cast<std::int32_t>(info->partitions.size());
    }
  }
  if (auto* assignor = assignor_named(protocol_name_)) {
    assignor->on_assignment(std::vector<topic_partition>(next.begin(), next.end()), g.generation,
                            assignment_user_data);
  }
  co_await apply_assignment(std::move(next));
  g.statistics.end();
  g.heartbeat_wake.notify_all();
  self.fetch_wanted.notify_all();
  self.data_ready.notify_all();
  co_return true;
}

boost::asio::awaitable<void> classic_group::join_loop() {
  auto& self = self_;
  auto& g = *self.group;
  while (rejoin_due() && self.subscribed() && !self.stopping && !g.poll_timed_out) {
    bool done = false;
    try {
      done = co_await join_once();
    } catch (const kafka_error& e) {
      if (e.retriable()) {
        spdlog::warn("consumer: joining group '{}': {}", self.config.group_id, e.what());
      } else {
        g.fatal = {e.code(), e.what()};
        drop_to_unjoined();
        self.data_ready.notify_all();
        break;
      }
    }
    if (!done) co_await sleep_for(self.executor, self.config.retry_backoff);
  }
  join_running_ = false;
  self.fetch_wanted.notify_all();
  if (!heartbeat_running_ && self.subscribed() && !self.stopping) {
    heartbeat_running_ = true;
    self.spawn("heartbeat", heartbeat_loop());
  }
}

}  // namespace sluice::kafka::group_detail
