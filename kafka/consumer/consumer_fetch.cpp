// The consumer's fetch path (consumer::impl, see consumer_impl.hpp): the scheduler that keeps one
// Fetch in flight per leader (or preferred read replica, KIP-392) with a bounded prefetch, the
// Fetch requests and responses (each broker's KIP-227 session is a fetch_session), the
// leader-epoch validation of positions after a leader change (KIP-320), and the decoding of fetched
// batches into records (read_committed filters aborted transactions). Positions, offsets lookups
// and the public API are in consumer.cpp. Everything runs on the consumer's executor.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_set>

#include "kafka/client/clock.hpp"
#include "kafka/consumer/consumer_impl.hpp"
#include "kafka/consumer/log_truncation.hpp"
#include "kafka/protocol/messages/fetch.hpp"
#include "kafka/protocol/messages/offset_for_leader_epoch.hpp"
#include "kafka/records/control_record.hpp"

namespace sluice::kafka {

namespace {

using clock = std::chrono::steady_clock;
using consumer_detail::needs_metadata;

// How long the scheduler sleeps when nothing wakes it (group timers are checked this often).
constexpr std::chrono::milliseconds scheduler_idle{200};
// After a failed lookup or metadata refresh.
constexpr std::chrono::milliseconds failure_backoff{500};

std::uint64_t next_fetch_id() {
  static std::uint64_t counter = 0;
  return ++counter;
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
  // What a partition looked like when the request went out: a seek (or a reassignment) since then
  // makes its answer stale.
  struct sent_partition {
    std::uint64_t epoch;
    std::int64_t fetch_offset;
  };
  const auto fetch_id = next_fetch_id();
  std::map<topic_partition, sent_partition> sent;
  fetch_session::wanted_partitions wanted;
  // Fetch v13+ names topics by id (KIP-516); responses carry the id only.
  std::map<std::array<std::uint8_t, 16>, std::string> names_by_id;
  for (const auto& tp : list) {
    auto& state = partitions.at(tp);
    state.in_flight = fetch_id;
    sent.emplace(tp, sent_partition{state.epoch, state.fetch_offset});
    fetch_session::partition_request now{.fetch_offset = state.fetch_offset,
                                         .leader_epoch = leader_epoch_of(tp),
                                         .last_fetched_epoch = state.fetched_epoch};
    if (const auto* info = cluster.metadata().topic(tp.topic)) now.topic_id = info->id;
    names_by_id.try_emplace(now.topic_id.value, tp.topic);
    wanted.insert_or_assign(tp, now);
  }
  protocol::fetch_request request;
  request.max_wait_ms = static_cast<std::int32_t>(config.fetch_max_wait.count());
  request.min_bytes = config.fetch_min_bytes;
  request.max_bytes = config.fetch_max_bytes;
  request.isolation_level = static_cast<std::int8_t>(config.isolation);
  request.rack_id = config.client_rack;
  sessions[node].fill_request(request, wanted, config.max_partition_fetch_bytes);

  auto finish = [&] {
    for (const auto& [tp, at] : sent) {
      auto it = partitions.find(tp);
      if (it != partitions.end() && it->second.in_flight == fetch_id) it->second.in_flight = 0;
    }
    nodes_fetching.erase(node);
    fetch_wanted.notify_all();
  };
  auto leave_preferred_replica = [&] {
    for (const auto& [tp, at] : sent) {
      auto it = partitions.find(tp);
      if (it != partitions.end() && it->second.preferred_read_replica == node)
        clear_preferred_replica(it->second);
    }
  };

  protocol::fetch_response response;
  try {
    auto conn = co_await cluster.connection_to(node_id{node});
    const auto version = fetch_version(*conn);
    response = co_await conn->send(std::move(request), version);
  } catch (const std::exception& e) {
    if (!stopping) spdlog::warn("consumer: fetch from broker {} failed: {}", node, e.what());
    sessions[node].reset();
    leave_preferred_replica();
    metadata_stale = true;
    finish();
    co_return;
  }
  const auto code = static_cast<error_code>(response.error_code);
  switch (sessions[node].on_response(code, response.session_id, wanted)) {
    case fetch_session::outcome::failed:
      spdlog::warn("consumer: fetch from broker {} failed: {}", node, error_name(code));
      metadata_stale = true;
      leave_preferred_replica();
      finish();
      co_return;
    case fetch_session::outcome::session_error:
      // The next fetch opens a new session.
      finish();
      co_return;
    case fetch_session::outcome::opened:
    case fetch_session::outcome::continued:
    case fetch_session::outcome::not_kept:
      break;
  }

  bool delivered = false;
  const auto received_ms = wall_clock_ms();
  for (auto& topic_response : response.responses) {
    std::string topic = topic_response.topic;
    if (topic.empty()) {
      auto named = names_by_id.find(topic_response.topic_id.value);
      if (named == names_by_id.end()) continue;
      topic = named->second;
    }
    for (auto& data : topic_response.partitions) {
      topic_partition tp{topic, data.partition_index};
      auto s = sent.find(tp);
      auto it = partitions.find(tp);
      if (s == sent.end() || it == partitions.end()) continue;
      auto& state = it->second;
      const auto fetch_offset = s->second.fetch_offset;
      if (state.epoch != s->second.epoch || state.fetch_offset != fetch_offset) continue;
      state.last_fetch_ms = received_ms;
      auto code = static_cast<error_code>(data.error_code);
      const bool from_follower = state.preferred_read_replica == node && leader_of(tp) != node;
      if (code != error_code::none && from_follower) {
        clear_preferred_replica(state);
        // A follower's log may end before the leader's high watermark (it has not caught up yet):
        // out of range there is no reason to reset; the leader decides (Java's FetchCollector).
        if (code == error_code::offset_out_of_range) {
          spdlog::info("consumer: offset {} out of range on follower {} for {}; asking the leader",
                       fetch_offset, node, tp.to_string());
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
        on_diverging_epoch(tp, state, fetch_offset, data.diverging_epoch.epoch,
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
        decode_into(*chunk, data.aborted_transactions, fetch_offset, decode_error);
        if (chunk->next_offset > fetch_offset) {
          state.fetch_offset = chunk->next_offset;
          if (!chunk->records.empty()) state.fetched_epoch = chunk->records.back().leader_epoch;
          state.queued.push_back(std::move(chunk));
          delivered = true;
        } else if (decode_error) {
          // Nothing usable before the bad batch: the application has to skip it with seek.
          state.error = make_error_code(consumer_error::corrupt_record);
          state.error_text = "corrupt record batch in " + tp.to_string() + " at offset " +
                             std::to_string(fetch_offset) + ": " + decode_error.message();
          delivered = true;
        }
        continue;
      }
      if (code == error_code::offset_out_of_range) {
        if (config.offset_reset == auto_offset_reset::none) {
          state.error = make_error_code(code);
          state.error_text = tp.to_string() + " at offset " + std::to_string(fetch_offset) +
                             " (log start " + std::to_string(data.log_start_offset) +
                             ", high watermark " + std::to_string(data.high_watermark) + ")";
          delivered = true;
        } else {
          spdlog::info("consumer: offset {} out of range for {}; resetting to {}", fetch_offset,
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
  const auto decision = decide_on_diverging_epoch(fetch_offset, state.position, epoch, end_offset,
                                                  config.offset_reset);
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
      spdlog::warn(
          "consumer: log truncation detected for {} (KIP-320); no common epoch, "
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
      conn = co_await cluster.connection_to(node_id{node});
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
          const auto decision =
              decide_on_diverging_epoch(s->second.fetch_offset, state.position, p.leader_epoch,
                                        p.end_offset, config.offset_reset);
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

}  // namespace sluice::kafka
