// What the two group protocols share (group_internal.hpp): the coordinator connections, the
// rebalance listener, the scheduler's group tick (pattern subscriptions, auto commit, starting
// the protocol's tasks), leaving on stop, and the public group API. The protocols themselves are
// classic_group.cpp (JoinGroup / SyncGroup) and consumer_protocol_group.cpp (KIP-848); commits
// and committed offsets are in group_offsets.cpp.
//
// Two connections to the coordinator: JoinGroup parks on the broker until every member has
// rejoined (up to the rebalance timeout, max_poll_interval), so it gets a connection whose request
// timeout covers that; heartbeats, commits and offset fetches use another one with the normal
// request timeout, so they are never queued behind a parked JoinGroup (a broker handles one
// request per connection at a time).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "kafka/client/clock.hpp"
#include "kafka/consumer/classic_group.hpp"
#include "kafka/consumer/consumer_impl.hpp"
#include "kafka/consumer/consumer_protocol_group.hpp"
#include "kafka/consumer/group_internal.hpp"

namespace sluice::kafka {

namespace group_detail {

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

// The coordinator connection for one kind of traffic, found and opened on demand.
asio::awaitable<std::shared_ptr<connection>> coordinator(consumer::impl& self, bool for_join) {
  auto& g = *self.group;
  auto& slot = for_join ? g.coordinator.join : g.coordinator.other;
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
      const auto& broker = self.cluster.metadata().brokers.at(node.value());
      auto options = self.config.connection();
      if (for_join) {
        options.request_timeout = std::max(options.request_timeout,
                                           self.config.max_poll_interval + std::chrono::seconds(5));
      }
      broker_address address{broker.host, static_cast<std::uint16_t>(broker.port), node.value()};
      auto opened = co_await connection::open(self.executor, address, options);
      if (self.stopping) {
        opened->close();
        throw stopped();
      }
      auto& now_slot = for_join ? g.coordinator.join : g.coordinator.other;
      // Another coroutine (heartbeat, commit, join) may have opened one meanwhile: keep that one,
      // so that no connection outlives coordinator_connections::close().
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

void coordinator_lost(group_state& g) {
  g.coordinator.close();
}

std::string_view callback_name(listener_event event) {
  switch (event) {
    case listener_event::revoked:
      return "on_partitions_revoked";
    case listener_event::assigned:
      return "on_partitions_assigned";
    case listener_event::lost:
      return "on_partitions_lost";
  }
  return "unknown";
}

// While it runs, getmany hands out nothing and no fetch starts: the application sees records of
// the new assignment only after on_partitions_assigned returned (e.g. after restoring state).
asio::awaitable<void> call_listener(group_state* g, listener_event event,
                                    std::vector<topic_partition> partitions) {
  auto listener = g->listener;
  if (!listener) co_return;
  ++g->listeners_running;
  struct done_guard {
    group_state* g;
    ~done_guard() { --g->listeners_running; }
  } guard{g};
  try {
    switch (event) {
      case listener_event::revoked:
        co_await listener->on_partitions_revoked(std::move(partitions));
        break;
      case listener_event::assigned:
        co_await listener->on_partitions_assigned(std::move(partitions));
        break;
      case listener_event::lost:
        co_await listener->on_partitions_lost(std::move(partitions));
        break;
    }
  } catch (const std::exception& e) {
    spdlog::error("consumer: rebalance listener {} failed: {}", callback_name(event), e.what());
    if (!g->listener_failure) g->listener_failure = std::current_exception();
  }
}

std::set<topic_partition> owned(const consumer::impl& self) {
  std::set<topic_partition> out;
  for (const auto& [tp, state] : self.partitions) out.insert(tp);
  return out;
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
      g.member->subscription_changed();
      g.heartbeat_wake.notify_all();
    }
  } else if (!g.topics.empty()) {
    co_await self.cluster.refresh_metadata(
        std::vector<std::string>(g.topics.begin(), g.topics.end()));
  }
  g.member->metadata_refreshed();
}

std::unique_ptr<group_protocol> make_group_protocol(consumer::impl& self) {
  if (self.config.group_protocol == group_protocol_type::consumer)
    return std::make_unique<consumer_protocol_group>(self);
  return std::make_unique<classic_group>(self);
}

}  // namespace group_detail

