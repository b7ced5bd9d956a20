#include "kafka/producer/sender.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "kafka/producer/failure.hpp"
#include "kafka/protocol/messages/metadata.hpp"
#include "kafka/protocol/messages/produce.hpp"

namespace sluice::kafka {

namespace {

using protocol::api_key;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Transaction version 1 caps Produce below v12, which a Kafka 4 broker would take as version 2
// (KIP-890 part 2: the broker adds the partition to the transaction itself).
constexpr std::int16_t produce_max_transactional_v1 = 11;
constexpr std::int16_t produce_max_without_topic_ids = 12;  // v13 names topics by id (KIP-516)
constexpr std::int16_t produce_first_with_topic_ids = 13;
constexpr std::size_t per_batch_overhead = 64;
// Batches at least this long are written to the socket from their own buffers; shorter ones are
// copied into the request, where one more small buffer would cost the write more than the copy.
constexpr std::size_t borrowed_batch_size = 1024;

}  // namespace

asio::awaitable<void> sender::run() {
  while (core_.state != producer_core::phase::closed) {
    core_.wake_pending = false;
    core_.sender_due = false;
    auto next = clock::time_point::max();
    try {
      next = run_once(clock::now());
    } catch (...) {
      // A sender that stopped would leave every delivery hanging: fail loudly instead.
      core_.enter_fatal(std::current_exception());
    }
    if (core_.state == producer_core::phase::closed) break;
    if (core_.wake_pending) continue;
    core_.sleep_until = next;
    core_.sleeping = true;
    core_.wake_timer.expires_at(next);
    co_await core_.wake_timer.async_wait(use_tuple);
    core_.sleeping = false;
    core_.sleep_until = clock::time_point::max();
  }
}

// One pass of the sender: expire, start housekeeping tasks, drain ready batches into requests.
// Returns when it wants to run again at the latest.
sender::clock::time_point sender::run_once(clock::time_point now) {
  auto next = clock::time_point::max();
  if (core_.fatal) {
    outcomes_.fail_all_queued(core_.fatal);
    return next;
  }
  outcomes_.expire(now, next);

  if (core_.metadata_needed && !metadata_refreshing_) {
    if (now >= metadata_not_before_) {
      core_.metadata_needed = false;
      metadata_refreshing_ = true;
      core_.spawn("metadata refresh", refresh_metadata());
    } else {
      next = std::min(next, metadata_not_before_);
    }
  }
  if (core_.txn.enabled()) {
    auto to_add = core_.txn.take_partitions_to_add();
    if (!to_add.empty()) core_.spawn("AddPartitionsToTxn", add_partitions(std::move(to_add)));
  }
  if (core_.ids.epoch_bump_needed()) {
    // KIP-360: bump once nothing stamped with the old epoch is in flight any more.
    if (core_.ids.start_epoch_bump(batches_in_flight_)) core_.spawn("epoch bump", bump_epoch());
    return next;
  }
  if (core_.ids.enabled() && !core_.ids.has_producer_id()) return next;
  drain(now, next);
  return next;
}

bool sender::sendable(const partition_queue& queue, clock::time_point now,
                      clock::time_point& next) const {
  if (queue.batches.empty()) return false;
  if (!core_.ids.in_flight_allows(queue)) return false;
  if (core_.txn.enabled() && !queue.in_transaction) return false;
  const auto& head = *queue.batches.front();
  if (head.retry_after > now) {
    next = std::min(next, head.retry_after);
    return false;
  }
  if (core_.accumulator.full(queue) || core_.forced() || head.attempts > 0) return true;
  const auto due = head.created + core_.config.linger;
  if (now >= due) return true;
  next = std::min(next, due);
  return false;
}

void sender::drain(clock::time_point now, clock::time_point& next) {
  // Nothing new goes out while a transaction is being aborted.
  if (core_.txn.enabled() && core_.txn.phase() == transaction_phase::aborting) return;
  std::map<std::int32_t, std::vector<partition_queue*>> by_leader;
  for (auto& [name, topic] : core_.accumulator.topics()) {
    for (auto& queue : topic->partitions) {
      if (queue.batches.empty()) continue;
      if (queue.leader < 0) {
        core_.metadata_needed = true;
        continue;
      }
      if (sendable(queue, now, next)) by_leader[queue.leader].push_back(&queue);
    }
  }
  // A refresh to start: come back when it may (a running one wakes the sender when done).
  if (core_.metadata_needed && !metadata_refreshing_)
    next = std::min(next, std::max(now, metadata_not_before_));
  ++drain_rotation_;
  for (auto& [node, queues] : by_leader) {
    auto& target = sinks_[node];
    if (!target.conn || !target.conn->is_open()) {
      if (!target.connecting) {
        target.connecting = true;
        core_.spawn("connect", connect(node));
      }
      continue;
    }
    while (target.in_flight < core_.config.max_in_flight_requests_per_connection) {
      auto taken = take_request(queues, now);
      if (taken.empty()) break;
      ++target.in_flight;
      batches_in_flight_ += static_cast<int>(taken.size());
      core_.spawn("produce", produce(node, target.conn, std::move(taken)));
    }
  }
}

sender::batches sender::take_request(std::vector<partition_queue*>& queues, clock::time_point now) {
  batches taken;
  std::size_t bytes = produce_request_overhead;
  for (std::size_t i = 0; i < queues.size(); ++i) {
    auto& queue = *queues[(i + drain_rotation_) % queues.size()];
    auto ignored = clock::time_point::max();
    if (!sendable(queue, now, ignored)) continue;
    auto& head = *queue.batches.front();
    if (!prepare(head)) continue;
    const auto size = head.encoded->size();
    if (!taken.empty() && bytes + size + per_batch_overhead > core_.config.max_request_size)
      continue;
    bytes += size + per_batch_overhead;
    auto batch = std::move(queue.batches.front());
    queue.batches.pop_front();
    mark_in_flight(*batch);
    ++batch->attempts;
    taken.push_back(std::move(batch));
  }
  return taken;
}

// Stamps the producer id, epoch and sequence (once per epoch) and encodes the batch (once), so a
// retry sends identical bytes. A batch stamped again after an epoch bump keeps its records and
// gets the new header in place. False if the batch failed to encode.
bool sender::prepare(producer_batch& batch) {
  const bool stamped = core_.ids.stamp(batch);
  if (batch.encoded != nullptr) {
    if (stamped) {
      // A request that timed out may still hold the old bytes in its connection's queue.
      if (batch.encoded.use_count() > 1)
        batch.encoded = std::make_shared<protocol::bytes>(*batch.encoded);
      records::restamp_record_batch(*batch.encoded, batch.producer_id, batch.producer_epoch,
                                    batch.base_sequence);
    }
    return true;
  }
  auto& queue = *batch.queue;
  auto& buffers = core_.accumulator.buffers();
  // An uncompressed batch is finished in its own buffer; a compressed one needs a second.
  auto encoded = std::make_shared<protocol::bytes>(
      batch.builder.options().codec == records::compression::none ? protocol::bytes{}
                                                                  : buffers.acquire());
  if (auto error = batch.builder.finish_into(*encoded); error) {
    auto failed = std::move(queue.batches.front());
    queue.batches.pop_front();
    outcomes_.fail(std::move(failed),
                   std::make_exception_ptr(
                       kafka_error(error, "encode the batch for " + partition_name(queue), false)));
    return false;
  }
  // The records are in `encoded` now (compressed, or the very buffer they were appended to).
  buffers.give_back(batch.builder.release_buffer());
  batch.encoded = std::move(encoded);
  if (batch.attempts == 0) {
    core_.accumulator.observe_compression(*batch.topic, batch.builder.estimated_size(),
                                          batch.encoded->size());
  }
  return true;
}

asio::awaitable<void> sender::connect(std::int32_t node) {
  bool failed = false;
  try {
    auto conn = co_await core_.net.connection_to(node_id{node});
    sinks_[node].conn = std::move(conn);
  } catch (const std::exception& e) {
    spdlog::warn("producer: cannot connect to broker {}: {}", node, e.what());
    // The broker may be gone for good; the partitions may have moved.
    core_.metadata_needed = true;
    failed = true;
  }
  if (failed) {
    asio::steady_timer pause(core_.executor, core_.config.retry_backoff);
    co_await pause.async_wait(use_tuple);
  }
  sinks_[node].connecting = false;
  core_.wake();
}

asio::awaitable<void> sender::refresh_metadata() {
  std::vector<std::string> names;
  for (const auto& [name, topic] : core_.accumulator.topics()) names.push_back(name);
  try {
    const auto* metadata = co_await core_.net.refresh_metadata(std::move(names));
    for (const auto& [name, topic] : metadata->topics) {
      if (core_.accumulator.find(name) != nullptr && !topic.partitions.empty())
        core_.accumulator.update(topic);
    }
  } catch (const std::exception& e) {
    spdlog::warn("producer: metadata refresh failed: {}", e.what());
    core_.metadata_needed = true;
  }
  metadata_not_before_ = clock::now() + core_.config.retry_backoff;
  metadata_refreshing_ = false;
  core_.wake();
}

std::int16_t sender::produce_version(const connection& conn, const batches& taken) const {
  auto version = conn.required_version(api_key::produce);
  if (core_.txn.enabled() && core_.txn.version() < transaction_version_2)
    version = std::min(version, produce_max_transactional_v1);
  for (const auto& batch : taken) {
    if (batch->topic->info.id.is_zero()) version = std::min(version, produce_max_without_topic_ids);
  }
  return version;
}

void sender::finish_request(std::int32_t node, std::size_t batch_count) {
  --sinks_[node].in_flight;
  batches_in_flight_ -= static_cast<int>(batch_count);
}

asio::awaitable<void> sender::produce(std::int32_t node, std::shared_ptr<connection> conn,
                                      batches taken) {
  const auto& config = core_.config;
  std::string transport_error;
  connection::raw_reply reply;
  std::int16_t version = 0;
  try {
    version = produce_version(*conn, taken);
    protocol::produce_request request;
    request.acks = static_cast<std::int16_t>(config.acks);
    request.timeout_ms = static_cast<std::int32_t>(config.request_timeout.count());
    if (core_.txn.enabled()) request.transactional_id = config.transactional_id;
    // One entry per topic; `slots` remembers where each batch went. The batch bytes move into
    // the request for encoding and straight back (the same allocation), so a retry has them; the
    // request borrows them rather than copying them, and the connection keeps them alive until
    // they are written.
    std::vector<std::pair<std::size_t, std::size_t>> slots;
    slots.reserve(taken.size());
    auto kept = std::make_shared<std::vector<std::shared_ptr<protocol::bytes>>>();
    kept->reserve(taken.size());
    for (auto& batch : taken) {
      std::size_t t = 0;
      while (t < request.topic_data.size() && request.topic_data[t].name != *batch->topic->name)
        ++t;
      if (t == request.topic_data.size()) {
        request.topic_data.push_back(
            {.name = *batch->topic->name, .topic_id = batch->topic->info.id});
      }
      auto& partitions = request.topic_data[t].partition_data;
      slots.emplace_back(t, partitions.size());
      partitions.push_back(
          {.index = batch->queue->partition, .records = std::move(*batch->encoded)});
      kept->push_back(batch->encoded);
    }
    connection::request_body body;
    protocol::writer out(body.bytes, body.borrowed, borrowed_batch_size);
    request.encode(out, version);
    for (std::size_t i = 0; i < taken.size(); ++i) {
      auto& records = request.topic_data[slots[i].first].partition_data[slots[i].second].records;
      *taken[i]->encoded = std::move(*records);
    }
    body.keep_alive = std::move(kept);
    auto& statistics = core_.statistics;
    ++statistics.requests;  // a retry counts again: these are what went on the wire
    for (const auto& batch : taken) {
      ++statistics.batches;
      statistics.records += static_cast<std::uint64_t>(batch->builder.record_count());
      statistics.batch_bytes += batch->encoded->size();
    }
    reply = co_await conn->round_trip(api_key::produce, version, std::move(body),
                                      config.acks != acks::none);
  } catch (const kafka_error& e) {
    transport_error = e.what();
    if (!e.retriable()) {
      // E.g. no common Produce version: no retry will help.
      auto failure = std::make_exception_ptr(e);
      finish_request(node, taken.size());
      for (auto& batch : taken) outcomes_.fail(std::move(batch), failure);
      core_.wake();
      co_return;
    }
  }
  const auto now = clock::now();
  if (!transport_error.empty()) {
    // The request may or may not have been written (ambiguous); only idempotence makes the
    // retry safe from duplicates.
    finish_request(node, taken.size());
    for (auto& batch : taken)
      outcomes_.retry_or_fail(std::move(batch), transport_error, now, false);
  } else if (config.acks == acks::none) {
    finish_request(node, taken.size());
    for (auto& batch : taken) outcomes_.complete(std::move(batch), -1, -1);
  } else {
    handle_response(node, version, reply, std::move(taken), now);
  }
  core_.wake();
}

void sender::handle_response(std::int32_t node, std::int16_t version,
                             const connection::raw_reply& reply, batches taken,
                             clock::time_point now) {
  protocol::produce_response response;
  protocol::reader in(protocol::bytes_view(reply.frame).subspan(reply.body_offset));
  response.decode(in, version);
  finish_request(node, taken.size());
  if (!in.ok()) {
    const auto why = "decode Produce v" + std::to_string(version) + " response from broker " +
                     std::to_string(node) + ": " + protocol::to_string(in.error());
    for (auto& batch : taken) outcomes_.retry_or_fail(std::move(batch), why, now, false);
    return;
  }
  for (auto& batch : taken) {
    const protocol::produce_response::partition_produce_response* answer = nullptr;
    for (const auto& topic : response.responses) {
      const bool same = version >= produce_first_with_topic_ids
                            ? topic.topic_id == batch->topic->info.id
                            : topic.name == *batch->topic->name;
      if (!same) continue;
      for (const auto& partition : topic.partition_responses) {
        if (partition.index == batch->queue->partition) answer = &partition;
      }
    }
    if (answer == nullptr) {
      outcomes_.retry_or_fail(
          std::move(batch), "broker " + std::to_string(node) + " did not answer for the partition",
          now, false);
      continue;
    }
    outcomes_.answered(std::move(batch), *answer, node, now);
  }
}

asio::awaitable<void> sender::write_barrier() {
  std::vector<std::shared_ptr<connection>> open;
  for (auto& [node, target] : sinks_) {
    if (target.conn && target.conn->is_open()) open.push_back(target.conn);
  }
  for (auto& conn : open) {
    try {
      protocol::metadata_request request;
      request.topics.emplace();  // brokers only: the cheapest answered request
      co_await conn->send(std::move(request));
    } catch (const std::exception& e) {
      spdlog::warn("producer: acks=0 flush barrier to {} failed: {}", conn->address().to_string(),
                   e.what());
    }
  }
}

void sender::close_connections() {
  for (auto& [node, target] : sinks_) {
    if (target.conn) target.conn->close();
  }
}

asio::awaitable<void> sender::bump_epoch() {
  bool bumped = false;
  try {
    const auto before = core_.ids.producer_epoch();
    // (InitProducerId without a transactional id would hand out a new producer id, so it is
    // asked only when the epoch ran out.)
    if (!core_.ids.bump_epoch_locally())
      co_await core_.init_idempotent_id(clock::now() + core_.config.max_block);
    spdlog::info("producer: epoch bumped from {} to {} (producer id {})", before,
                 core_.ids.producer_epoch(), core_.ids.producer_id());
    idempotence::reset_sequences(core_.accumulator);
    bumped = true;
  } catch (const std::exception&) {
    core_.enter_fatal(std::current_exception());
  }
  core_.ids.end_epoch_bump(bumped);
  core_.wake();
}

asio::awaitable<void> sender::add_partitions(std::vector<partition_queue*> queues) {
  try {
    co_await transactions_.add_partitions(queues, clock::now() + core_.config.max_block);
  } catch (const std::exception&) {
    auto failure = std::current_exception();
    core_.txn.enter_abortable(failure);
    // Their batches can never be sent in this transaction.
    for (auto* queue : queues) {
      queue->transaction_pending = false;
      while (!queue->batches.empty()) {
        auto batch = std::move(queue->batches.front());
        queue->batches.pop_front();
        outcomes_.fail(std::move(batch), failure);
      }
    }
  }
  core_.txn.adding_done();
  core_.wake();
  core_.notify_progress();
}

}  // namespace sluice::kafka
