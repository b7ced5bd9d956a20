#include "kafka/consumer/consumer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <limits>
#include <unordered_set>
#include <utility>

#include "kafka/client/clock.hpp"
#include "kafka/consumer/consumer_impl.hpp"
#include "kafka/consumer/log_truncation.hpp"
#include "kafka/protocol/messages/fetch.hpp"
#include "kafka/protocol/messages/list_offsets.hpp"
#include "kafka/protocol/messages/offset_for_leader_epoch.hpp"
#include "kafka/records/control_record.hpp"

namespace sluice::kafka {

namespace {

using clock = std::chrono::steady_clock;

// Queued chunks per partition before it is fetched again: one being handed out, one arriving.
constexpr std::size_t prefetch_chunks = 2;
// The longest wait between metadata refreshes while an assigned topic is missing (the Java
// client's retry.backoff.max.ms default, KIP-580).
constexpr std::chrono::milliseconds max_metadata_backoff{1'000};
// How often a partition left waiting for its topic (or leader) is warned about.
constexpr std::chrono::seconds missing_warning_interval{10};
// ListOffsets timestamps (ListOffsetsRequest.EARLIEST_TIMESTAMP / LATEST_TIMESTAMP).
constexpr std::int64_t earliest_timestamp = -2;
constexpr std::int64_t latest_timestamp = -1;

std::uint64_t next_epoch() {
  static std::uint64_t counter = 0;
  return ++counter;
}

kafka_error illegal_state(const std::string& what) {
  return kafka_error(make_error_code(consumer_error::illegal_state), what, false);
}

std::string names(const std::vector<topic_partition>& partitions) {
  std::string out;
  for (const auto& tp : partitions) out += (out.empty() ? "" : ", ") + tp.to_string();
  return out;
}

}  // namespace

namespace consumer_detail {

// Errors after which the partition's leader is looked up again before the next fetch.
bool needs_metadata(error_code code) {
  switch (code) {
    case error_code::not_leader_or_follower:
    case error_code::leader_not_available:
    case error_code::fenced_leader_epoch:
    case error_code::unknown_leader_epoch:
    case error_code::kafka_storage_error:
    case error_code::unknown_topic_or_partition:
    case error_code::unknown_topic_id:
    case error_code::inconsistent_topic_id:
    case error_code::offset_not_available:
    case error_code::replica_not_available:
      return true;
    default:
      return classify(code) == error_action::refresh_metadata_and_retry;
  }
}

}  // namespace consumer_detail

using consumer_detail::needs_metadata;

// ---- impl -------------------------------------------------------------------------------------

consumer::impl::impl(const asio::any_io_executor& executor_, consumer_config config_)
    : executor(executor_),
      config(std::move(config_)),
      cluster(executor_, config),
      tasks(executor_, "consumer"),
      data_ready(executor_),
      fetch_wanted(executor_),
      decoder(protocol::bytes_view{},
              records::record_batch_decoder_options{.verify_crc = config.check_crcs}) {
  if (!config.group_id.empty()) {
    group = std::make_unique<group_state>(executor);
    group->member = group_detail::make_group_protocol(*this);
  }
}

namespace {
// The frame of a spawned task: `owner` lives as long as the task runs.
asio::awaitable<void> owned_task(std::shared_ptr<consumer::impl> owner,
                                 asio::awaitable<void> task) {
  co_await std::move(task);
  (void)owner;
}
}  // namespace

void consumer::impl::spawn(std::string name, asio::awaitable<void> task) {
  tasks.spawn(std::move(name), owned_task(shared_from_this(), std::move(task)));
}

void consumer::impl::shut_down() {
  stopping = true;
  fetch_wanted.notify_all();
  data_ready.notify_all();
  if (group) group->heartbeat_wake.notify_all();
  cluster.close();
  if (group) group->coordinator.close();
}

partition_state& consumer::impl::assigned(const topic_partition& partition, const char* operation) {
  auto it = partitions.find(partition);
  if (it == partitions.end()) {
    throw illegal_state(std::string(operation) + ": partition " + partition.to_string() +
                        " is not assigned to this consumer");
  }
  return it->second;
}

void consumer::impl::set_assignment(const std::vector<topic_partition>& wanted,
                                    position_lookup lookup) {
  std::map<topic_partition, partition_state> next;
  for (const auto& tp : wanted) {
    if (next.contains(tp)) continue;
    auto old = partitions.find(tp);
    if (old != partitions.end()) {
      next.emplace(tp, std::move(old->second));
    } else {
      partition_state state;
      state.epoch = next_epoch();
      state.lookup = lookup;
      next.emplace(tp, std::move(state));
    }
  }
  partitions = std::move(next);
  fetch_wanted.notify_all();
}

void consumer::impl::seek_to(partition_state& state, std::int64_t offset) {
  state.position = offset;
  state.fetch_offset = offset;
  state.fetched_epoch = -1;
  state.validated_leader_epoch = -1;
  state.awaiting_validation = false;
  state.epoch = next_epoch();
  state.lookup = position_lookup::none;
  state.queued.clear();
  state.error.reset();
  state.error_text.clear();
  fetch_wanted.notify_all();
}

void consumer::impl::request_lookup(partition_state& state, position_lookup lookup) {
  state.position.reset();
  state.validated_leader_epoch = -1;
  state.awaiting_validation = false;
  state.epoch = next_epoch();
  state.lookup = lookup;
  state.queued.clear();
  state.error.reset();
  state.error_text.clear();
  fetch_wanted.notify_all();
}

std::optional<std::int32_t> consumer::impl::leader_of(const topic_partition& tp) const {
  const auto* topic = cluster.metadata().topic(tp.topic);
  if (topic == nullptr) return std::nullopt;
  auto it = std::lower_bound(
      topic->partitions.begin(), topic->partitions.end(), tp.partition,
      [](const partition_info& p, std::int32_t index) { return p.partition < index; });
  if (it == topic->partitions.end() || it->partition != tp.partition || it->leader < 0)
    return std::nullopt;
  return it->leader;
}

std::int32_t consumer::impl::leader_epoch_of(const topic_partition& tp) const {
  const auto* topic = cluster.metadata().topic(tp.topic);
  if (topic == nullptr) return -1;
  for (const auto& p : topic->partitions) {
    if (p.partition == tp.partition) return p.leader_epoch;
  }
  return -1;
}

bool consumer::impl::fetchable(const partition_state& state) const {
  return state.position && state.lookup == position_lookup::none && !state.paused &&
         state.in_flight == 0 && !state.error && state.queued.size() < prefetch_chunks;
}

asio::awaitable<void> consumer::impl::refresh_metadata_if_needed() {
  std::set<std::string> wanted;
  bool missing = false;
  for (const auto& [tp, state] : partitions) {
    wanted.insert(tp.topic);
    if (!leader_of(tp)) missing = true;
  }
  if (wanted.empty()) co_return;
  const bool aged = clock::now() - last_metadata_refresh > config.metadata_max_age;
  if (!(metadata_stale || missing || aged)) co_return;
  // A topic that does not exist (yet) is asked for again with a growing backoff, not every round.
  const auto interval =
      missing ? std::max(missing_backoff, config.retry_backoff) : config.retry_backoff;
  if (clock::now() - last_metadata_refresh < interval) co_return;
  last_metadata_refresh = clock::now();
  metadata_stale = false;
  missing_backoff = missing ? std::min(std::max(missing_backoff * 2, config.retry_backoff),
                                       std::max(max_metadata_backoff, config.retry_backoff))
                            : std::chrono::milliseconds{0};
  co_await cluster.refresh_metadata(std::vector<std::string>(wanted.begin(), wanted.end()));
}

void consumer::impl::raise_errors(const std::vector<topic_partition>& only) {
  std::optional<std::error_code> first;
  std::string text;
  std::vector<topic_partition> out_of_range;
  for (const auto& [tp, state] : partitions) {
    if (!state.error) continue;
    if (!only.empty() && std::find(only.begin(), only.end(), tp) == only.end()) continue;
    if (!first) first = state.error;
    if (*state.error == make_error_code(error_code::offset_out_of_range)) {
      out_of_range.push_back(tp);
      text += (text.empty() ? "" : "; ") + state.error_text;
    } else {
      text += (text.empty() ? "" : "; ") + state.error.value().message() + ": " + state.error_text;
    }
  }
  if (!first) return;
  if (!out_of_range.empty()) {
    throw kafka_error(
        error_code::offset_out_of_range,
        "fetch offsets out of range with auto_offset_reset none (seek to go on): " + text);
  }
  if (first->category() == kafka_category()) {
    throw kafka_error(static_cast<error_code>(first->value()), text);
  }
  throw kafka_error(*first, text, false);
}

std::vector<consumer_record> consumer::impl::drain(std::size_t max_records,
                                                   const std::vector<topic_partition>& only) {
  std::vector<consumer_record> out;
  if (partitions.empty()) return out;
  // Round-robin over partitions, so one busy partition cannot starve the others.
  std::vector<std::map<topic_partition, partition_state>::iterator> order;
  order.reserve(partitions.size());
  for (auto it = partitions.begin(); it != partitions.end(); ++it) order.push_back(it);
  const auto start = next_drain % order.size();
  next_drain = start + 1;
  bool freed = false;
  for (std::size_t i = 0; i < order.size() && out.size() < max_records; ++i) {
    auto& [tp, state] = *order[(start + i) % order.size()];
    if (state.paused || !state.position) continue;
    if (!only.empty() && std::find(only.begin(), only.end(), tp) == only.end()) continue;
    while (!state.queued.empty() && out.size() < max_records) {
      auto& chunk = state.queued.front();
      if (chunk->epoch != state.epoch) {
        state.queued.pop_front();
        freed = true;
        continue;
      }
      if (out.empty()) out.reserve(std::min(max_records, chunk->records.size() - chunk->consumed));
      while (chunk->consumed < chunk->records.size() && out.size() < max_records) {
        const auto& record = chunk->records[chunk->consumed++];
        if (record.offset < *state.position) continue;
        out.push_back(record);
        out.back().owner = chunk;
        state.position = record.offset + 1;
        state.last_leader_epoch = record.leader_epoch;
      }
      if (chunk->consumed == chunk->records.size()) {
        // Control batches and aborted data after the last record still move the position.
        state.position = std::max(*state.position, chunk->next_offset);
        state.queued.pop_front();
        freed = true;
      }
    }
  }
  if (freed) fetch_wanted.notify_all();
  return out;
}

asio::awaitable<std::map<topic_partition, offset_and_timestamp>> consumer::impl::list_offsets(
    std::map<topic_partition, std::int64_t> timestamps, isolation_level isolation) {
  std::map<topic_partition, offset_and_timestamp> result;
  const auto deadline = api_deadline();
  bool refresh = false;
  std::string last_problem;
  while (!timestamps.empty()) {
    if (clock::now() > deadline) {
      std::vector<topic_partition> left;
      left.reserve(timestamps.size());
      for (const auto& [tp, ts] : timestamps) left.push_back(tp);
      throw kafka_error(make_error_code(consumer_error::timed_out),
                        "list offsets for " + names(left) + " (last problem: " + last_problem + ")",
                        true);
    }
    std::set<std::string> topics;
    for (const auto& [tp, ts] : timestamps) topics.insert(tp.topic);
    bool missing = refresh;
    for (const auto& [tp, ts] : timestamps) missing = missing || !leader_of(tp);
    if (missing) {
      co_await cluster.refresh_metadata(std::vector<std::string>(topics.begin(), topics.end()));
      refresh = false;
      for (const auto& [tp, ts] : timestamps) {
        const auto* topic = cluster.metadata().topic(tp.topic);
        if (topic == nullptr) {
          throw kafka_error(error_code::unknown_topic_or_partition,
                            "list offsets: topic '" + tp.topic + "' does not exist");
        }
        if (tp.partition < 0 ||
            static_cast<std::size_t>(tp.partition) >= topic->partitions.size()) {
          throw kafka_error(error_code::unknown_topic_or_partition,
                            "list offsets: partition " + tp.to_string() +
                                " does not exist (topic has " +
                                std::to_string(topic->partitions.size()) + " partitions)");
        }
      }
    }
    std::map<std::int32_t, protocol::list_offsets_request> by_node;
    for (const auto& [tp, ts] : timestamps) {
      auto leader = leader_of(tp);
      if (!leader) continue;
      auto& request = by_node[*leader];
      request.replica_id = -1;
      request.isolation_level = static_cast<std::int8_t>(isolation);
      request.timeout_ms = static_cast<std::int32_t>(config.request_timeout.count());
      if (request.topics.empty() || request.topics.back().name != tp.topic)
        request.topics.push_back({.name = tp.topic});
      request.topics.back().partitions.push_back({.partition_index = tp.partition,
                                                  .current_leader_epoch = leader_epoch_of(tp),
                                                  .timestamp = ts});
    }
    for (auto& [node, request] : by_node) {
      protocol::list_offsets_response response;
      try {
        response = co_await cluster.send_to(node_id{node}, std::move(request));
      } catch (const kafka_error& e) {
        if (!e.retriable()) throw;
        last_problem = e.what();
        refresh = true;
        continue;
      }
      for (const auto& topic : response.topics) {
        for (const auto& p : topic.partitions) {
          topic_partition tp{topic.name, p.partition_index};
          if (!timestamps.contains(tp)) continue;
          auto code = static_cast<error_code>(p.error_code);
          if (code == error_code::none) {
            result[tp] = {p.offset, p.timestamp};
            timestamps.erase(tp);
          } else if (needs_metadata(code) || is_retriable(code)) {
            last_problem = tp.to_string() + ": " + error_name(code);
            refresh = true;
          } else {
            throw kafka_error(code, "list offsets for " + tp.to_string());
          }
        }
      }
    }
    if (!timestamps.empty()) co_await sleep_for(executor, config.retry_backoff);
  }
  co_return result;
}

asio::awaitable<void> consumer::impl::resolve_positions(std::vector<topic_partition> wanted,
                                                        bool background) {
  // Partitions without a leader: a manually assigned topic that does not exist yet, or a leader
  // election. Their lookup stays pending and the scheduler retries it after a metadata refresh
  // (the Java consumer warns UNKNOWN_TOPIC_OR_PARTITION and retries alike); the rest go ahead.
  // Neither OffsetFetch (UNKNOWN_TOPIC_ID) nor ListOffsets can answer for them meanwhile.
  std::set<std::string> leaderless;
  for (const auto& tp : wanted) {
    if (!leader_of(tp)) leaderless.insert(tp.topic);
  }
  if (!leaderless.empty() && !background) {
    last_metadata_refresh = clock::now();
    co_await cluster.refresh_metadata(
        std::vector<std::string>(leaderless.begin(), leaderless.end()));
  }
  std::string waiting;
  for (auto it = wanted.begin(); it != wanted.end();) {
    if (leader_of(*it)) {
      ++it;
      continue;
    }
    const auto* topic = cluster.metadata().topic(it->topic);
    const auto why = topic == nullptr || topic->partitions.empty()
                         ? std::string(error_name(error_code::unknown_topic_or_partition))
                         : std::string(error_name(error_code::leader_not_available));
    waiting += (waiting.empty() ? "" : ", ") + it->to_string() + ": " + why;
    it = wanted.erase(it);
  }
  if (!waiting.empty() && clock::now() - last_missing_warning > missing_warning_interval) {
    last_missing_warning = clock::now();
    spdlog::warn("consumer: no leader for {}; looking the position up once there is one", waiting);
  }
  // Phase 1: committed offsets (group members).
  std::vector<topic_partition> committed;
  for (const auto& tp : wanted) {
    auto it = partitions.find(tp);
    if (it != partitions.end() && it->second.lookup == position_lookup::committed)
      committed.push_back(tp);
  }
  if (!committed.empty()) {
    std::map<topic_partition, std::uint64_t> epochs;
    for (const auto& tp : committed) epochs[tp] = partitions.at(tp).epoch;
    auto offsets = co_await fetch_committed(committed);
    for (const auto& [tp, offset] : offsets) {
      auto it = partitions.find(tp);
      if (it == partitions.end() || it->second.epoch != epochs[tp]) continue;
      if (offset && offset->offset >= 0) {
        seek_to(it->second, offset->offset);
        it->second.last_leader_epoch = offset->leader_epoch;
        // KIP-320: the committed epoch is that of the record before the offset; the first fetch
        // checks it, so a log truncated since the commit is noticed.
        it->second.fetched_epoch = offset->leader_epoch;
        // Without diverging epochs (Fetch below v12) OffsetForLeaderEpoch checks it first.
        it->second.awaiting_validation = offset->leader_epoch >= 0;
      } else {
        it->second.lookup = position_lookup::policy;
      }
    }
  }
  // Phase 2: auto_offset_reset, then earliest / latest lookups.
  std::map<topic_partition, std::int64_t> lookups;
  std::map<topic_partition, std::uint64_t> epochs;
  std::vector<topic_partition> no_reset;
  for (const auto& tp : wanted) {
    auto it = partitions.find(tp);
    if (it == partitions.end()) continue;
    auto& state = it->second;
    auto lookup = state.lookup;
    if (lookup == position_lookup::policy) {
      switch (config.offset_reset) {
        case auto_offset_reset::earliest:
          lookup = position_lookup::earliest;
          break;
        case auto_offset_reset::latest:
          lookup = position_lookup::latest;
          break;
        case auto_offset_reset::none:
          no_reset.push_back(tp);
          continue;
      }
    }
    if (lookup == position_lookup::earliest) lookups[tp] = earliest_timestamp;
    if (lookup == position_lookup::latest) lookups[tp] = latest_timestamp;
    if (lookups.contains(tp)) epochs[tp] = state.epoch;
  }
  for (const auto& tp : no_reset) {
    auto& state = partitions.at(tp);
    state.error = make_error_code(consumer_error::no_offset_for_partition);
    state.error_text =
        tp.to_string() + " has no position, no committed offset, and auto_offset_reset is none";
  }
  if (!no_reset.empty()) data_ready.notify_all();
  if (lookups.empty()) co_return;
  auto found = co_await list_offsets(std::move(lookups), config.isolation);
  for (const auto& [tp, at] : found) {
    auto it = partitions.find(tp);
    if (it == partitions.end() || it->second.epoch != epochs[tp] ||
        it->second.lookup == position_lookup::none)
      continue;
    seek_to(it->second, at.offset);
  }
}

consumer::impl::~impl() = default;

// ---- consumer ---------------------------------------------------------------------------------

namespace {
consumer_config validated(consumer_config config) {
  config.validate();
  return config;
}
}  // namespace

consumer::consumer(asio::any_io_executor executor, consumer_config config)
    : impl_(std::make_shared<impl>(executor, validated(std::move(config)))) {}

consumer::~consumer() {
  if (!impl_) return;
  // Without stop() the background tasks may still be suspended (the fetch scheduler between two
  // rounds, a fetch parked on a broker). They hold the state (impl::spawn); this makes them end:
  // their loops see `stopping`, and whatever waits on a broker fails at once.
  impl_->shut_down();
}

void consumer::limit_fetch_version_for_testing(int version) {
  if (version < protocol::fetch_request::min_version ||
      version > protocol::fetch_request::max_version) {
    throw kafka_error(error_code::invalid_request,
                      "limit_fetch_version_for_testing: Fetch version " + std::to_string(version) +
                          " is outside " + std::to_string(protocol::fetch_request::min_version) +
                          ".." + std::to_string(protocol::fetch_request::max_version));
  }
  impl_->fetch_version_cap = static_cast<std::int16_t>(version);
}

const consumer_config& consumer::config() const {
  return impl_->config;
}
kafka::cluster& consumer::cluster() {
  return impl_->cluster;
}

asio::awaitable<void> consumer::start() {
  if (impl_->started) throw illegal_state("start: the consumer is already started");
  co_await impl_->cluster.start();
  impl_->started = true;
  impl_->spawn("fetch scheduler", impl_->fetch_scheduler());
}

asio::awaitable<void> consumer::stop() {
  auto& self = *impl_;
  if (!self.started || self.stopping) co_return;
  if (self.group) {
    self.closing_deadline = clock::now() + self.config.request_timeout;
    try {
      co_await self.leave_group_on_stop();
    } catch (const std::exception& e) {
      spdlog::warn("consumer: leaving the group on stop: {}", e.what());
    }
  }
  self.stopping = true;
  self.fetch_wanted.notify_all();
  self.data_ready.notify_all();
  if (self.group) self.group->heartbeat_wake.notify_all();
  // Fetches park on the broker for up to fetch_max_wait; give them that, then close the
  // connections so that anything still waiting fails at once.
  const auto drain = clock::now() + self.config.fetch_max_wait + std::chrono::seconds(1);
  if (!co_await self.tasks.wait_idle(drain)) {
    self.cluster.close();
    if (self.group) self.group->coordinator.close();
    co_await self.tasks.wait_idle(clock::time_point::max());
  }
  self.cluster.close();
  if (self.group) self.group->coordinator.close();
}

void consumer::assign(const std::vector<topic_partition>& partitions) {
  auto& self = *impl_;
  if (self.mode == subscription_mode::topics || self.mode == subscription_mode::pattern) {
    throw illegal_state(
        "assign: the consumer is subscribed; unsubscribe first (assign and subscribe do not mix)");
  }
  for (const auto& tp : partitions) {
    if (tp.topic.empty() || tp.partition < 0) {
      throw kafka_error(error_code::invalid_request,
                        "assign: invalid partition '" + tp.to_string() + "'");
    }
  }
  self.mode = partitions.empty() ? subscription_mode::none : subscription_mode::manual;
  self.set_assignment(partitions,
                      self.group ? position_lookup::committed : position_lookup::policy);
}

std::set<topic_partition> consumer::assignment() const {
  std::set<topic_partition> out;
  for (const auto& [tp, state] : impl_->partitions) out.insert(tp);
  return out;
}

void consumer::seek(const topic_partition& partition, log_offset target) {
  const auto offset = target.value();
  if (offset < 0) {
    throw kafka_error(error_code::invalid_request, "seek: offset " + std::to_string(offset) +
                                                       " for " + partition.to_string() +
                                                       " is negative");
  }
  impl_->seek_to(impl_->assigned(partition, "seek"), offset);
}

asio::awaitable<void> consumer::seek_to_beginning(std::vector<topic_partition> partitions) {
  if (partitions.empty()) {
    for (const auto& [tp, state] : impl_->partitions) partitions.push_back(tp);
  }
  for (const auto& tp : partitions)
    impl_->request_lookup(impl_->assigned(tp, "seek_to_beginning"), position_lookup::earliest);
  co_await impl_->resolve_positions(std::move(partitions));
}

asio::awaitable<void> consumer::seek_to_end(std::vector<topic_partition> partitions) {
  if (partitions.empty()) {
    for (const auto& [tp, state] : impl_->partitions) partitions.push_back(tp);
  }
  for (const auto& tp : partitions)
    impl_->request_lookup(impl_->assigned(tp, "seek_to_end"), position_lookup::latest);
  co_await impl_->resolve_positions(std::move(partitions));
}

asio::awaitable<log_offset> consumer::position(topic_partition partition) {
  auto& state = impl_->assigned(partition, "position");
  if (!state.position) {
    std::vector<topic_partition> one(1, partition);
    co_await impl_->resolve_positions(std::move(one));
  }
  auto& after = impl_->assigned(partition, "position");
  if (!after.position) {
    impl_->raise_errors({partition});
    if (!impl_->leader_of(partition)) {
      throw kafka_error(error_code::unknown_topic_or_partition,
                        "position: " + partition.to_string() +
                            " has no leader (the topic may not exist yet); the consumer keeps "
                            "looking it up");
    }
    throw kafka_error(make_error_code(consumer_error::no_offset_for_partition),
                      "position: no position for " + partition.to_string(), true);
  }
  co_return log_offset{*after.position};
}

asio::awaitable<std::vector<consumer_record>> consumer::getmany(std::chrono::milliseconds timeout,
                                                                std::size_t max_records,
                                                                std::vector<topic_partition> only) {
  auto& self = *impl_;
  if (!self.started) throw illegal_state("getmany: the consumer is not started");
  if (max_records == 0) max_records = static_cast<std::size_t>(self.config.max_poll_records);
  for (const auto& tp : only) self.assigned(tp, "getmany");
  const auto deadline = timeout == std::chrono::milliseconds::max() ? clock::time_point::max()
                                                                    : clock::now() + timeout;
  while (true) {
    self.on_poll();
    self.raise_errors(only);
    std::vector<consumer_record> out;
    if (!self.group_blocks_fetching()) out = self.drain(max_records, only);
    if (!out.empty() || clock::now() >= deadline || self.stopping ||
        std::exchange(self.woken, false))
      co_return out;
    co_await self.data_ready.wait(deadline);
  }
}

void consumer::wake_getmany() {
  impl_->woken = true;
  impl_->data_ready.notify_all();
}

asio::awaitable<std::optional<consumer_record>> consumer::getone(
    std::chrono::milliseconds timeout, std::vector<topic_partition> only) {
  auto records = co_await getmany(timeout, 1, std::move(only));
  if (records.empty()) co_return std::nullopt;
  co_return std::move(records.front());
}

namespace {
template <typename Strong>
std::optional<Strong> strong(const std::optional<typename Strong::representation>& raw) {
  if (!raw) return std::nullopt;
  return Strong{*raw};
}
}  // namespace

std::optional<log_offset> consumer::highwater(const topic_partition& partition) const {
  return strong<log_offset>(impl_->assigned(partition, "highwater").highwater);
}

std::optional<log_offset> consumer::last_stable_offset(const topic_partition& partition) const {
  return strong<log_offset>(impl_->assigned(partition, "last_stable_offset").last_stable_offset);
}

std::optional<timestamp_ms> consumer::last_poll_timestamp(const topic_partition& partition) const {
  return strong<timestamp_ms>(impl_->assigned(partition, "last_poll_timestamp").last_fetch_ms);
}

namespace {
// Each partition's offset for one ListOffsets timestamp (earliest_timestamp, latest_timestamp).
asio::awaitable<std::map<topic_partition, log_offset>> offsets_at(
    consumer::impl* self, std::vector<topic_partition> partitions, std::int64_t timestamp,
    isolation_level isolation) {
  std::map<topic_partition, std::int64_t> asked;
  for (const auto& tp : partitions) asked[tp] = timestamp;
  auto found = co_await self->list_offsets(std::move(asked), isolation);
  std::map<topic_partition, log_offset> out;
  for (const auto& [tp, at] : found) out.emplace(tp, log_offset{at.offset});
  co_return out;
}
}  // namespace

asio::awaitable<std::map<topic_partition, log_offset>> consumer::beginning_offsets(
    std::vector<topic_partition> partitions) {
  return offsets_at(impl_.get(), std::move(partitions), earliest_timestamp,
                    impl_->config.isolation);
}

asio::awaitable<std::map<topic_partition, log_offset>> consumer::end_offsets(
    std::vector<topic_partition> partitions, std::optional<isolation_level> isolation) {
  return offsets_at(impl_.get(), std::move(partitions), latest_timestamp,
                    isolation.value_or(impl_->config.isolation));
}

asio::awaitable<std::map<topic_partition, std::optional<offset_and_timestamp>>>
consumer::offsets_for_times(std::map<topic_partition, timestamp_ms> timestamps) {
  std::vector<topic_partition> asked;
  asked.reserve(timestamps.size());
  std::map<topic_partition, std::int64_t> wire_timestamps;
  for (const auto& [tp, ts] : timestamps) {
    if (ts.value() < 0) {
      throw kafka_error(error_code::invalid_request, "offsets_for_times: timestamp " +
                                                         std::to_string(ts.value()) + " for " +
                                                         tp.to_string() + " is negative");
    }
    asked.push_back(tp);
    wire_timestamps.emplace(tp, ts.value());
  }
  auto found = co_await impl_->list_offsets(std::move(wire_timestamps), impl_->config.isolation);
  std::map<topic_partition, std::optional<offset_and_timestamp>> out;
  for (const auto& tp : asked) {
    auto it = found.find(tp);
    // The broker answers offset -1 when no record has a timestamp that late.
    if (it == found.end() || it->second.offset < 0) {
      out[tp] = std::nullopt;
    } else {
      out[tp] = it->second;
    }
  }
  co_return out;
}

asio::awaitable<std::set<std::string>> consumer::topics() {
  const auto* metadata = co_await impl_->cluster.refresh_metadata(std::nullopt);
  std::set<std::string> out;
  for (const auto& [name, topic] : metadata->topics) {
    if (topic.error == error_code::none) out.insert(name);
  }
  co_return out;
}

asio::awaitable<std::optional<std::set<partition_id>>> consumer::partitions_for_topic(
    std::string topic) {
  std::vector<std::string> one(1, topic);
  const auto* metadata = co_await impl_->cluster.refresh_metadata(std::move(one));
  const auto* info = metadata->topic(topic);
  if (info == nullptr || info->error != error_code::none) co_return std::nullopt;
  std::set<partition_id> out;
  for (const auto& p : info->partitions) out.insert(partition_id{p.partition});
  co_return out;
}

void consumer::pause(const std::vector<topic_partition>& partitions) {
  for (const auto& tp : partitions) impl_->assigned(tp, "pause").paused = true;
}

void consumer::resume(const std::vector<topic_partition>& partitions) {
  for (const auto& tp : partitions) impl_->assigned(tp, "resume").paused = false;
  impl_->fetch_wanted.notify_all();
  impl_->data_ready.notify_all();
}

std::set<topic_partition> consumer::paused() const {
  std::set<topic_partition> out;
  for (const auto& [tp, state] : impl_->partitions) {
    if (state.paused) out.insert(tp);
  }
  return out;
}

}  // namespace sluice::kafka