using namespace group_detail;

void coordinator_connections::close() {
  if (join) join->close();
  if (other) other->close();
  join.reset();
  other.reset();
}

// ---- impl hooks -------------------------------------------------------------------------------

asio::awaitable<void> consumer::impl::group_tick() {
  if (!group) co_return;
  auto& g = *group;
  const auto now = clock::now();
  if (config.auto_commit_active() && !g.auto_commit_running && !partitions.empty() &&
      now >= g.next_auto_commit && !(subscribed() && !g.member->stable())) {
    if (g.next_auto_commit != clock::time_point{}) {
      g.auto_commit_running = true;
      spawn("auto commit", auto_commit(this));
    }
    g.next_auto_commit = now + config.auto_commit_interval;
  }
  if (!subscribed()) co_return;
  co_await check_subscription_metadata(*this);
  g.member->tick();
}

bool consumer::impl::group_blocks_fetching() const {
  if (!group || !subscribed()) return false;
  const auto& g = *group;
  return g.partitions_lost || g.poll_timed_out || g.fatal.has_value() || g.listeners_running > 0 ||
         g.member->blocks_fetching();
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

asio::awaitable<void> consumer::impl::leave_group_on_stop() {
  auto& g = *group;
  if (subscribed()) g.member->begin_leaving();
  if (config.auto_commit_active() && !partitions.empty() &&
      !(subscribed() && !g.member->stable())) {
    try {
      co_await commit_offsets(consumed_offsets());
    } catch (const std::exception& e) {
      spdlog::warn("consumer: final auto commit for group '{}': {}", config.group_id, e.what());
    }
  }
  if (!subscribed()) co_return;
  if (!partitions.empty())
    co_await call_listener(&g, listener_event::revoked, sorted(owned(*this)));
  co_await g.member->leave("the consumer is being closed", true);
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
  g.member->subscription_changed();
  g.heartbeat_wake.notify_all();
  g.last_metadata_check = {};
  self.mode = mode;
  self.fetch_wanted.notify_all();
}

}  // namespace

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
  // Under KIP-848 the coordinator decides when the group rebalances.
  if (!impl_->group || impl_->config.group_protocol == group_protocol_type::consumer) return;
  impl_->group->member->request_rejoin();
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
  const bool stable = g.member->stable();
  g.member->begin_leaving();
  if (!self.partitions.empty()) {
    if (self.config.auto_commit_active() && stable) {
      try {
        co_await self.commit_offsets(self.consumed_offsets());
      } catch (const std::exception& e) {
        spdlog::warn("consumer: auto commit on unsubscribe: {}", e.what());
      }
    }
    co_await call_listener(&g, listener_event::revoked, sorted(owned(self)));
  }
  self.mode = subscription_mode::none;
  self.set_assignment({}, position_lookup::policy);
  co_await g.member->leave("the consumer unsubscribed", true);
  g.member->unsubscribed();
  g.topics.clear();
  g.pattern.reset();
  g.server_regex.reset();
  g.heartbeat_wake.notify_all();
}

std::set<std::string> consumer::subscription() const {
  if (!impl_->group || !impl_->subscribed()) return {};
  return impl_->group->topics;
}

group_statistics consumer::group_stats() const {
  if (!impl_->group) return {};
  const auto& g = *impl_->group;
  return {.rebalances = g.statistics.rebalances,
          .in_rebalance = g.statistics.in_rebalance,
          .last_rebalance_start = g.statistics.started,
          .last_rebalance_end = g.statistics.ended,
          .generation = generation_id{g.generation}};
}

consumer_group_metadata consumer::group_metadata() const {
  if (!impl_->group) throw illegal_state("group_metadata: the consumer has no group_id");
  const auto& g = *impl_->group;
  return {impl_->config.group_id, generation_id{g.generation}, g.member_id,
          impl_->config.group_instance_id};
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
