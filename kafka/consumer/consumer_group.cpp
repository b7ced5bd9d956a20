// Group membership with the classic protocol (JoinGroup / SyncGroup / Heartbeat / LeaveGroup),
// committed offsets (OffsetCommit / OffsetFetch) and auto commit. The KIP-848 `consumer` protocol's
// heartbeat loop and reconciliation are in group_member.cpp; commits, listeners and the public
// group API are shared. With it the `generation` is the member epoch (OffsetCommit v9+).
//
// The member speaks the standard "consumer" embedded protocol (ConsumerProtocolSubscription and
// ConsumerProtocolAssignment, each prefixed by its int16 version, as Java's ConsumerProtocol
// writes them), so Sluice, Java, librdkafka and Python members can share a group.
//
// Two connections to the coordinator: JoinGroup parks on the broker until every member has
// rejoined (up to the rebalance timeout, max_poll_interval), so it gets a connection whose request
// timeout covers that; heartbeats, commits and offset fetches use another one with the normal
// request timeout, so they are never queued behind a parked JoinGroup (a broker handles one
// request per connection at a time).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "kafka/client/clock.hpp"
#include "kafka/consumer/assignor.hpp"
#include "kafka/consumer/consumer_impl.hpp"
#include "kafka/consumer/group_internal.hpp"
#include "kafka/protocol/messages/consumer_protocol_assignment.hpp"
#include "kafka/protocol/messages/consumer_protocol_subscription.hpp"
#include "kafka/protocol/messages/heartbeat.hpp"
#include "kafka/protocol/messages/join_group.hpp"
#include "kafka/protocol/messages/leave_group.hpp"
#include "kafka/protocol/messages/offset_commit.hpp"
#include "kafka/protocol/messages/offset_fetch.hpp"
#include "kafka/protocol/messages/sync_group.hpp"
#include "kafka/protocol/versioned_message.hpp"

