// Group membership with the KIP-848 `consumer` protocol: one ConsumerGroupHeartbeat loop instead
// of JoinGroup / SyncGroup / Heartbeat. The coordinator computes the assignment (server-side
// assignor, `group_remote_assignor`); the member only reconciles towards it:
//
//   join        heartbeat with epoch 0, the subscription (topic names, or a regex the coordinator
//               evaluates, KIP-848), the rebalance timeout and no owned partitions
//   heartbeat   every heartbeat_interval_ms the coordinator names; the response carries the member
//               epoch and, when it changed, the full target assignment (topic ids)
//   reconcile   revoke what the target drops (auto commit, then on_partitions_revoked), then take
//               what it adds (on_partitions_assigned); acknowledge at once with a heartbeat naming
//               the partitions now owned. The coordinator hands a moved partition to its new owner
//               only after the old owner acknowledged the revocation, so nothing is consumed twice.
//   fenced      FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID: the partitions may already be someone
//               else's: on_partitions_lost, then rejoin with epoch 0 and the same member id
//   leave       epoch -1; a static member (group_instance_id) sends -2 and keeps its assignment
//               reserved until the session timeout, so a restart does not move partitions
//
// The member id is generated here (ConsumerGroupHeartbeat v1, KIP-1082) and kept until the
// consumer unsubscribes. The member epoch is stored as the group's `generation`, so OffsetCommit
// (v9+ checks it as the member epoch) and group_metadata() (TxnOffsetCommit, KIP-447) carry it.
//
// Heartbeats keep going while the application's listener runs (reconciliation is its own task),
// so a slow on_partitions_revoked does not cost the membership; the coordinator waits for the
// acknowledgement up to the rebalance timeout (max_poll_interval, as in the Java client).
#include "kafka/consumer/consumer_protocol_group.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <random>

#include "kafka/consumer/group_internal.hpp"
#include "kafka/protocol/messages/consumer_group_heartbeat.hpp"

