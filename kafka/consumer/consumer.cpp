#include "kafka/consumer/consumer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <limits>
#include <unordered_set>

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
// How long the scheduler sleeps when nothing wakes it (group timers are checked this often).
constexpr std::chrono::milliseconds scheduler_idle{200};
// After a failed lookup or metadata refresh.
constexpr std::chrono::milliseconds failure_backoff{500};
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

std::uint64_t next_fetch_id() {
  static std::uint64_t counter = 0;
  return ++counter;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

kafka_error illegal_state(const std::string& what) {
  return kafka_error(make_error_code(consumer_error::illegal_state), what, false);
}

asio::awaitable<void> sleep_for(asio::any_io_executor executor,
                                std::chrono::milliseconds duration) {
  asio::steady_timer timer(executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

std::string names(const std::vector<topic_partition>& partitions) {
  std::string out;
  for (const auto& tp : partitions) out += (out.empty() ? "" : ", ") + tp.to_string();
  return out;
}

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

// KIP-392: the node to fetch a partition from: the replica the leader last named in
// preferred_read_replica while that is fresh and the node is known, else the leader.
std::int32_t read_replica(const cluster& brokers, const partition_state& state,
                          std::int32_t leader) {
  if (state.preferred_read_replica < 0 || clock::now() >= state.preferred_until) return leader;
  if (!brokers.metadata().brokers.contains(state.preferred_read_replica)) return leader;
  return state.preferred_read_replica;
}

// After an error from (or a failed fetch to) a preferred replica, fetching goes back to the
// leader (the Java consumer's clearPreferredReadReplica).
void clear_preferred_replica(partition_state& state) {
  state.preferred_read_replica = -1;
  state.preferred_until = {};
}

}  // namespace

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
    group->protocol = configured_protocol(config);
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
  if (group) close_group_connections(*group);
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
  const auto interval = missing ? std::max(missing_backoff, config.retry_backoff)
                                : config.retry_backoff;
  if (clock::now() - last_metadata_refresh < interval) co_return;
  last_metadata_refresh = clock::now();
  metadata_stale = false;
  missing_backoff = missing ? std::min(std::max(missing_backoff * 2, config.retry_backoff),
                                       std::max(max_metadata_backoff, config.retry_backoff))
                            : std::chrono::milliseconds{0};
  co_await cluster.refresh_metadata(std::vector<std::string>(wanted.begin(), wanted.end()));
}

asio::awaitable<void> consumer::impl::fetch_scheduler() {
  auto last_failure_log = clock::time_point{};
  while (!stopping) {
    bool pending_work = false;
    bool failed = false;
    try {
      co_await group_tick();
      if (stopping) break;
      co_await refresh_metadata_if_needed();
      std::vector<topic_partition> lookups;
      for (const auto& [tp, state] : partitions) {
        if (state.lookup != position_lookup::none && !state.error) lookups.push_back(tp);
      }
      if (!lookups.empty()) co_await resolve_positions(std::move(lookups), true);
      if (!group_blocks_fetching()) {
        std::map<std::int32_t, std::vector<topic_partition>> by_node;
        std::map<std::int32_t, std::vector<topic_partition>> to_validate;  // by leader
        for (auto& [tp, state] : partitions) {
          if (!fetchable(state)) continue;
          auto leader = leader_of(tp);
          if (!leader) {
            metadata_stale = true;
            pending_work = true;
            continue;
          }
          const auto leader_epoch = leader_epoch_of(tp);
          if (needs_position_validation(state.fetched_epoch, state.validated_leader_epoch,
                                        leader_epoch, state.awaiting_validation)) {
            to_validate[*leader].push_back(tp);
            continue;
          }
          state.validated_leader_epoch = leader_epoch;
          state.awaiting_validation = false;
          const auto node = read_replica(cluster, state, *leader);
          if (nodes_fetching.contains(node)) continue;
          by_node[node].push_back(tp);
        }
        for (auto& [node, list] : by_node) {
          nodes_fetching.insert(node);
          spawn("fetch from broker " + std::to_string(node), fetch_from(node, std::move(list)));
        }
        if (!to_validate.empty()) {
          pending_work = true;  // fetch them in the next round, soon
          co_await validate_positions(std::move(to_validate));
        }
      }
    } catch (const std::exception& e) {
      // Lookups and metadata fail while brokers move (or a manually assigned topic does not exist
      // yet); the loop tries again after a backoff, and says so at most once a second.
      failed = true;
      if (clock::now() - last_failure_log > std::chrono::seconds(1)) {
        spdlog::warn("consumer: {}", e.what());
        last_failure_log = clock::now();
      }
    }
    for (const auto& [tp, state] : partitions) {
      if (state.lookup != position_lookup::none && !state.error) pending_work = true;
    }
    if (stopping) break;
    auto pause = pending_work || metadata_stale ? config.retry_backoff : scheduler_idle;
    if (failed) pause = std::max(pause, failure_backoff);
    co_await fetch_wanted.wait(clock::now() + pause);
  }
}

asio::awaitable<void> consumer::impl::fetch_from(std::int32_t node,
                                                 std::vector<topic_partition> list) {
  struct sent_partition {
    topic_partition tp;
    std::uint64_t epoch;
    std::int64_t fetch_offset;
  };
  const auto fetch_id = next_fetch_id();
  auto& session = sessions[node];
  const bool incremental = session.id != 0;
  std::vector<sent_partition> sent;
  std::map<topic_partition, fetch_session::sent_partition> wanted;
  protocol::fetch_request request;
  request.max_wait_ms = static_cast<std::int32_t>(config.fetch_max_wait.count());
  request.min_bytes = config.fetch_min_bytes;
  request.max_bytes = config.fetch_max_bytes;
  request.isolation_level = static_cast<std::int8_t>(config.isolation);
  // KIP-227: session id 0 with epoch 0 is a full fetch that asks the broker to open a session.
  request.session_id = session.id;
  request.session_epoch = incremental ? session.epoch : 0;
  request.rack_id = config.client_rack;
  // Fetch v13+ names topics by id (KIP-516); responses carry the id only.
  std::vector<std::pair<protocol::uuid, std::string>> names_by_id;
  for (const auto& tp : list) {
    auto& state = partitions.at(tp);
    state.in_flight = fetch_id;
    sent.push_back({tp, state.epoch, state.fetch_offset});
    fetch_session::sent_partition now{state.fetch_offset, leader_epoch_of(tp), {}};
    if (const auto* info = cluster.metadata().topic(tp.topic)) now.topic_id = info->id;
    if (names_by_id.empty() || names_by_id.back().second != tp.topic)
      names_by_id.emplace_back(now.topic_id, tp.topic);
    wanted[tp] = now;
    auto known = session.partitions.find(tp);
    if (incremental && known != session.partitions.end() &&
        known->second.fetch_offset == now.fetch_offset &&
        known->second.leader_epoch == now.leader_epoch) {
      continue;  // the broker's session already has it
    }
    if (request.topics.empty() || request.topics.back().topic != tp.topic) {
      auto& topic = request.topics.emplace_back();
      topic.topic = tp.topic;
      topic.topic_id = now.topic_id;
    }
    protocol::fetch_request::fetch_partition partition;
    partition.partition = tp.partition;
    partition.current_leader_epoch = now.leader_epoch;
    partition.fetch_offset = now.fetch_offset;
    partition.last_fetched_epoch = state.fetched_epoch;
    partition.partition_max_bytes = config.max_partition_fetch_bytes;
    request.topics.back().partitions.push_back(partition);
  }
  if (incremental) {
    // Partitions the session holds that this fetch does not want (paused, queue full, moved away).
    for (const auto& [tp, held] : session.partitions) {
      if (wanted.contains(tp)) continue;
      if (request.forgotten_topics_data.empty() ||
          request.forgotten_topics_data.back().topic != tp.topic) {
        request.forgotten_topics_data.push_back({.topic = tp.topic, .topic_id = held.topic_id});
      }
      request.forgotten_topics_data.back().partitions.push_back(tp.partition);
    }
  }

  auto finish = [&] {
    for (const auto& s : sent) {
      auto it = partitions.find(s.tp);
      if (it != partitions.end() && it->second.in_flight == fetch_id) it->second.in_flight = 0;
    }
    nodes_fetching.erase(node);
    fetch_wanted.notify_all();
  };

  protocol::fetch_response response;
  try {
    auto conn = co_await cluster.connection_to(node);
    const auto version = fetch_version(*conn);
    response = co_await conn->send(std::move(request), version);
  } catch (const std::exception& e) {
    if (!stopping) spdlog::warn("consumer: fetch from broker {} failed: {}", node, e.what());
    sessions[node].reset();
    for (const auto& s : sent) {
      auto it = partitions.find(s.tp);
      if (it != partitions.end() && it->second.preferred_read_replica == node)
        clear_preferred_replica(it->second);
    }
    metadata_stale = true;
    finish();
    co_return;
  }
  auto& now_session = sessions[node];
  if (response.error_code != 0) {
    auto code = static_cast<error_code>(response.error_code);
    now_session.reset();
    // A session the broker evicted or an epoch out of step: the next fetch opens a new one.
    if (code != error_code::fetch_session_id_not_found &&
        code != error_code::invalid_fetch_session_epoch &&
        code != error_code::fetch_session_topic_id_error) {
      spdlog::warn("consumer: fetch from broker {} failed: {}", node, error_name(code));
      metadata_stale = true;
      for (const auto& s : sent) {
        auto it = partitions.find(s.tp);
        if (it != partitions.end() && it->second.preferred_read_replica == node)
          clear_preferred_replica(it->second);
      }
    }
    finish();
    co_return;
  }
  if (response.session_id == 0) {
    now_session.reset();  // the broker keeps no session (none asked for, or its cache is full)
  } else {
    const bool continued = now_session.id == response.session_id;
    now_session.id = response.session_id;
    now_session.epoch = continued ? (now_session.epoch == std::numeric_limits<std::int32_t>::max()
                                         ? 1
                                         : now_session.epoch + 1)
                                  : 1;
    now_session.partitions = std::move(wanted);
  }

  bool delivered = false;
  const auto received_ms = now_ms();
  for (auto& topic_response : response.responses) {
    std::string topic = topic_response.topic;
    if (topic.empty()) {
      auto named = std::find_if(names_by_id.begin(), names_by_id.end(), [&](const auto& entry) {
        return entry.first == topic_response.topic_id;
      });
      if (named == names_by_id.end()) continue;
      topic = named->second;
    }
    for (auto& data : topic_response.partitions) {
      topic_partition tp{topic, data.partition_index};
      auto s = std::find_if(sent.begin(), sent.end(),
                            [&](const sent_partition& p) { return p.tp == tp; });
      auto it = partitions.find(tp);
      if (s == sent.end() || it == partitions.end()) continue;
      auto& state = it->second;
      // A seek (or a reassignment) since the request went out makes its answer stale.
      if (state.epoch != s->epoch || state.fetch_offset != s->fetch_offset) continue;
      state.last_fetch_ms = received_ms;
      auto code = static_cast<error_code>(data.error_code);
      const bool from_follower = state.preferred_read_replica == node && leader_of(tp) != node;
      if (code != error_code::none && from_follower) {
        clear_preferred_replica(state);
        // A follower's log may end before the leader's high watermark (it has not caught up yet):
        // out of range there is no reason to reset; the leader decides (Java's FetchCollector).
        if (code == error_code::offset_out_of_range) {
          spdlog::info("consumer: offset {} out of range on follower {} for {}; asking the leader",
                       s->fetch_offset, node, tp.to_string());
          continue;
        }
      }
      if (code == error_code::none && data.preferred_read_replica >= 0) {
        // KIP-392: the leader names a replica closer to client_rack; the next fetches go there
        // (this response carries no records) until metadata_max_age has passed.
        if (data.preferred_read_replica != state.preferred_read_replica) {
          spdlog::info("consumer: fetching {} from replica {} (preferred by broker {}, KIP-392)",
                       tp.to_string(), data.preferred_read_replica, node);
        }
        state.preferred_read_replica = data.preferred_read_replica;
        state.preferred_until = clock::now() + config.metadata_max_age;
      }
      if (code == error_code::none && data.diverging_epoch.epoch >= 0) {
        // KIP-320: the leader's log differs from what we fetched (no records come with this).
        on_diverging_epoch(tp, state, s->fetch_offset, data.diverging_epoch.epoch,
                           data.diverging_epoch.end_offset);
        delivered = delivered || state.error.has_value();
        continue;
      }
      if (code == error_code::none) {
        state.highwater = data.high_watermark;
        if (data.last_stable_offset >= 0) state.last_stable_offset = data.last_stable_offset;
        if (data.log_start_offset >= 0) state.log_start_offset = data.log_start_offset;
        if (!data.records || data.records->empty()) continue;
        auto chunk = std::make_shared<fetched_chunk>();
        chunk->topic = topic;
        chunk->partition = tp.partition;
        chunk->epoch = state.epoch;
        chunk->data = std::move(*data.records);
        std::error_code decode_error;
        decode_into(*chunk, data.aborted_transactions, s->fetch_offset, decode_error);
        if (chunk->next_offset > s->fetch_offset) {
          state.fetch_offset = chunk->next_offset;
          if (!chunk->records.empty()) state.fetched_epoch = chunk->records.back().leader_epoch;
          state.queued.push_back(std::move(chunk));
          delivered = true;
        } else if (decode_error) {
          // Nothing usable before the bad batch: the application has to skip it with seek.
          state.error = make_error_code(consumer_error::corrupt_record);
          state.error_text = "corrupt record batch in " + tp.to_string() + " at offset " +
                             std::to_string(s->fetch_offset) + ": " + decode_error.message();
          delivered = true;
        }
        continue;
      }
      if (code == error_code::offset_out_of_range) {
        if (config.offset_reset == auto_offset_reset::none) {
          state.error = make_error_code(code);
          state.error_text = tp.to_string() + " at offset " + std::to_string(s->fetch_offset) +
                             " (log start " + std::to_string(data.log_start_offset) +
                             ", high watermark " + std::to_string(data.high_watermark) + ")";
          delivered = true;
        } else {
          spdlog::info("consumer: offset {} out of range for {}; resetting to {}", s->fetch_offset,
                       tp.to_string(), to_string(config.offset_reset));
          request_lookup(state, position_lookup::policy);
        }
        continue;
      }
      if (needs_metadata(code) || is_retriable(code)) {
        metadata_stale = true;
        continue;
      }
      state.error = make_error_code(code);
      state.error_text = "fetch " + tp.to_string() + " from broker " + std::to_string(node);
      delivered = true;
    }
  }
  finish();
  if (delivered) data_ready.notify_all();
}

void consumer::impl::on_diverging_epoch(const topic_partition& tp, partition_state& state,
                                        std::int64_t fetch_offset, std::int32_t epoch,
                                        std::int64_t end_offset, const char* source) {
  const auto decision =
      decide_on_diverging_epoch(fetch_offset, state.position, epoch, end_offset, config.offset_reset);
  const auto where = tp.to_string() + " at offset " + std::to_string(fetch_offset) +
                     " (last fetched epoch " + std::to_string(state.fetched_epoch) +
                     "; the leader's epoch " + std::to_string(epoch) + " ends at " +
                     std::to_string(end_offset) + ", from " + source + ")";
  using action = truncation_decision::action;
  switch (decision.what) {
    case action::keep_fetching:
      // Nothing was truncated below our offset; fetch on without the epoch check that failed.
      state.fetched_epoch = -1;
      break;
    case action::seek:
      spdlog::warn("consumer: log truncation detected for {} (KIP-320); resetting to offset {}",
                   where, decision.offset);
      seek_to(state, decision.offset);
      break;
    case action::reset_by_policy:
      spdlog::warn("consumer: log truncation detected for {} (KIP-320); no common epoch, "
                   "resetting by auto_offset_reset {}",
                   where, to_string(config.offset_reset));
      request_lookup(state, position_lookup::policy);
      break;
    case action::fail:
      state.error = make_error_code(error_code::offset_out_of_range);
      state.error_text = "log truncation detected (KIP-320) for " + where +
                         (decision.offset >= 0
                              ? "; the logs diverge from offset " + std::to_string(decision.offset)
                              : std::string("; no common epoch"));
      break;
  }
}

asio::awaitable<void> consumer::impl::validate_positions(
    std::map<std::int32_t, std::vector<topic_partition>> by_leader) {
  struct asked {
    std::uint64_t epoch;  // the partition's seek epoch: a seek meanwhile voids the answer
    std::int64_t fetch_offset;
    std::int32_t leader_epoch;  // current_leader_epoch sent
  };
  bool delivered = false;
  for (auto& [node, list] : by_leader) {
    std::shared_ptr<connection> conn;
    try {
      conn = co_await cluster.connection_to(node);
    } catch (const std::exception& e) {
      if (!stopping) spdlog::warn("consumer: connecting to broker {} failed: {}", node, e.what());
      metadata_stale = true;
      continue;
    }
    // Fetch v12+ checks the epoch itself (last_fetched_epoch, answered by a diverging epoch).
    // OffsetForLeaderEpoch v3 is the first a consumer may send (replica_id -1); a broker without
    // it cannot check: fetching goes on unchecked, as in the Java consumer
    // (hasUsableOffsetForLeaderEpochVersion).
    const auto epochs_version =
        conn->negotiated_version(protocol::api_key::offset_for_leader_epoch);
    const bool check = fetch_version(*conn) < 12 && epochs_version && *epochs_version >= 3;
    std::map<topic_partition, asked> sent;
    protocol::offset_for_leader_epoch_request request;
    request.replica_id = -1;  // a consumer, not a follower
    for (const auto& tp : list) {
      auto it = partitions.find(tp);
      if (it == partitions.end()) continue;
      auto& state = it->second;
      const auto leader_epoch = leader_epoch_of(tp);
      if (!check) {
        state.validated_leader_epoch = leader_epoch;
        state.awaiting_validation = false;
        continue;
      }
      sent[tp] = asked{state.epoch, state.fetch_offset, leader_epoch};
      if (request.topics.empty() || request.topics.back().topic != tp.topic)
        request.topics.emplace_back().topic = tp.topic;
      auto& partition = request.topics.back().partitions.emplace_back();
      partition.partition = tp.partition;
      partition.current_leader_epoch = leader_epoch;
      partition.leader_epoch = state.fetched_epoch;
    }
    if (sent.empty()) continue;
    protocol::offset_for_leader_epoch_response response;
    try {
      response = co_await conn->send(std::move(request));
    } catch (const std::exception& e) {
      if (!stopping)
        spdlog::warn("consumer: OffsetForLeaderEpoch to broker {} failed: {}", node, e.what());
      metadata_stale = true;
      continue;
    }
    for (const auto& topic : response.topics) {
      for (const auto& p : topic.partitions) {
        topic_partition tp{topic.topic, p.partition};
        auto s = sent.find(tp);
        auto it = partitions.find(tp);
        if (s == sent.end() || it == partitions.end()) continue;
        auto& state = it->second;
        if (state.epoch != s->second.epoch || state.fetch_offset != s->second.fetch_offset)
          continue;
        const auto code = static_cast<error_code>(p.error_code);
        if (code == error_code::none) {
          const auto decision = decide_on_diverging_epoch(s->second.fetch_offset, state.position,
                                                          p.leader_epoch, p.end_offset,
                                                          config.offset_reset);
          if (decision.what == truncation_decision::action::keep_fetching) {
            state.validated_leader_epoch = s->second.leader_epoch;
            state.awaiting_validation = false;
          } else {
            on_diverging_epoch(tp, state, s->second.fetch_offset, p.leader_epoch, p.end_offset,
                               "OffsetForLeaderEpoch");
            delivered = delivered || state.error.has_value();
          }
        } else if (code == error_code::unsupported_version) {
          // The broker cannot answer for this partition: fetch on unchecked.
          state.validated_leader_epoch = s->second.leader_epoch;
          state.awaiting_validation = false;
        } else if (needs_metadata(code) || is_retriable(code)) {
          // NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH (our metadata is behind),
          // UNKNOWN_LEADER_EPOCH (the broker's is): checked again after a metadata refresh.
          metadata_stale = true;
        } else {
          state.error = make_error_code(code);
          state.error_text = "validating the position of " + tp.to_string() + " (offset " +
                             std::to_string(s->second.fetch_offset) +
                             ") with OffsetForLeaderEpoch on broker " + std::to_string(node);
          delivered = true;
        }
      }
    }
  }
  fetch_wanted.notify_all();
  if (delivered) data_ready.notify_all();
}

std::int16_t consumer::impl::fetch_version(const connection& conn) const {
  const auto negotiated = conn.required_version(protocol::api_key::fetch);
  return fetch_version_cap ? std::min(negotiated, *fetch_version_cap) : negotiated;
}

void consumer::impl::decode_into(
    fetched_chunk& chunk,
    const std::optional<std::vector<protocol::fetch_response::aborted_transaction>>& aborted,
    std::int64_t fetch_offset, std::error_code& error) {
  const bool read_committed = config.isolation == isolation_level::read_committed;
  // Aborted transactions by first offset; a producer joins the aborted set when the fetch reaches
  // that offset and leaves it at its abort marker (the Java consumer's algorithm).
  std::vector<protocol::fetch_response::aborted_transaction> pending;
  if (read_committed && aborted) {
    pending = *aborted;
    std::sort(pending.begin(), pending.end(),
              [](const auto& a, const auto& b) { return a.first_offset < b.first_offset; });
  }
  std::size_t next_pending = 0;
  std::unordered_set<std::int64_t> aborted_producers;
  std::vector<std::size_t> header_begin;

  chunk.next_offset = fetch_offset;
  decoder.reset(chunk.data);
  while (const auto* header = decoder.next()) {
    if (header->next_offset() <= fetch_offset) continue;  // wholly before the position
    if (read_committed) {
      while (next_pending < pending.size() &&
             pending[next_pending].first_offset <= header->last_offset()) {
        aborted_producers.insert(pending[next_pending++].producer_id);
      }
      if (header->is_control()) {
        auto control = decoder.records();
        if (!control.empty()) {
          auto marker = records::parse_end_txn_marker(control.front());
          if (marker && marker->type == records::control_record_type::abort) {
            aborted_producers.erase(header->producer_id);
          }
        }
        chunk.next_offset = header->next_offset();
        continue;
      }
      if (header->is_transactional() && aborted_producers.contains(header->producer_id)) {
        chunk.next_offset = header->next_offset();
        continue;
      }
    } else if (header->is_control()) {
      chunk.next_offset = header->next_offset();
      continue;
    }
    auto batch_records = decoder.records();
    if (decoder.error()) break;
    // Views into a compressed batch point at the decoder's scratch buffer, reused by the next
    // batch: copy what the records reference into one buffer for the whole batch.
    const bool copy = header->codec() != records::compression::none;
    std::byte* out = nullptr;
    if (copy) {
      std::size_t total = 0;
      for (const auto& r : batch_records) {
        if (r.key) total += r.key->size();
        if (r.value) total += r.value->size();
        for (const auto& h : r.headers) total += h.key.size() + (h.value ? h.value->size() : 0);
      }
      out = chunk.owned.emplace_back(total).data();
    }
    auto keep =
        [&](std::optional<protocol::bytes_view> view) -> std::optional<protocol::bytes_view> {
      if (!view || !copy) return view;
      if (!view->empty()) std::memcpy(out, view->data(), view->size());
      protocol::bytes_view moved(out, view->size());
      out += view->size();
      return moved;
    };
    for (const auto& r : batch_records) {
      if (r.offset < fetch_offset) continue;
      consumer_record& record = chunk.records.emplace_back();
      record.topic = chunk.topic;
      record.partition = chunk.partition;
      record.offset = r.offset;
      record.timestamp = r.timestamp;
      record.timestamp_type = header->timestamps();
      record.leader_epoch = header->partition_leader_epoch;
      record.key = keep(r.key);
      record.value = keep(r.value);
      header_begin.push_back(chunk.headers.size());
      for (const auto& h : r.headers) {
        records::header_view copied;
        if (copy) {
          auto key = keep(protocol::as_bytes_view(h.key));
          copied.key = protocol::as_string_view(*key);
        } else {
          copied.key = h.key;
        }
        copied.value = keep(h.value);
        chunk.headers.push_back(copied);
      }
      chunk.bytes += (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
    }
    chunk.next_offset = header->next_offset();
  }
  error = decoder.error();
  // Header spans are fixed up last: the vector no longer moves.
  for (std::size_t i = 0; i < chunk.records.size(); ++i) {
    auto begin = header_begin[i];
    auto end = i + 1 < chunk.records.size() ? header_begin[i + 1] : chunk.headers.size();
    chunk.records[i].topic = chunk.topic;
    chunk.records[i].headers =
        std::span<const records::header_view>(chunk.headers.data() + begin, end - begin);
  }
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
        response = co_await cluster.send_to(node, std::move(request));
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
    spdlog::warn("consumer: no leader for {}; looking the position up once there is one",
                 waiting);
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
    if (self.group) close_group_connections(*self.group);
    co_await self.tasks.wait_idle(clock::time_point::max());
  }
  self.cluster.close();
  if (self.group) close_group_connections(*self.group);
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

void consumer::seek(const topic_partition& partition, std::int64_t offset) {
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

asio::awaitable<std::int64_t> consumer::position(topic_partition partition) {
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
  co_return *after.position;
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
    if (!out.empty() || clock::now() >= deadline || self.stopping) co_return out;
    co_await self.data_ready.wait(deadline);
  }
}

asio::awaitable<std::optional<consumer_record>> consumer::getone(
    std::chrono::milliseconds timeout, std::vector<topic_partition> only) {
  auto records = co_await getmany(timeout, 1, std::move(only));
  if (records.empty()) co_return std::nullopt;
  co_return std::move(records.front());
}

std::optional<std::int64_t> consumer::highwater(const topic_partition& partition) const {
  return impl_->assigned(partition, "highwater").highwater;
}

std::optional<std::int64_t> consumer::last_stable_offset(const topic_partition& partition) const {
  return impl_->assigned(partition, "last_stable_offset").last_stable_offset;
}

std::optional<std::int64_t> consumer::last_poll_timestamp(const topic_partition& partition) const {
  return impl_->assigned(partition, "last_poll_timestamp").last_fetch_ms;
}

asio::awaitable<std::map<topic_partition, std::int64_t>> consumer::beginning_offsets(
    std::vector<topic_partition> partitions) {
  std::map<topic_partition, std::int64_t> asked;
  for (const auto& tp : partitions) asked[tp] = earliest_timestamp;
  auto found = co_await impl_->list_offsets(std::move(asked), impl_->config.isolation);
  std::map<topic_partition, std::int64_t> out;
  for (const auto& [tp, at] : found) out[tp] = at.offset;
  co_return out;
}

asio::awaitable<std::map<topic_partition, std::int64_t>> consumer::end_offsets(
    std::vector<topic_partition> partitions) {
  std::map<topic_partition, std::int64_t> asked;
  for (const auto& tp : partitions) asked[tp] = latest_timestamp;
  auto found = co_await impl_->list_offsets(std::move(asked), impl_->config.isolation);
  std::map<topic_partition, std::int64_t> out;
  for (const auto& [tp, at] : found) out[tp] = at.offset;
  co_return out;
}

asio::awaitable<std::map<topic_partition, std::optional<offset_and_timestamp>>>
consumer::offsets_for_times(std::map<topic_partition, std::int64_t> timestamps) {
  for (const auto& [tp, ts] : timestamps) {
    if (ts < 0) {
      throw kafka_error(error_code::invalid_request, "offsets_for_times: timestamp " +
                                                         std::to_string(ts) + " for " +
                                                         tp.to_string() + " is negative");
    }
  }
  std::vector<topic_partition> asked;
  for (const auto& [tp, ts] : timestamps) asked.push_back(tp);
  auto found = co_await impl_->list_offsets(std::move(timestamps), impl_->config.isolation);
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

asio::awaitable<std::optional<std::set<std::int32_t>>> consumer::partitions_for_topic(
    std::string topic) {
  std::vector<std::string> one(1, topic);
  const auto* metadata = co_await impl_->cluster.refresh_metadata(std::move(one));
  const auto* info = metadata->topic(topic);
  if (info == nullptr || info->error != error_code::none) co_return std::nullopt;
  std::set<std::int32_t> out;
  for (const auto& p : info->partitions) out.insert(p.partition);
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