namespace sluice::kafka {

namespace group_detail {

constexpr std::string_view consumer_protocol_type = "consumer";
// The subscription version we write: v3 carries owned partitions (KIP-429), the generation and
// the rack (KIP-881).
constexpr std::int16_t subscription_version = 3;
constexpr std::int16_t assignment_version = 3;

kafka_error illegal_state(const std::string& what) {
  return kafka_error(make_error_code(consumer_error::illegal_state), what, false);
}

bool coordinator_moved(error_code code) {
  return code == error_code::not_coordinator || code == error_code::coordinator_not_available ||
         code == error_code::coordinator_load_in_progress;
}

std::vector<topic_partition> sorted(const std::set<topic_partition>& partitions) {
  return {partitions.begin(), partitions.end()};
}

std::string names(const std::vector<topic_partition>& partitions) {
  std::string out;
  for (const auto& tp : partitions) out += (out.empty() ? "" : ", ") + tp.to_string();
  return out;
}

}  // namespace group_detail

namespace group_detail {

// The coordinator connection for one kind of traffic, found and opened on demand.
asio::awaitable<std::shared_ptr<connection>> coordinator(consumer::impl& self, bool for_join) {
  auto& g = *self.group;
  auto& slot = for_join ? g.join_connection : g.other_connection;
  if (slot && slot->is_open()) co_return slot;
  const auto deadline = self.api_deadline();
  // A consumer destroyed without stop() closes its connections once; a retry after that would open
  // new ones that nobody closes (and that keep the executor busy), so stopping ends the search.
  auto stopped = [&self] {
    return kafka_error(make_error_code(net_error::connection_closed),
                       "group '" + self.config.group_id + "': the consumer is stopping", false);
  };
  while (true) {
    if (self.stopping) throw stopped();
    try {
      auto node =
          co_await self.cluster.find_coordinator(coordinator_type::group, self.config.group_id);
      if (self.stopping) throw stopped();
      const auto& broker = self.cluster.metadata().brokers.at(node);
      auto options = self.config.connection();
      if (for_join) {
        options.request_timeout = std::max(options.request_timeout,
                                           self.config.max_poll_interval + std::chrono::seconds(5));
      }
      broker_address address{broker.host, static_cast<std::uint16_t>(broker.port), node};
      auto opened = co_await connection::open(self.executor, address, options);
      if (self.stopping) {
        opened->close();
        throw stopped();
      }
      auto& now_slot = for_join ? g.join_connection : g.other_connection;
      // Another coroutine (heartbeat, commit, join) may have opened one meanwhile: keep that one,
      // so that no connection outlives close_group_connections().
      if (now_slot && now_slot->is_open()) {
        opened->close();
        co_return now_slot;
      }
      now_slot = opened;
      co_return opened;
    } catch (const kafka_error& e) {
      if (!e.retriable() || clock::now() > deadline) throw;
    }
    co_await sleep_for(self.executor, self.config.retry_backoff);
  }
}

}  // namespace group_detail

void close_group_connections(group_state& g) {
  if (g.join_connection) g.join_connection->close();
  if (g.other_connection) g.other_connection->close();
  g.join_connection.reset();
  g.other_connection.reset();
}

namespace group_detail {

void coordinator_lost(group_state& g) {
  close_group_connections(g);
}

// While it runs, getmany hands out nothing and no fetch starts: the application sees records of
// the new assignment only after on_partitions_assigned returned (e.g. after restoring state).
asio::awaitable<void> call_listener(group_state* g, int kind,
                                    std::vector<topic_partition> partitions) {
  auto listener = g->listener;
  if (!listener) co_return;
  ++g->listeners_running;
  struct done_guard {
    group_state* g;
    ~done_guard() { --g->listeners_running; }
  } guard{g};
  const char* names_of[] = {"on_partitions_revoked", "on_partitions_assigned",
                            "on_partitions_lost"};
  try {
    if (kind == revoked_kind) {
      co_await listener->on_partitions_revoked(std::move(partitions));
    } else if (kind == assigned_kind) {
      co_await listener->on_partitions_assigned(std::move(partitions));
    } else {
      co_await listener->on_partitions_lost(std::move(partitions));
    }
  } catch (const std::exception& e) {
    spdlog::error("consumer: rebalance listener {} failed: {}", names_of[kind], e.what());
    if (!g->listener_failure) g->listener_failure = std::current_exception();
  }
}

void reset_member(group_state& g) {
  g.member_id.clear();
  g.generation = -1;
  g.state = member_state::unjoined;
}

asio::awaitable<void> send_leave_group(consumer::impl& self, std::string reason, bool closing) {
  auto& g = *self.group;
  if (self.config.group_protocol == group_protocol_type::consumer) {
    const bool release = closing && self.config.leave_group_on_close.value_or(false);
    co_await member_leave(self, std::move(reason), release);
    co_return;
  }
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
  reset_member(g);
}

asio::awaitable<void> heartbeat_loop(consumer::impl* self_ptr) {
  auto& self = *self_ptr;
  auto& g = *self.group;
  while (!self.stopping && self.subscribed()) {
    co_await g.heartbeat_wake.wait(clock::now() + self.config.heartbeat_interval);
    if (self.stopping || !self.subscribed()) break;
    if (g.state != member_state::stable) continue;
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
      g.rejoin_needed = true;
      co_await send_leave_group(self, "consumer poll timeout has expired", false);
      reset_member(g);
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
    if (g.generation != generation || g.state != member_state::stable)
      continue;  // rejoined meanwhile
    switch (code) {
      case error_code::none:
        break;
      case error_code::rebalance_in_progress:
        g.rejoin_needed = true;
        self.fetch_wanted.notify_all();
        break;
      case error_code::illegal_generation:
      case error_code::unknown_member_id:
        spdlog::info("consumer: group '{}' no longer knows this member ({}); rejoining",
                     self.config.group_id, error_name(code));
        if (code == error_code::unknown_member_id) g.member_id.clear();
        g.generation = -1;
        g.state = member_state::unjoined;
        g.partitions_lost = true;
        g.rejoin_needed = true;
        self.fetch_wanted.notify_all();
        break;
      case error_code::fenced_instance_id:
        g.fatal = {make_error_code(code), "group '" + self.config.group_id +
                                              "': another member took group instance id '" +
                                              self.config.group_instance_id.value_or("") + "'"};
        g.state = member_state::unjoined;
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
  g.heartbeat_running = false;
}

std::vector<std::string> subscription_topics(const group_state& g) {
  return {g.topics.begin(), g.topics.end()};
}

std::set<topic_partition> owned(const consumer::impl& self) {
  std::set<topic_partition> out;
  for (const auto& [tp, state] : self.partitions) out.insert(tp);
  return out;
}

// Revokes (or declares lost) before a join, as the rebalance protocol asks.
asio::awaitable<void> prepare_join(consumer::impl& self) {
  auto& g = *self.group;
  if (g.partitions_lost) {
    g.partitions_lost = false;
    auto gone = sorted(owned(self));
    self.set_assignment({}, position_lookup::committed);
    if (!gone.empty()) co_await call_listener(&g, lost_kind, gone);
    co_return;
  }
  if (g.protocol == rebalance_protocol::eager && !self.partitions.empty()) {
    if (self.config.auto_commit_active()) {
      try {
        co_await self.commit_offsets(self.consumed_offsets());
      } catch (const std::exception& e) {
        spdlog::warn("consumer: auto commit before rebalance of group '{}': {}",
                     self.config.group_id, e.what());
      }
    }
    auto gone = sorted(owned(self));
    co_await call_listener(&g, revoked_kind, gone);
    self.set_assignment({}, position_lookup::committed);
  }
}

// The configured assignors (assignment_strategies, custom ones by name), made once per consumer
// so that stateful ones (sticky) remember what they assigned.
const std::vector<std::shared_ptr<partition_assignor>>& assignors_of(consumer::impl& self) {
  auto& g = *self.group;
  if (g.assignors.empty()) {
    for (const auto& name : self.config.assignment_strategies) {
      std::shared_ptr<partition_assignor> found;
      for (const auto& custom : self.config.custom_assignors) {
        if (custom && custom->name() == name) found = custom;
      }
      if (!found) found = make_builtin_assignor(name);
      if (!found) {
        throw kafka_error(make_error_code(net_error::bad_configuration),
                          "unknown partition assignor '" + name + "'", false);
      }
      g.assignors.push_back(std::move(found));
    }
  }
  return g.assignors;
}

partition_assignor* assignor_named(consumer::impl& self, const std::string& name) {
  for (const auto& a : assignors_of(self)) {
    if (a->name() == name) return a.get();
  }
  return nullptr;
}

// The group leader's part: decode the members' subscriptions, run the chosen assignor.
asio::awaitable<std::vector<protocol::sync_group_request::sync_group_request_assignment>> lead(
    consumer::impl* self_ptr, std::string protocol_name,
    std::vector<protocol::join_group_response::join_group_response_member> members) {
  auto& self = *self_ptr;
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
  self.group->partition_counts = counts;
  auto* assignor = assignor_named(self, protocol_name);
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
asio::awaitable<void> apply_assignment(consumer::impl& self, std::set<topic_partition> next) {
  auto& g = *self.group;
  auto before = owned(self);
  if (g.protocol == rebalance_protocol::cooperative) {
    std::vector<topic_partition> gone, added;
    std::set_difference(before.begin(), before.end(), next.begin(), next.end(),
                        std::back_inserter(gone));
    std::set_difference(next.begin(), next.end(), before.begin(), before.end(),
                        std::back_inserter(added));
    if (!gone.empty()) {
      co_await call_listener(&g, revoked_kind, gone);
      // KIP-429: after giving partitions up, rejoin so that they can go to their new owner.
      g.rejoin_needed = true;
    }
    self.set_assignment(std::vector<topic_partition>(next.begin(), next.end()),
                        position_lookup::committed);
    co_await call_listener(&g, assigned_kind, added);
  } else {
    self.set_assignment(std::vector<topic_partition>(next.begin(), next.end()),
                        position_lookup::committed);
    co_await call_listener(&g, assigned_kind, sorted(next));
  }
}

// One full join: JoinGroup, SyncGroup (as leader or follower), then the new assignment. Returns
// false when the caller should try again (after a backoff where the error asks for one).
asio::awaitable<bool> join_once(consumer::impl* self_ptr) {
  auto& self = *self_ptr;
  auto& g = *self.group;
  auto& config = self.config;
  note_rebalance_start(g);
  co_await prepare_join(self);
  if (!self.subscribed() || self.stopping) co_return true;

  protocol::consumer_protocol_subscription subscription;
  subscription.topics = subscription_topics(g);
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
  for (const auto& assignor : assignors_of(self)) {
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

  g.state = member_state::joining;
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
      co_return co_await join_once(self_ptr);
    case error_code::unknown_member_id:
    case error_code::illegal_generation:
      reset_member(g);
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
  g.protocol_name = joined.protocol_name.value_or("");
  const bool leader = joined.leader == joined.member_id && !joined.skip_assignment;
  spdlog::info("consumer: joined group '{}' generation {} as {}{} (assignor '{}')", config.group_id,
               g.generation, g.member_id, leader ? ", leader" : "", g.protocol_name);

  protocol::sync_group_request sync;
  sync.group_id = config.group_id;
  sync.generation_id = g.generation;
  sync.member_id = g.member_id;
  sync.group_instance_id = config.group_instance_id;
  sync.protocol_type = std::string(consumer_protocol_type);
  sync.protocol_name = g.protocol_name;
  if (leader)
    sync.assignments = co_await lead(self_ptr, g.protocol_name, std::move(joined.members));

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
    reset_member(g);
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
  g.rejoin_needed = false;
  g.state = member_state::stable;
  // Counts of our own topics, to notice partitions added later.
  for (const auto& topic : g.topics) {
    if (const auto* info = self.cluster.metadata().topic(topic)) {
      g.partition_counts[topic] = static_cast<std::int32_t>(info->partitions.size());
    }
  }
  if (auto* assignor = assignor_named(self, g.protocol_name)) {
    assignor->on_assignment(std::vector<topic_partition>(next.begin(), next.end()), g.generation,
                            assignment_user_data);
  }
  co_await apply_assignment(self, std::move(next));
  note_rebalance_end(g);
  g.heartbeat_wake.notify_all();
  self.fetch_wanted.notify_all();
  self.data_ready.notify_all();
  co_return true;
}

asio::awaitable<void> join_loop(consumer::impl* self_ptr) {
  auto& self = *self_ptr;
  auto& g = *self.group;
  while (g.rejoin_needed && self.subscribed() && !self.stopping && !g.poll_timed_out) {
    bool done = false;
    try {
      done = co_await join_once(self_ptr);
    } catch (const kafka_error& e) {
      if (e.retriable()) {
        spdlog::warn("consumer: joining group '{}': {}", self.config.group_id, e.what());
      } else {
        g.fatal = {e.code(), e.what()};
        g.state = member_state::unjoined;
        self.data_ready.notify_all();
        break;
      }
    }
    if (!done) co_await sleep_for(self.executor, self.config.retry_backoff);
  }
  g.joining = false;
  self.fetch_wanted.notify_all();
  if (!g.heartbeat_running && self.subscribed() && !self.stopping) {
    g.heartbeat_running = true;
    self.spawn("heartbeat", heartbeat_loop(self_ptr));
  }
}

asio::awaitable<void> auto_commit(consumer::impl* self_ptr) {
  auto& self = *self_ptr;
  try {
    co_await self.commit_offsets(self.consumed_offsets());
  } catch (const std::exception& e) {
    spdlog::warn("consumer: auto commit for group '{}': {}", self.config.group_id, e.what());
  }
  self.group->auto_commit_running = false;
}

// Pattern subscriptions and partition counts are re-checked every metadata_max_age.
asio::awaitable<void> check_subscription_metadata(consumer::impl& self) {
  auto& g = *self.group;
  if (g.last_metadata_check != clock::time_point{} &&
      clock::now() - g.last_metadata_check < self.config.metadata_max_age) {
    co_return;
  }
  g.last_metadata_check = clock::now();
  if (g.pattern) {
    const auto* metadata = co_await self.cluster.refresh_metadata(std::nullopt);
    std::set<std::string> matched;
    for (const auto& [name, topic] : metadata->topics) {
      if (topic.error != error_code::none) continue;
      if (topic.internal && self.config.exclude_internal_topics) continue;
      if (std::regex_match(name, *g.pattern)) matched.insert(name);
    }
    if (matched != g.topics) {
      spdlog::info("consumer: pattern subscription of group '{}' now matches {} topics",
                   self.config.group_id, matched.size());
      g.topics = std::move(matched);
      g.rejoin_needed = true;
      g.heartbeat_now = true;  // KIP-848: the next heartbeat carries the new names
      g.heartbeat_wake.notify_all();
    }
  } else if (!g.topics.empty()) {
    co_await self.cluster.refresh_metadata(subscription_topics(g));
  }
  // KIP-848's coordinator notices new partitions itself.
  if (g.state == member_state::stable &&
      self.config.group_protocol == group_protocol_type::classic) {
    for (const auto& topic : g.topics) {
      const auto* info = self.cluster.metadata().topic(topic);
      std::int32_t count = info == nullptr ? 0 : static_cast<std::int32_t>(info->partitions.size());
      auto known = g.partition_counts.find(topic);
      if ((known == g.partition_counts.end() && count > 0) ||
          (known != g.partition_counts.end() && known->second != count)) {
        g.rejoin_needed = true;  // a topic appeared or gained partitions
      }
    }
  }
}

}  // namespace group_detail

using namespace group_detail;

// ---- impl hooks -------------------------------------------------------------------------------

asio::awaitable<void> consumer::impl::group_tick() {
  if (!group) co_return;
  auto& g = *group;
  const auto now = clock::now();
  if (config.auto_commit_active() && !g.auto_commit_running && !partitions.empty() &&
      now >= g.next_auto_commit && !(subscribed() && g.state != member_state::stable)) {
    if (g.next_auto_commit != clock::time_point{}) {
      g.auto_commit_running = true;
      spawn("auto commit", auto_commit(this));
    }
    g.next_auto_commit = now + config.auto_commit_interval;
  }
  if (!subscribed()) co_return;
  co_await check_subscription_metadata(*this);
  if (config.group_protocol == group_protocol_type::consumer) {
    if (!g.heartbeat_running && !g.fatal && !g.leaving) {
      g.heartbeat_running = true;
      spawn("group member", member_loop(this));
    }
    co_return;
  }
  if (g.rejoin_needed && !g.joining && !g.poll_timed_out && !g.fatal) {
    g.joining = true;
    spawn("join group", join_loop(this));
  }
}

bool consumer::impl::group_blocks_fetching() const {
  if (!group || !subscribed()) return false;
  const auto& g = *group;
  return g.partitions_lost || g.poll_timed_out || g.fatal.has_value() || g.listeners_running > 0 ||
         (g.protocol == rebalance_protocol::eager && g.state != member_state::stable);
}

void consumer::impl::on_poll() {
  if (!group) return;
  auto& g = *group;
  g.last_poll = clock::now();
  if (g.listener_failure) {
    auto failure = std::exchange(g.listener_failure, nullptr);
    std::rethrow_exception(failure);
  }
  if (g.fatal) {
    auto [code, text] = *g.fatal;
    if (code.category() == kafka_category())
      throw kafka_error(static_cast<error_code>(code.value()), text);
    throw kafka_error(code, text, false);
  }
  if (g.poll_timed_out) {
    g.poll_timed_out = false;
    fetch_wanted.notify_all();
    g.heartbeat_wake.notify_all();
  }
}

std::map<topic_partition, offset_and_metadata> consumer::impl::consumed_offsets() const {
  std::map<topic_partition, offset_and_metadata> out;
  for (const auto& [tp, state] : partitions) {
    if (state.position) out[tp] = {*state.position, "", state.last_leader_epoch};
  }
  return out;
}

asio::awaitable<void> consumer::impl::commit_offsets(
    std::map<topic_partition, offset_and_metadata> offsets) {
  if (!group) throw illegal_state("commit: the consumer has no group_id");
  if (offsets.empty()) co_return;
  auto& g = *group;
  if (subscribed() && g.generation < 0) {
    // Java's rule: a subscribed consumer that is not a member of the current generation (it left
    // after max_poll_interval, or the coordinator dropped it) must not commit; its partitions may
    // already be someone else's.
    throw kafka_error(
        make_error_code(consumer_error::commit_failed),
        "commit to group '" + config.group_id +
            "' failed: this consumer is not a member of the group's current generation (it was "
            "removed or left after max_poll_interval); poll again to rejoin",
        false);
  }
  const auto deadline = api_deadline();
  std::string last_problem;
  while (!offsets.empty()) {
    if (clock::now() > deadline) {
      throw kafka_error(
          make_error_code(consumer_error::timed_out),
          "commit offsets to group '" + config.group_id + "' (last problem: " + last_problem + ")",
          true);
    }
    protocol::offset_commit_request request;
    request.group_id = config.group_id;
    const bool member = subscribed() && g.generation >= 0;
    request.generation_id_or_member_epoch = member ? g.generation : -1;
    request.member_id = member ? g.member_id : "";
    request.group_instance_id = member ? config.group_instance_id : std::nullopt;
    for (const auto& [tp, at] : offsets) {
      if (request.topics.empty() || request.topics.back().name != tp.topic) {
        auto& topic = request.topics.emplace_back();
        topic.name = tp.topic;
        // OffsetCommit v10 names topics by id (KIP-848 era).
        if (const auto* info = co_await cluster.topic(tp.topic)) topic.topic_id = info->id;
      }
      request.topics.back().partitions.push_back({.partition_index = tp.partition,
                                                  .committed_offset = at.offset,
                                                  .committed_leader_epoch = at.leader_epoch,
                                                  .committed_metadata = at.metadata});
    }
    protocol::offset_commit_response response;
    bool sent = false;
    try {
      auto conn = co_await coordinator(*this, false);
      response = co_await conn->send(std::move(request));
      sent = true;
    } catch (const kafka_error& e) {
      if (!e.retriable()) throw;
      last_problem = e.what();
      coordinator_lost(g);
    }
    if (!sent) {
      co_await sleep_for(executor, config.retry_backoff);
      continue;
    }
    bool retry = false;
    for (const auto& topic : response.topics) {
      std::string name = topic.name;
      for (const auto& p : topic.partitions) {
        // v10 answers with topic ids; find the name among what we sent.
        if (name.empty()) {
          for (const auto& [tp, at] : offsets) {
            const auto* info = cluster.metadata().topic(tp.topic);
            if (info != nullptr && info->id == topic.topic_id) name = tp.topic;
          }
        }
        topic_partition tp{name, p.partition_index};
        auto code = static_cast<error_code>(p.error_code);
        if (code == error_code::none) {
          offsets.erase(tp);
          continue;
        }
        switch (code) {
          case error_code::illegal_generation:
          case error_code::unknown_member_id:
          case error_code::fenced_instance_id:
            // The group has moved on without us: these partitions may be someone else's now.
            g.partitions_lost = true;
            g.rejoin_needed = true;
            fetch_wanted.notify_all();
            throw kafka_error(
                make_error_code(consumer_error::commit_failed),
                "commit to group '" + config.group_id + "' failed: " + error_name(code) +
                    " (generation " + std::to_string(g.generation) +
                    "); the group rebalanced and the partitions may be assigned to another member",
                false);
          case error_code::stale_member_epoch:
            // KIP-848: our epoch moved on (a heartbeat response is on its way); retry with the
            // new one, as Java does.
            retry = true;
            last_problem = tp.to_string() + ": " + error_name(code);
            break;
          case error_code::rebalance_in_progress:
            g.rejoin_needed = true;
            fetch_wanted.notify_all();
            throw kafka_error(code, "commit to group '" + config.group_id +
                                        "': the group is rebalancing; commit in "
                                        "on_partitions_revoked or after the rebalance");
          default:
            if (coordinator_moved(code)) {
              coordinator_lost(g);
              retry = true;
            } else if (is_retriable(code)) {
              retry = true;
            } else {
              throw kafka_error(code,
                                "commit " + tp.to_string() + " to group '" + config.group_id + "'");
            }
            last_problem = tp.to_string() + ": " + error_name(code);
        }
      }
    }
    if (!offsets.empty() && !retry) {
      std::vector<topic_partition> left;
      for (const auto& [tp, at] : offsets) left.push_back(tp);
      throw kafka_error(make_error_code(net_error::protocol_violation),
                        "commit: the coordinator did not answer for " + names(left), false);
    }
    if (!offsets.empty()) co_await sleep_for(executor, config.retry_backoff);
  }
}

asio::awaitable<std::map<topic_partition, std::optional<offset_and_metadata>>>
consumer::impl::fetch_committed(std::vector<topic_partition> wanted) {
  if (!group) throw illegal_state("committed: the consumer has no group_id");
  auto& g = *group;
  std::map<topic_partition, std::optional<offset_and_metadata>> out;
  if (wanted.empty()) co_return out;
  std::sort(wanted.begin(), wanted.end());
  std::map<std::string, protocol::uuid> ids;
  for (const auto& tp : wanted) {
    if (ids.contains(tp.topic)) continue;
    const auto* info = co_await cluster.topic(tp.topic);
    ids[tp.topic] = info != nullptr ? info->id : protocol::uuid{};
  }
  const auto deadline = api_deadline();
  std::string last_problem;
  while (true) {
    if (clock::now() > deadline) {
      throw kafka_error(make_error_code(consumer_error::timed_out),
                        "fetch committed offsets of group '" + config.group_id +
                            "' (last problem: " + last_problem + ")",
                        true);
    }
    std::shared_ptr<connection> conn;
    protocol::offset_fetch_response response;
    bool sent = false;
    std::int16_t version = 0;
    try {
      conn = co_await coordinator(*this, false);
      version = conn->required_version(protocol::api_key::offset_fetch);
      protocol::offset_fetch_request request;
      // KIP-447: wait for pending transactional offsets instead of reading around them.
      request.require_stable = true;
      if (version >= 8) {
        auto& group_request = request.groups.emplace_back();
        group_request.group_id = config.group_id;
        // KIP-848 (OffsetFetch v9+): a member names itself so that the coordinator can refuse a
        // fenced member's view; without a membership it reads as an outsider.
        if (version >= 9 && config.group_protocol == group_protocol_type::consumer &&
            subscribed() && g.generation > 0) {
          group_request.member_id = g.member_id;
          group_request.member_epoch = g.generation;
        }
        auto& topics = group_request.topics.emplace();
        for (const auto& tp : wanted) {
          if (topics.empty() || topics.back().name != tp.topic) {
            topics.push_back({.name = tp.topic, .topic_id = ids[tp.topic]});
          }
          topics.back().partition_indexes.push_back(tp.partition);
        }
      } else {
        request.group_id = config.group_id;
        auto& topics = request.topics.emplace();
        for (const auto& tp : wanted) {
          if (topics.empty() || topics.back().name != tp.topic)
            topics.push_back({.name = tp.topic});
          topics.back().partition_indexes.push_back(tp.partition);
        }
      }
      response = co_await conn->send(std::move(request), version);
      sent = true;
    } catch (const kafka_error& e) {
      if (!e.retriable()) throw;
      last_problem = e.what();
      coordinator_lost(g);
    }
    if (!sent) {
      co_await sleep_for(executor, config.retry_backoff);
      continue;
    }
    auto top = static_cast<error_code>(response.error_code);
    bool retry = false;
    auto take = [&](const std::string& topic_name, const protocol::uuid& topic_id,
                    std::int32_t partition, std::int64_t offset, std::int32_t epoch,
                    const std::optional<std::string>& metadata, std::int16_t raw_code) {
      std::string name = topic_name;
      if (name.empty()) {
        for (const auto& [known, id] : ids) {
          if (id == topic_id) name = known;
        }
      }
      auto code = static_cast<error_code>(raw_code);
      if (code == error_code::unstable_offset_commit || coordinator_moved(code) ||
          is_retriable(code)) {
        if (coordinator_moved(code)) coordinator_lost(g);
        last_problem = name + "-" + std::to_string(partition) + ": " + error_name(code);
        retry = true;
        return;
      }
      if (code != error_code::none) {
        throw kafka_error(code, "fetch committed offset of " + name + "-" +
                                    std::to_string(partition) + " in group '" + config.group_id +
                                    "'");
      }
      topic_partition tp{name, partition};
      if (offset < 0) {
        out[tp] = std::nullopt;
      } else {
        out[tp] = offset_and_metadata{offset, metadata.value_or(""), epoch};
      }
    };
    if (version >= 8) {
      if (response.groups.empty()) {
        throw kafka_error(make_error_code(net_error::protocol_violation),
                          "OffsetFetch answered no group", true);
      }
      top = static_cast<error_code>(response.groups.front().error_code);
      if (top == error_code::none) {
        for (const auto& t : response.groups.front().topics) {
          for (const auto& p : t.partitions) {
            take(t.name, t.topic_id, p.partition_index, p.committed_offset,
                 p.committed_leader_epoch, p.metadata, p.error_code);
          }
        }
      }
    } else if (top == error_code::none) {
      for (const auto& t : response.topics) {
        for (const auto& p : t.partitions) {
          take(t.name, protocol::uuid{}, p.partition_index, p.committed_offset,
               p.committed_leader_epoch, p.metadata, p.error_code);
        }
      }
    }
    if (top != error_code::none) {
      if (top == error_code::stale_member_epoch || top == error_code::unknown_member_id) {
        // The membership moved on while the request was out (a heartbeat brings the new epoch,
        // or a fenced member rejoins and reads as an outsider meanwhile): ask again.
        last_problem = error_name(top);
        retry = true;
      } else if (coordinator_moved(top) || is_retriable(top)) {
        if (coordinator_moved(top)) coordinator_lost(g);
        last_problem = error_name(top);
        retry = true;
      } else {
        throw kafka_error(top, "fetch committed offsets of group '" + config.group_id + "'");
      }
    }
    if (!retry) break;
    out.clear();
    co_await sleep_for(executor, config.retry_backoff);
  }
  for (const auto& tp : wanted) out.try_emplace(tp, std::nullopt);
  co_return out;
}

asio::awaitable<void> consumer::impl::leave_group_on_stop() {
  auto& g = *group;
  if (subscribed()) g.leaving = true;
  if (config.auto_commit_active() && !partitions.empty() &&
      !(subscribed() && g.state != member_state::stable)) {
    try {
      co_await commit_offsets(consumed_offsets());
    } catch (const std::exception& e) {
      spdlog::warn("consumer: final auto commit for group '{}': {}", config.group_id, e.what());
    }
  }
  if (!subscribed()) co_return;
  if (!partitions.empty()) co_await call_listener(&g, revoked_kind, sorted(owned(*this)));
  co_await send_leave_group(*this, "the consumer is being closed", true);
  mode = subscription_mode::none;
  set_assignment({}, position_lookup::committed);
  g.heartbeat_wake.notify_all();
}

// ---- consumer: group API ----------------------------------------------------------------------

namespace {
void start_subscription(consumer::impl& self, subscription_mode mode,
                        std::shared_ptr<rebalance_listener> listener) {
  if (self.config.group_id.empty()) throw illegal_state("subscribe: the consumer has no group_id");
  if (self.mode == subscription_mode::manual) {
    throw illegal_state(
        "subscribe: partitions were assigned manually; assign({}) first (assign and subscribe do "
        "not mix)");
  }
  auto& g = *self.group;
  g.listener = std::move(listener);
  g.fatal.reset();
  g.rejoin_needed = true;
  g.heartbeat_now = true;  // KIP-848: join, or send the new subscription, at once
  g.heartbeat_wake.notify_all();
  g.last_metadata_check = {};
  self.mode = mode;
  self.fetch_wanted.notify_all();
}

}  // namespace

rebalance_protocol consumer::impl::configured_protocol(const consumer_config& config) {
  // KIP-848 reconciles incrementally: fetching goes on for the partitions kept.
  if (config.group_protocol == group_protocol_type::consumer) {
    return rebalance_protocol::cooperative;
  }
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

void consumer::subscribe(std::vector<std::string> topics,
                         std::shared_ptr<rebalance_listener> listener) {
  for (const auto& t : topics) {
    if (t.empty())
      throw kafka_error(error_code::invalid_topic_exception, "subscribe: empty topic name");
  }
  start_subscription(*impl_, subscription_mode::topics, std::move(listener));
  impl_->group->topics = std::set<std::string>(topics.begin(), topics.end());
  impl_->group->pattern.reset();
  impl_->group->server_regex.reset();
}

void consumer::subscribe(std::regex pattern, std::shared_ptr<rebalance_listener> listener) {
  start_subscription(*impl_, subscription_mode::pattern, std::move(listener));
  impl_->group->pattern = std::move(pattern);
  impl_->group->server_regex.reset();
  impl_->group->topics.clear();
}

void consumer::subscribe(subscription_pattern pattern,
                         std::shared_ptr<rebalance_listener> listener) {
  if (impl_->config.group_protocol != group_protocol_type::consumer) {
    throw illegal_state(
        "subscribe: a subscription_pattern is evaluated by the group coordinator (KIP-848) and "
        "needs group_protocol = consumer; use std::regex with the classic protocol");
  }
  if (pattern.regex.empty()) {
    throw kafka_error(make_error_code(net_error::bad_configuration),
                      "subscribe: the subscription_pattern's regex is empty", false);
  }
  start_subscription(*impl_, subscription_mode::pattern, std::move(listener));
  impl_->group->pattern.reset();
  impl_->group->server_regex = std::move(pattern.regex);
  impl_->group->topics.clear();
}

void consumer::request_rejoin() {
  if (!impl_->group || impl_->config.group_protocol == group_protocol_type::consumer) return;
  impl_->group->rejoin_needed = true;
  impl_->fetch_wanted.notify_all();
}

asio::awaitable<void> consumer::unsubscribe() {
  auto& self = *impl_;
  if (!self.subscribed()) {
    self.mode = subscription_mode::none;
    self.set_assignment({}, position_lookup::policy);
    co_return;
  }
  auto& g = *self.group;
  g.leaving = true;
  if (!self.partitions.empty()) {
    if (self.config.auto_commit_active() && g.state == member_state::stable) {
      try {
        co_await self.commit_offsets(self.consumed_offsets());
      } catch (const std::exception& e) {
        spdlog::warn("consumer: auto commit on unsubscribe: {}", e.what());
      }
    }
    co_await call_listener(&g, revoked_kind, sorted(owned(self)));
  }
  self.mode = subscription_mode::none;
  self.set_assignment({}, position_lookup::policy);
  co_await send_leave_group(self, "the consumer unsubscribed", true);
  reset_member(g);
  g.topics.clear();
  g.pattern.reset();
  g.rejoin_needed = false;
  g.server_regex.reset();
  g.leaving = false;
  g.heartbeat_wake.notify_all();
}

std::set<std::string> consumer::subscription() const {
  if (!impl_->group || !impl_->subscribed()) return {};
  return impl_->group->topics;
}

group_statistics consumer::group_stats() const {
  if (!impl_->group) return {};
  const auto& g = *impl_->group;
  return {.rebalances = g.rebalances,
          .in_rebalance = g.in_rebalance,
          .last_rebalance_start = g.rebalance_started,
          .last_rebalance_end = g.rebalance_ended,
          .generation = g.generation};
}

consumer_group_metadata consumer::group_metadata() const {
  if (!impl_->group) throw illegal_state("group_metadata: the consumer has no group_id");
  const auto& g = *impl_->group;
  return {impl_->config.group_id, g.generation, g.member_id, impl_->config.group_instance_id};
}

asio::awaitable<void> consumer::commit() {
  if (!impl_->group) throw illegal_state("commit: the consumer has no group_id");
  co_await impl_->commit_offsets(impl_->consumed_offsets());
}

asio::awaitable<void> consumer::commit(std::map<topic_partition, offset_and_metadata> offsets) {
  for (const auto& [tp, at] : offsets) {
    if (at.offset < 0) {
      throw kafka_error(error_code::invalid_request, "commit: offset " + std::to_string(at.offset) +
                                                         " for " + tp.to_string() + " is negative");
    }
  }
  co_await impl_->commit_offsets(std::move(offsets));
}

asio::awaitable<std::map<topic_partition, std::optional<offset_and_metadata>>> consumer::committed(
    std::vector<topic_partition> partitions) {
  co_return co_await impl_->fetch_committed(std::move(partitions));
}

asio::awaitable<void> consumer::seek_to_committed(std::vector<topic_partition> partitions) {
  if (!impl_->group) throw illegal_state("seek_to_committed: the consumer has no group_id");
  if (partitions.empty()) {
    for (const auto& [tp, state] : impl_->partitions) partitions.push_back(tp);
  }
  for (const auto& tp : partitions) {
    impl_->request_lookup(impl_->assigned(tp, "seek_to_committed"), position_lookup::committed);
  }
  co_await impl_->resolve_positions(std::move(partitions));
}

}  // namespace sluice::kafka