namespace sluice::kafka::group_detail {

namespace {

// Epochs with a meaning of their own (ConsumerGroupHeartbeatRequest.MemberEpoch).
constexpr std::int32_t join_epoch = 0;
constexpr std::int32_t leave_epoch = -1;
constexpr std::int32_t static_leave_epoch = -2;

const topic_info* topic_by_id(const cluster_metadata& metadata, const protocol::uuid& id) {
  for (const auto& [name, topic] : metadata.topics) {
    if (topic.id == id) return &topic;
  }
  return nullptr;
}

std::string group_text(const consumer::impl& self) {
  return "group '" + self.config.group_id + "'";
}

}  // namespace

consumer_protocol_group::consumer_protocol_group(consumer::impl& self) : self_(self) {}

bool consumer_protocol_group::stable() const {
  if (state_ == consumer_member_state::leaving) return stable_when_leaving_;
  return state_ == consumer_member_state::stable || state_ == consumer_member_state::reconciling;
}

void consumer_protocol_group::tick() {
  const auto& g = *self_.group;
  if (!loop_running_ && !g.fatal && state_ != consumer_member_state::leaving) {
    loop_running_ = true;
    self_.spawn("group member", member_loop());
  }
}

void consumer_protocol_group::subscription_changed() {
  heartbeat_now_ = true;  // join, or send the new subscription, at once
}

void consumer_protocol_group::begin_leaving() {
  stable_when_leaving_ = stable();
  state_ = consumer_member_state::leaving;
}

boost::asio::awaitable<void> consumer_protocol_group::leave(std::string reason, bool closing) {
  const bool release = closing && self_.config.leave_group_on_close.value_or(false);
  co_await member_leave(std::move(reason), release);
}

void consumer_protocol_group::unsubscribed() {
  auto& g = *self_.group;
  g.member_id.clear();
  g.generation = -1;
  state_ = consumer_member_state::unjoined;
}

// Marks the membership lost: the next turn of the member loop calls on_partitions_lost and
// rejoins with epoch 0. Responses and reconciliations of the old membership are void from here.
void consumer_protocol_group::fence() {
  auto& self = self_;
  auto& g = *self.group;
  ++membership_;
  g.generation = -1;
  state_ = consumer_member_state::fenced;
  target_assignment_.reset();
  target_unresolved_ = false;
  g.partitions_lost = true;
  send_full_ = true;
  heartbeat_now_ = true;
  self.fetch_wanted.notify_all();
  self.data_ready.notify_all();
}

// The target assignment in topic names; sets `unresolved` when some topic id is not (yet) in the
// metadata (a topic created after the last refresh).
std::set<topic_partition> consumer_protocol_group::resolve_target(bool& unresolved) const {
  std::set<topic_partition> out;
  unresolved = false;
  if (!target_assignment_) return out;
  const auto& metadata = self_.cluster.metadata();
  for (const auto& topic : *target_assignment_) {
    const auto* info = topic_by_id(metadata, topic.topic_id);
    if (info == nullptr) {
      unresolved = true;
      continue;
    }
    for (auto p : topic.partitions) out.insert({info->name, p});
  }
  return out;
}

// Moves the assignment towards the coordinator's target: revocation first (commit, listener),
// then the additions, then an immediate heartbeat to acknowledge. Loops while the target moves
// on meanwhile.
boost::asio::awaitable<void> consumer_protocol_group::reconcile() {
  auto& self = self_;
  auto& g = *self.group;
  struct done_guard {
    consumer_protocol_group* group;
    ~done_guard() {
      group->reconcile_running_ = false;
      if (group->state_ == consumer_member_state::reconciling)
        group->state_ = consumer_member_state::stable;
    }
  } guard{this};
  while (!self.stopping && self.subscribed() && state_ != consumer_member_state::leaving &&
         !g.partitions_lost && target_assignment_) {
    const auto membership = membership_;
    bool unresolved = false;
    auto target = resolve_target(unresolved);
    if (unresolved) {
      try {
        std::optional<std::vector<std::string>> wanted;
        if (!g.server_regex && !g.pattern) {
          wanted = std::vector<std::string>(g.topics.begin(), g.topics.end());
        }
        co_await self.cluster.refresh_metadata(std::move(wanted));
      } catch (const std::exception& e) {
        spdlog::warn("consumer: metadata for the assignment of {}: {}", group_text(self), e.what());
      }
      if (membership != membership_) break;
      target = resolve_target(unresolved);
    }
    // Partitions of topics still unknown are taken once the metadata names them (re-checked after
    // each heartbeat).
    target_unresolved_ = unresolved;
    const auto current = owned(self);
    if (target == current) {
      if (!unresolved) g.statistics.end();
      break;
    }
    std::vector<topic_partition> revoked, added;
    std::set_difference(current.begin(), current.end(), target.begin(), target.end(),
                        std::back_inserter(revoked));
    std::set_difference(target.begin(), target.end(), current.begin(), current.end(),
                        std::back_inserter(added));
    spdlog::info("consumer: {} epoch {}: reconciling, {} partitions revoked, {} assigned",
                 group_text(self), g.generation, revoked.size(), added.size());
    if (!revoked.empty()) {
      if (self.config.auto_commit_active()) {
        auto offsets = self.consumed_offsets();
        std::erase_if(offsets, [&](const auto& entry) { return target.contains(entry.first); });
        try {
          co_await self.commit_offsets(std::move(offsets));
        } catch (const std::exception& e) {
          spdlog::warn("consumer: auto commit before revoking partitions of {}: {}",
                       group_text(self), e.what());
        }
        if (membership != membership_) break;
      }
      co_await call_listener(&g, listener_event::revoked, revoked);
      if (membership != membership_) break;
      std::vector<topic_partition> kept;
      std::set_intersection(current.begin(), current.end(), target.begin(), target.end(),
                            std::back_inserter(kept));
      self.set_assignment(kept, position_lookup::committed);
    }
    self.set_assignment(std::vector<topic_partition>(target.begin(), target.end()),
                        position_lookup::committed);
    if (g.server_regex) {
      g.topics.clear();
      for (const auto& tp : target) g.topics.insert(tp.topic);
    }
    // Java calls on_partitions_assigned after every reconciliation, also with nothing added.
    co_await call_listener(&g, listener_event::assigned, added);
    if (membership != membership_) break;
    heartbeat_now_ = true;
    g.heartbeat_wake.notify_all();
    self.fetch_wanted.notify_all();
    self.data_ready.notify_all();
  }
}

void consumer_protocol_group::start_reconciliation() {
  state_ = consumer_member_state::reconciling;
  if (reconcile_running_) return;  // the running one picks the new target up
  reconcile_running_ = true;
  self_.spawn("reconcile assignment", reconcile());
}

// The static leave (epoch -2) a crashed predecessor never sent, on its behalf: the coordinator
// keeps its assignment for our instance id, and our next join takes it over. A wrong member id
// (not the instance id's holder) is refused and changes nothing.
boost::asio::awaitable<void> consumer_protocol_group::release_predecessor() {
  auto& self = self_;
  protocol::consumer_group_heartbeat_request request;
  request.group_id = self.config.group_id;
  request.member_id = *self.config.previous_member_id;
  request.member_epoch = static_leave_epoch;
  request.instance_id = self.config.group_instance_id;
  try {
    auto conn = co_await coordinator(self, false);
    auto response = co_await conn->send(std::move(request));
    auto code = static_cast<error_code>(response.error_code);
    if (code == error_code::none) {
      spdlog::info(
          "consumer: {}: released member {} of instance id '{}', left by a previous process",
          group_text(self), *self.config.previous_member_id,
          self.config.group_instance_id.value_or(""));
    } else {
      spdlog::warn("consumer: {}: releasing member {}, left by a previous process: {}",
                   group_text(self), *self.config.previous_member_id, error_name(code));
    }
  } catch (const kafka_error& e) {
    spdlog::warn("consumer: {}: releasing member {}, left by a previous process: {}",
                 group_text(self), *self.config.previous_member_id, e.what());
  }
}

// Drops the partitions of a lost membership (on_partitions_lost) before rejoining.
boost::asio::awaitable<void> consumer_protocol_group::give_up_partitions() {
  auto& self = self_;
  auto& g = *self.group;
  auto gone = sorted(owned(self));
  self.set_assignment({}, position_lookup::committed);
  if (!gone.empty()) co_await call_listener(&g, listener_event::lost, gone);
  g.partitions_lost = false;
}

boost::asio::awaitable<void> consumer_protocol_group::member_leave(std::string reason,
                                                                   bool release) {
  auto& self = self_;
  auto& g = *self.group;
  ++membership_;
  // -1: never sent a join, nothing to leave. 0: a join may be in flight, the coordinator may know
  // the member.
  const bool member = g.generation >= 0 && !g.member_id.empty();
  g.generation = -1;
  if (state_ == consumer_member_state::leaving) {
    stable_when_leaving_ = false;
  } else {
    state_ = consumer_member_state::unjoined;
  }
  target_assignment_.reset();
  target_unresolved_ = false;
  send_full_ = true;
  if (!member) co_return;
  protocol::consumer_group_heartbeat_request request;
  request.group_id = self.config.group_id;
  request.member_id = g.member_id;
  request.member_epoch =
      self.config.group_instance_id && !release ? static_leave_epoch : leave_epoch;
  request.instance_id = self.config.group_instance_id;
  spdlog::info("consumer: leaving {} as {} (epoch {}): {}", group_text(self), g.member_id,
               request.member_epoch, reason);
  try {
    auto conn = co_await coordinator(self, false);
    auto response = co_await conn->send(std::move(request));
    auto code = static_cast<error_code>(response.error_code);
    if (code != error_code::none && code != error_code::unknown_member_id &&
        code != error_code::fenced_member_epoch) {
      spdlog::warn("consumer: leaving {}: {}", group_text(self), error_name(code));
    }
  } catch (const std::exception& e) {
    spdlog::warn("consumer: leaving {}: {}", group_text(self), e.what());
  }
}

boost::asio::awaitable<void> consumer_protocol_group::member_loop() {
  auto& self = self_;
  auto& g = *self.group;
  auto next_heartbeat = clock::time_point{};  // join at once
  std::chrono::milliseconds interval = self.config.heartbeat_interval;
  while (!self.stopping && self.subscribed() && !g.fatal) {
    if (state_ == consumer_member_state::leaving || g.poll_timed_out) {
      // Leaving (stop, unsubscribe), or left after max_poll_interval: the next poll rejoins.
      co_await g.heartbeat_wake.wait(clock::now() + std::chrono::seconds(1));
      continue;
    }
    if (g.partitions_lost) {
      co_await give_up_partitions();
      next_heartbeat = {};
      continue;
    }
    // KIP-62 with KIP-848: a member that stops polling leaves, so the others get its partitions;
    // it rejoins with epoch 0 on its next poll.
    if (stable() && clock::now() - g.last_poll > self.config.max_poll_interval) {
      spdlog::warn(
          "consumer: no poll for longer than max_poll_interval ({} ms); leaving {} until the next "
          "poll (process faster or raise max_poll_interval / lower max_poll_records)",
          self.config.max_poll_interval.count(), group_text(self));
      g.poll_timed_out = true;
      co_await member_leave("consumer poll timeout has expired");
      g.partitions_lost = true;
      self.fetch_wanted.notify_all();
      continue;
    }
    if (!heartbeat_now_ && clock::now() < next_heartbeat) {
      co_await g.heartbeat_wake.wait(next_heartbeat);
      continue;
    }
    heartbeat_now_ = false;

    if (g.member_id.empty())
      g.member_id = self.config.member_id ? *self.config.member_id : new_group_member_id();
    const bool joining = g.generation <= join_epoch;
    if (joining) {
      g.generation = join_epoch;
      state_ = consumer_member_state::joining;
      g.statistics.start();
    }
    const bool full = joining || send_full_;
    protocol::consumer_group_heartbeat_request request;
    request.group_id = self.config.group_id;
    request.member_id = g.member_id;
    request.member_epoch = g.generation;
    if (full) {
      request.instance_id = self.config.group_instance_id;
      if (!self.config.client_rack.empty()) request.rack_id = self.config.client_rack;
      request.rebalance_timeout_ms =
          static_cast<std::int32_t>(self.config.max_poll_interval.count());
      request.server_assignor = self.config.group_remote_assignor;
    }
    // The subscription and the owned partitions go with every heartbeat: the coordinator ignores
    // what did not change, and a lost response never leaves it with a stale view.
    if (g.server_regex) {
      request.subscribed_topic_regex = g.server_regex;
    } else {
      request.subscribed_topic_names = std::vector<std::string>(g.topics.begin(), g.topics.end());
    }
    auto& owned_now = request.topic_partitions.emplace();
    if (!joining) {
      for (const auto& tp : owned(self)) {
        const auto* info = self.cluster.metadata().topic(tp.topic);
        if (info == nullptr) continue;
        if (owned_now.empty() || !(owned_now.back().topic_id == info->id)) {
          owned_now.push_back({.topic_id = info->id});
        }
        owned_now.back().partitions.push_back(tp.partition);
      }
    }

    const auto membership = membership_;
    protocol::consumer_group_heartbeat_response response;
    bool sent = false;
    try {
      auto conn = co_await coordinator(self, false);
      const auto version = conn->required_version(protocol::api_key::consumer_group_heartbeat);
      if (g.server_regex && version < 1) {
        g.fatal = {make_error_code(error_code::unsupported_version),
                   group_text(self) +
                       ": the coordinator's ConsumerGroupHeartbeat has no SubscribedTopicRegex "
                       "(v1, Kafka 4.0+); subscribe with std::regex instead of "
                       "subscription_pattern"};
        self.data_ready.notify_all();
        break;
      }
      response = co_await conn->send(std::move(request));
      sent = true;
    } catch (const kafka_error& e) {
      if (!e.retriable()) {
        g.fatal = {e.code(), group_text(self) + ": ConsumerGroupHeartbeat: " + e.what()};
        self.data_ready.notify_all();
        break;
      }
      spdlog::warn("consumer: heartbeat to {}: {}", group_text(self), e.what());
      coordinator_lost(g);
    }
    if (!sent) {
      send_full_ = true;
      next_heartbeat = clock::now() + self.config.retry_backoff;
      continue;
    }
    if (membership != membership_ || state_ == consumer_member_state::leaving)
      continue;  // left or fenced meanwhile
    auto code = static_cast<error_code>(response.error_code);
    const std::string message = response.error_message.value_or("");
    switch (code) {
      case error_code::none: {
        if (response.member_id && !response.member_id->empty()) g.member_id = *response.member_id;
        send_full_ = false;
        if (joining) {
          spdlog::info("consumer: joined {} as {} with epoch {}", group_text(self), g.member_id,
                       response.member_epoch);
        }
        g.generation = response.member_epoch;
        if (state_ != consumer_member_state::reconciling) state_ = consumer_member_state::stable;
        if (response.heartbeat_interval_ms > 0)
          interval = std::chrono::milliseconds(response.heartbeat_interval_ms);
        if (response.assignment) {
          std::vector<assigned_topic> target;
          for (const auto& t : response.assignment->topic_partitions)
            target.push_back({t.topic_id, t.partitions});
          target_assignment_ = std::move(target);
          g.statistics.start();
        }
        if (response.assignment || target_unresolved_) start_reconciliation();
        next_heartbeat = clock::now() + interval;
        break;
      }
      case error_code::fenced_member_epoch:
      case error_code::unknown_member_id:
        spdlog::info("consumer: {} fenced this member ({}{}{}); its partitions are lost, rejoining",
                     group_text(self), error_name(code), message.empty() ? "" : ": ", message);
        fence();
        next_heartbeat = {};
        break;
      case error_code::unreleased_instance_id:
        // The previous member with our instance id has not left yet (it crashed, or its -2 leave
        // is on its way); it goes at its session timeout, or at once when we know its member id.
        g.generation = -1;
        if (self.config.previous_member_id && !predecessor_released_) {
          predecessor_released_ = true;
          co_await release_predecessor();
          next_heartbeat = {};
          break;
        }
        spdlog::warn("consumer: {}: group instance id '{}' still held by another member; retrying",
                     group_text(self), self.config.group_instance_id.value_or(""));
        next_heartbeat = clock::now() + std::max(interval, std::chrono::milliseconds(1000));
        break;
      default:
        if (coordinator_moved(code)) {
          coordinator_lost(g);
          send_full_ = true;
          next_heartbeat = clock::now() + self.config.retry_backoff;
        } else if (is_retriable(code)) {
          spdlog::warn("consumer: heartbeat to {}: {}", group_text(self), error_name(code));
          send_full_ = true;
          next_heartbeat = clock::now() + self.config.retry_backoff;
        } else {
          // UNSUPPORTED_ASSIGNOR, INVALID_REQUEST, INVALID_REGULAR_EXPRESSION,
          // GROUP_MAX_SIZE_REACHED, authorization: the application must act; getmany raises it.
          g.fatal = {make_error_code(code),
                     group_text(self) + ": ConsumerGroupHeartbeat failed: " + error_name(code) +
                         (message.empty() ? "" : " (" + message + ")")};
          state_ = consumer_member_state::unjoined;
          self.data_ready.notify_all();
        }
    }
  }
  loop_running_ = false;
}

}  // namespace sluice::kafka::group_detail
