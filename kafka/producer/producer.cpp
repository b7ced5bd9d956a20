#include "kafka/producer/producer.hpp"

#include "kafka/client/clock.hpp"
#include "kafka/client/cluster.hpp"
#include "kafka/client/task_group.hpp"
#include "kafka/client/wakeup.hpp"
#include "kafka/producer/batch_state.hpp"
#include "kafka/producer/partitioner.hpp"
#include "kafka/producer/record_accumulator.hpp"
#include "kafka/protocol/messages/add_offsets_to_txn.hpp"
#include "kafka/protocol/messages/add_partitions_to_txn.hpp"
#include "kafka/protocol/messages/api_versions.hpp"
#include "kafka/protocol/messages/end_txn.hpp"
#include "kafka/protocol/messages/init_producer_id.hpp"
#include "kafka/protocol/messages/metadata.hpp"
#include "kafka/protocol/messages/produce.hpp"
#include "kafka/protocol/messages/txn_offset_commit.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <limits>
#include <map>

// How the sender keeps its promises (the rules a change here must not break):
//
// - Order per partition. Batches leave a partition's queue from the front, one per partition per
//   ProduceRequest, and requests to one broker go out on one connection in the order they were
//   built (Kafka answers a connection in order). A batch that must be retried goes back to the
//   front by its open order, and nothing more is sent for the partition until every batch still in
//   flight for it has come back (`retrying`), so the retry is written before what followed it.
// - Idempotence (KIP-98). A batch gets its producer id, epoch and sequence when first drained and
//   keeps them (and its encoded bytes) across retries; the broker drops a resent duplicate. Until
//   the broker acknowledged one batch of the current epoch on a partition, only one batch is in
//   flight there, because a broker without state for the producer accepts any first sequence.
// - Sequence gaps (KIP-360). OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID for the first
//   unacknowledged batch of a partition, or a stamped batch that fails for good, means the broker
//   and the producer disagree: the sender stops draining, waits until nothing is in flight, bumps
//   the epoch (locally for an idempotent producer; on abort for a transactional one), restarts
//   every partition at sequence 0 and resends what was not acknowledged, in order.
// - Transactions use version 2 (KIP-890 part 2) when the cluster finalized transaction.version 2,
//   else version 1 (see below). Version 1 adds partitions explicitly (AddPartitionsToTxn, batched
//   per sender pass) and a batch of a partition not yet added waits; version 2 sends at once and
//   Produce v12+ adds the partition on the broker. Fencing errors are fatal, any other failed
//   batch makes the transaction abortable. Nothing is sent while a transaction aborts.
// - Nothing hangs: every batch ends within delivery_timeout (or stop()'s timeout), every
//   transactional call within max_block, and batches coming back after stop() fail at once.

namespace sluice::kafka {

namespace {

using clock = producer_clock;
using protocol::api_key;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Transaction version 1 (KIP-98 with KIP-447 and KIP-890 part 1): explicit AddPartitionsToTxn
// and AddOffsetsToTxn, and EndTxn without the per-transaction epoch bump. These caps keep a
// Kafka 4 broker from treating our requests as version 2 (KIP-890 part 2), exactly as the Java
// client does when transaction.version 2 is not in use. Version 2 lifts them: Produce v12+ and
// TxnOffsetCommit v5+ add their partition to the transaction on the broker, and EndTxn v5+
// answers with the bumped epoch the next transaction uses.
constexpr std::int16_t produce_max_transactional_v1 = 11;
constexpr std::int16_t produce_min_transactional_v2 = 12;
constexpr std::int16_t end_txn_min_v2 = 5;
constexpr std::int16_t txn_offset_commit_min_v2 = 5;
constexpr const char* transaction_version_feature = "transaction.version";
constexpr int transaction_version_2 = 2;
constexpr std::int16_t produce_max_without_topic_ids = 12;  // v13 names topics by id (KIP-516)
constexpr std::int16_t add_partitions_max_client = 3;       // v4+ are broker-to-broker only
constexpr std::int16_t end_txn_max_v1 = 4;
constexpr std::int16_t txn_offset_commit_max_v1 = 4;
constexpr std::int16_t init_producer_id_max = 5;       // v6 is two-phase commit (KIP-939)
constexpr std::int16_t init_producer_id_bump_min = 3;  // producer id and epoch in the request
// The Java client retries AddPartitionsToTxn on CONCURRENT_TRANSACTIONS after 20 ms rather than
// retry.backoff.ms: the previous transaction is usually just finishing.
constexpr std::chrono::milliseconds concurrent_transactions_backoff{20};
// Space for the ProduceRequest framing around the batches (header, topic names, partition
// entries) when keeping a request under max.request.size.
constexpr std::size_t request_overhead = 512;
constexpr std::size_t per_batch_overhead = 64;

std::string where(const topic_queue& topic, std::int32_t partition) {
  return *topic.name + "-" + std::to_string(partition);
}

[[noreturn]] void throw_state(const std::string& what) {
  throw kafka_error(error_code::invalid_txn_state, what);
}

// Java's DefaultRecordBatch.incrementSequence: sequences wrap to 0 after INT32_MAX.
std::int32_t increment_sequence(std::int32_t sequence, std::int32_t increment) {
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1;
  return sequence + increment;
}

std::exception_ptr make_failure(error_code code, const std::string& what) {
  return std::make_exception_ptr(kafka_error(code, what));
}

std::string describe(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown failure";
  }
}

}  // namespace

// Everything of one producer. Shared with its background coroutines (sender loop, requests,
// metadata refreshes, connects), which hold a reference while they run.
//
// Threading: the single-threaded executor given to the producer.
struct producer::impl : std::enable_shared_from_this<impl> {
  enum class phase : std::uint8_t { created, starting, running, closing, closed };
  enum class txn_state : std::uint8_t {
    ready,
    in_transaction,
    committing,
    aborting,
    abortable_error
  };

  producer_statistics statistics;

  struct sink {
    std::shared_ptr<connection> conn;
    bool connecting = false;
    int in_flight = 0;
  };

  impl(const asio::any_io_executor& executor_, producer_config config_)
      : executor(executor_),
        config(std::move(config_)),
        idempotent(config.idempotent()),
        transactional(config.transactional()),
        net(executor_, static_cast<const client_config&>(config)),
        accumulator(executor_,
                    accumulator_options{config.batch_size, config.buffer_memory, config.compression,
                                        config.compression_level,
                                        config.transactional(),
                                        config.max_request_size > request_overhead
                                            ? config.max_request_size - request_overhead
                                            : config.max_request_size}),
        wake_timer(executor_),
        progress(executor_),
        tasks(executor_, "producer") {}

  asio::any_io_executor executor;
  producer_config config;
  const bool idempotent;
  const bool transactional;
  cluster net;
  record_accumulator accumulator;

  phase state = phase::created;
  // Set when the producer cannot go on (fenced, not authorised); every call then throws it.
  std::exception_ptr fatal;

  // Idempotence (KIP-98) and epoch bumps (KIP-360).
  std::int64_t producer_id = records::no_producer_id;
  std::int16_t producer_epoch = records::no_producer_epoch;
  bool epoch_bump_needed = false;
  bool epoch_bumping = false;

  // The sender loop sleeps on wake_timer until the next linger/backoff deadline or a wake().
  asio::steady_timer wake_timer;
  bool sleeping = false;
  bool wake_pending = false;
  // The sender was woken and has not run since. The sender shares the executor with the caller,
  // so a caller queueing records in a loop that never suspends (try_send()) would keep it, and
  // the connections' reads, from running until buffer_memory is full (32 MB: a whole benchmark
  // run of 100 B records was queued before the first ProduceRequest left). Sends then come in
  // bursts, the broker idle while the buffer fills and the caller idle while it drains. So while
  // the sender is due, try_send() declines and send() yields once before queueing: the sender
  // runs once per full batch, overlapping the caller's work with the network.
  bool sender_due = false;
  clock::time_point sleep_until = clock::time_point::max();
  std::map<std::int32_t, sink> sinks;
  int batches_in_flight = 0;
  bool metadata_needed = false;
  bool metadata_refreshing = false;
  clock::time_point metadata_not_before{};
  int flushing = 0;
  int buffer_waiters = 0;
  std::size_t drain_rotation = 0;
  // Woken whenever a batch finishes: send() waiting for buffer memory, stop() and
  // abort_transaction() waiting for in-flight batches.
  wakeup progress;

  // Background coroutines, counted so that stop() can wait for them.
  task_group tasks;

  // Transactions.
  txn_state txn = txn_state::ready;
  std::exception_ptr txn_error;  // why the transaction must be aborted
  std::vector<partition_queue*> txn_pending;
  bool txn_adding = false;
  std::vector<partition_queue*> txn_partitions;
  bool txn_offsets_added = false;
  bool txn_bump_on_abort = false;
  std::int32_t txn_coordinator = -1;
  // The transaction protocol in use (1 or 2, KIP-890 part 2), decided at start(); 0 when not
  // transactional. Capped by limit_transaction_version_for_testing.
  int txn_version = 0;
  int txn_version_limit = transaction_version_2;

  // --- background tasks -------------------------------------------------------------------

  // The frame of a spawned task: `owner` lives as long as the task runs.
  static asio::awaitable<void> owned_task(std::shared_ptr<impl> owner, asio::awaitable<void> task) {
    co_await std::move(task);
    (void)owner;
  }

  void spawn(const char* name, asio::awaitable<void> task) {
    tasks.spawn(name, owned_task(shared_from_this(), std::move(task)));
  }

  void wake() {
    sender_due = true;
    if (sleeping) {
      sleeping = false;
      wake_timer.cancel();
    } else {
      wake_pending = true;
    }
  }

  void notify_progress() { progress.notify_all(); }

  // Waits until the next progress notification or the deadline.
  asio::awaitable<void> wait_progress(clock::time_point deadline) { co_await progress.wait(deadline); }

  // --- checks -------------------------------------------------------------------------------

  void check_usable(const char* what) const {
    if (fatal) {
      throw kafka_error(error_code::producer_fenced,
                        std::string(what) + ": the producer failed fatally and must be stopped: " +
                            describe(fatal));
    }
    if (state == phase::created || state == phase::starting) {
      throw kafka_error(make_error_code(net_error::bad_configuration),
                        std::string(what) + ": the producer is not started (call start() first)",
                        false);
    }
    if (state != phase::running) {
      throw kafka_error(make_error_code(net_error::connection_closed),
                        std::string(what) + ": the producer is stopped", false);
    }
  }

  void check_can_send(std::string_view topic) const {
    check_usable("send");
    if (!transactional) return;
    if (txn == txn_state::abortable_error) {
      throw kafka_error(
          error_code::transaction_abortable,
          "send to '" + std::string(topic) +
              "': the transaction failed and must be aborted: " + describe(txn_error));
    }
    if (txn != txn_state::in_transaction) {
      throw_state("send to '" + std::string(topic) +
                  "': a transactional producer sends only inside a transaction " +
                  "(call begin_transaction() first)");
    }
  }

  // --- send ---------------------------------------------------------------------------------

  std::int32_t choose_partition(topic_queue& topic, std::optional<std::int32_t> partition,
                                std::optional<protocol::bytes_view> key,
                                std::optional<protocol::bytes_view> value, std::size_t size) {
    const auto count = static_cast<std::int32_t>(topic.partitions.size());
    if (partition) {
      if (*partition < 0 || *partition >= count) {
        throw kafka_error(error_code::unknown_topic_or_partition,
                          "send to topic '" + *topic.name + "': partition " +
                              std::to_string(*partition) + " does not exist (the topic has " +
                              std::to_string(count) + " partitions)");
      }
      return *partition;
    }
    if (config.partitioner) {
      const auto chosen = config.partitioner->partition(topic.info, key, value);
      if (chosen < 0 || chosen >= count) {
        throw kafka_error(error_code::unknown_topic_or_partition,
                          "send to topic '" + *topic.name + "': the partitioner chose partition " +
                              std::to_string(chosen) + " of " + std::to_string(count));
      }
      return chosen;
    }
    if (key && !config.partitioner_ignore_keys) return partition_for_key(*key, count);
    return topic.sticky.next(topic.info, accumulator.estimated_record_bytes(topic, size),
                             config.batch_size);
  }

  void check_size(std::string_view topic, std::size_t size) const {
    if (size > config.max_request_size || size > config.buffer_memory) {
      throw kafka_error(error_code::message_too_large,
                        "send to '" + std::string(topic) + "': the record is about " +
                            std::to_string(size) + " bytes, more than max_request_size (" +
                            std::to_string(config.max_request_size) + ") or buffer_memory (" +
                            std::to_string(config.buffer_memory) + ")");
    }
  }

  delivery append(topic_queue& topic, std::optional<std::int32_t> partition,
                  std::optional<std::int64_t> timestamp, std::optional<protocol::bytes_view> key,
                  std::optional<protocol::bytes_view> value,
                  std::span<const records::header_view> headers, std::size_t size) {
    const auto chosen = choose_partition(topic, partition, key, value, size);
    auto& queue = topic.partitions[static_cast<std::size_t>(chosen)];
    auto result = accumulator.append(topic, queue, timestamp ? *timestamp : wall_clock_ms(), key, value,
                                     headers, size);
    if (!join_transaction(queue) &&
        (result.batch_full || buffer_waiters > 0 ||
         (result.new_batch && result.created + config.linger < sleep_until))) {
      wake();
    }
    return std::move(result.handle);
  }

  // A transactional producer adds the partition to the transaction before its first batch goes
  // out. True if that woke the sender.
  bool join_transaction(partition_queue& queue) {
    if (!transactional || queue.in_transaction || queue.transaction_pending) return false;
    if (txn_version >= transaction_version_2) {
      // KIP-890 part 2: the broker adds the partition when the first Produce (v12+) of the
      // transaction arrives. The producer only notes that EndTxn is now due (Java marks the
      // transaction started on append too; the coordinator accepts ending it even if no Produce
      // got through).
      queue.in_transaction = true;
      txn_partitions.push_back(&queue);
      return false;
    }
    queue.transaction_pending = true;
    txn_pending.push_back(&queue);
    wake();
    return true;
  }

  // The topic's queue, waiting (up to the deadline) for its metadata.
  asio::awaitable<topic_queue*> wait_for_topic(std::string name, clock::time_point deadline) {
    std::string last_error = "the topic is not in the cluster's metadata";
    for (;;) {
      try {
        const auto* info = co_await net.topic(name);
        if (info != nullptr && !info->partitions.empty()) co_return &accumulator.update(*info);
        if (info != nullptr && info->error != error_code::none)
          last_error = error_name(info->error);
      } catch (const kafka_error& e) {
        if (!e.retriable()) throw;
        last_error = e.what();
      }
      if (clock::now() + config.retry_backoff > deadline) {
        throw kafka_error(error_code::unknown_topic_or_partition,
                          "send to '" + name + "': no metadata for the topic after max_block (" +
                              std::to_string(config.max_block.count()) + " ms): " + last_error +
                              " (the producer does not create topics)");
      }
      asio::steady_timer pause(executor, config.retry_backoff);
      co_await pause.async_wait(use_tuple);
      // Force a fresh look instead of the cached miss.
      std::vector<std::string> wanted(1, name);
      try {
        co_await net.refresh_metadata(std::move(wanted));
      } catch (const kafka_error& e) {
        if (!e.retriable()) throw;
        last_error = e.what();
      }
    }
  }

  asio::awaitable<void> wait_for_room(std::string topic, std::size_t size,
                                      clock::time_point deadline) {
    ++buffer_waiters;
    wake();  // everything queued becomes sendable, to free memory sooner
    while (!accumulator.has_room(size) && clock::now() < deadline && state == phase::running &&
           !fatal) {
      co_await wait_progress(deadline);
    }
    --buffer_waiters;
    if (!accumulator.has_room(size)) {
      check_usable("send");
      throw kafka_error(
          error_code::request_timed_out,
          "send to '" + topic + "': buffer_memory (" + std::to_string(config.buffer_memory) +
              " bytes) stayed full for max_block (" + std::to_string(config.max_block.count()) +
              " ms): records are produced faster than the brokers take them");
    }
  }

  // --- the sender ---------------------------------------------------------------------------

  asio::awaitable<void> sender_loop(std::shared_ptr<impl> self) {
    while (state != phase::closed) {
      wake_pending = false;
      sender_due = false;
      auto next = clock::time_point::max();
      try {
        next = run_once(clock::now());
      } catch (...) {
        // A sender that stopped would leave every delivery hanging: fail loudly instead.
        enter_fatal(std::current_exception());
      }
      if (state == phase::closed) break;
      if (wake_pending) continue;
      sleep_until = next;
      sleeping = true;
      wake_timer.expires_at(next);
      co_await wake_timer.async_wait(use_tuple);
      sleeping = false;
      sleep_until = clock::time_point::max();
    }
    (void)self;
  }

  // One pass of the sender: expire, start housekeeping tasks, drain ready batches into requests.
  // Returns when it wants to run again at the latest.
  clock::time_point run_once(clock::time_point now) {
    auto next = clock::time_point::max();
    if (fatal) {
      fail_all_queued(fatal);
      return next;
    }
    expire(now, next);

    if (metadata_needed && !metadata_refreshing) {
      if (now >= metadata_not_before) {
        metadata_needed = false;
        metadata_refreshing = true;
        spawn("metadata refresh", refresh_metadata_task(shared_from_this()));
      } else {
        next = std::min(next, metadata_not_before);
      }
    }
    if (transactional && !txn_pending.empty() && !txn_adding &&
        (txn == txn_state::in_transaction || txn == txn_state::committing)) {
      txn_adding = true;
      auto pending = std::move(txn_pending);
      txn_pending.clear();
      spawn("AddPartitionsToTxn", add_partitions_task(shared_from_this(), std::move(pending)));
    }
    if (epoch_bump_needed) {
      // KIP-360: bump once nothing stamped with the old epoch is in flight any more.
      if (batches_in_flight == 0 && !epoch_bumping) {
        epoch_bumping = true;
        spawn("epoch bump", bump_epoch_task(shared_from_this()));
      }
      return next;
    }
    if (idempotent && producer_id < 0) return next;
    drain(now, next);
    return next;
  }

  bool forced() const { return flushing > 0 || buffer_waiters > 0 || state == phase::closing; }

  bool sendable(const partition_queue& queue, clock::time_point now,
                clock::time_point& next) const {
    if (queue.batches.empty()) return false;
    if (queue.retrying && !queue.in_flight.empty()) return false;
    if (idempotent && !queue.sequence_confirmed && !queue.in_flight.empty()) return false;
    if (transactional && !queue.in_transaction) return false;
    const auto& head = *queue.batches.front();
    if (head.retry_after > now) {
      next = std::min(next, head.retry_after);
      return false;
    }
    if (accumulator.full(queue) || forced() || head.attempts > 0) return true;
    const auto due = head.created + config.linger;
    if (now >= due) return true;
    next = std::min(next, due);
    return false;
  }

  void drain(clock::time_point now, clock::time_point& next) {
    // Nothing new goes out while a transaction is being aborted.
    if (transactional && txn == txn_state::aborting) return;
    std::map<std::int32_t, std::vector<partition_queue*>> by_leader;
    for (auto& [name, topic] : accumulator.topics()) {
      for (auto& queue : topic->partitions) {
        if (queue.batches.empty()) continue;
        if (queue.leader < 0) {
          metadata_needed = true;
          continue;
        }
        if (sendable(queue, now, next)) by_leader[queue.leader].push_back(&queue);
      }
    }
    // A refresh to start: come back when it may (a running one wakes the sender when done).
    if (metadata_needed && !metadata_refreshing)
      next = std::min(next, std::max(now, metadata_not_before));
    ++drain_rotation;
    for (auto& [node, queues] : by_leader) {
      auto& target = sinks[node];
      if (!target.conn || !target.conn->is_open()) {
        if (!target.connecting) {
          target.connecting = true;
          spawn("connect", connect_task(shared_from_this(), node));
        }
        continue;
      }
      while (target.in_flight < config.max_in_flight_requests_per_connection) {
        std::vector<std::unique_ptr<producer_batch>> taken;
        std::size_t bytes = request_overhead;
        for (std::size_t i = 0; i < queues.size(); ++i) {
          auto& queue = *queues[(i + drain_rotation) % queues.size()];
          auto ignored = next;
          if (!sendable(queue, now, ignored)) continue;
          auto& head = *queue.batches.front();
          if (!prepare(head)) continue;
          if (!taken.empty() &&
              bytes + head.built.size() + per_batch_overhead > config.max_request_size)
            continue;
          bytes += head.built.size() + per_batch_overhead;
          auto batch = std::move(queue.batches.front());
          queue.batches.pop_front();
          queue.in_flight.push_back(batch.get());
          ++batch->attempts;
          taken.push_back(std::move(batch));
        }
        if (taken.empty()) break;
        ++target.in_flight;
        batches_in_flight += static_cast<int>(taken.size());
        spawn("produce", send_produce(shared_from_this(), node, target.conn, std::move(taken)));
      }
    }
  }

  // Stamps the producer id, epoch and sequence (once per epoch) and encodes the batch (once per
  // stamp), so a retry sends identical bytes. False if the batch failed to encode.
  bool prepare(producer_batch& batch) {
    auto& queue = *batch.queue;
    if (idempotent && (!batch.stamped || batch.producer_id != producer_id ||
                       batch.producer_epoch != producer_epoch)) {
      batch.producer_id = producer_id;
      batch.producer_epoch = producer_epoch;
      batch.base_sequence = queue.next_sequence;
      batch.builder.set_producer_state(producer_id, producer_epoch, queue.next_sequence);
      queue.next_sequence = increment_sequence(queue.next_sequence, batch.builder.record_count());
      batch.stamped = true;
      batch.built.clear();
    }
    if (!batch.built.empty()) return true;
    if (auto error = batch.builder.build_to(batch.built); !error) {
      if (batch.attempts == 0)
        accumulator.observe_compression(*batch.topic, batch.builder.estimated_size(),
                                        batch.built.size());
    } else {
      auto failed = std::move(queue.batches.front());
      queue.batches.pop_front();
      fail_batch(
          std::move(failed),
          std::make_exception_ptr(kafka_error(
              error, "encode the batch for " + where(*queue.topic, queue.partition), false)));
      return false;
    }
    return true;
  }

  void expire(clock::time_point now, clock::time_point& next) {
    for (auto& [name, topic] : accumulator.topics()) {
      for (auto& queue : topic->partitions) {
        while (!queue.batches.empty()) {
          auto& head = *queue.batches.front();
          const auto due = head.created + config.delivery_timeout;
          if (now < due) {
            next = std::min(next, due);
            break;
          }
          auto batch = std::move(queue.batches.front());
          queue.batches.pop_front();
          const auto what =
              "deliver " + std::to_string(batch->builder.record_count()) + " records to " +
              where(*topic, queue.partition) + ": delivery_timeout (" +
              std::to_string(config.delivery_timeout.count()) + " ms) expired after " +
              std::to_string(batch->attempts) + " attempts" +
              (batch->last_error.empty() ? std::string(" (never sent: no leader or no connection)")
                                         : "; last error: " + batch->last_error);
          fail_batch(std::move(batch), make_failure(error_code::request_timed_out, what));
        }
      }
    }
  }

  void remove_in_flight(producer_batch& batch) {
    auto& in_flight = batch.queue->in_flight;
    auto it = std::find(in_flight.begin(), in_flight.end(), &batch);
    if (it == in_flight.end()) return;
    in_flight.erase(it);
    if (in_flight.empty()) batch.queue->retrying = false;
  }

  void finish(producer_batch& batch) {
    remove_in_flight(batch);
    accumulator.release(batch);
    accumulator.batch_finished();
    notify_progress();
  }

  void complete_batch(std::unique_ptr<producer_batch> batch, std::int64_t base_offset,
                      std::int64_t append_time) {
    if (batch->stamped && batch->producer_epoch == producer_epoch &&
        batch->producer_id == producer_id) {
      batch->queue->sequence_confirmed = true;
    }
    finish(*batch);
    batch->state->complete(base_offset, append_time);
  }

  void fail_batch(std::unique_ptr<producer_batch> batch, std::exception_ptr failure) {
    finish(*batch);
    // A stamped batch that is never acknowledged leaves a gap in the partition's sequence: an
    // idempotent producer bumps its epoch to start over (KIP-360), a transactional one does so
    // when the caller aborts.
    if (batch->stamped && idempotent) {
      if (transactional) {
        txn_bump_on_abort = true;
      } else {
        epoch_bump_needed = true;
        wake();
      }
    }
    if (transactional) enter_abortable(failure);
    ++statistics.failed_batches;
    batch->state->fail(std::move(failure));
  }

  void retry_batch(std::unique_ptr<producer_batch> batch, std::string why, clock::time_point now) {
    // A batch that comes back after stop() or during an abort is not sent again: nobody would
    // send it, and its delivery would never complete.
    if (state == phase::closed) {
      fail_batch(
          std::move(batch),
          make_failure(error_code::request_timed_out,
                       "the producer stopped before the record was delivered; last error: " + why));
      return;
    }
    if (transactional && txn == txn_state::aborting) {
      fail_batch(std::move(batch),
                 make_failure(error_code::transaction_abortable,
                              "the transaction of the " + txn_name() + " was aborted"));
      return;
    }
    ++statistics.retried_batches;
    auto& queue = *batch->queue;
    spdlog::debug("producer: retrying {} records for {} (attempt {}, sequence {}): {}",
                  batch->builder.record_count(), where(*batch->topic, queue.partition),
                  batch->attempts, batch->base_sequence, why);
    remove_in_flight(*batch);
    if (!queue.in_flight.empty()) queue.retrying = true;
    batch->retry_after = now + config.retry_backoff;
    batch->last_error = std::move(why);
    record_accumulator::requeue(std::move(batch));
  }

  void fail_all_queued(const std::exception_ptr& failure) {
    for (auto& [name, topic] : accumulator.topics()) {
      for (auto& queue : topic->partitions) {
        while (!queue.batches.empty()) {
          auto batch = std::move(queue.batches.front());
          queue.batches.pop_front();
          fail_batch(std::move(batch), failure);
        }
      }
    }
  }

  void enter_abortable(const std::exception_ptr& failure) {
    if (txn == txn_state::aborting || txn == txn_state::ready) return;
    if (!txn_error) txn_error = failure;
    txn = txn_state::abortable_error;
  }

  void enter_fatal(std::exception_ptr failure) {
    if (!fatal) {
      fatal = std::move(failure);
      spdlog::error("producer: fatal: {}", describe(fatal));
    }
    wake();
    notify_progress();
  }

  asio::awaitable<void> connect_task(std::shared_ptr<impl> self, std::int32_t node) {
    bool failed = false;
    try {
      auto conn = co_await net.connection_to(node);
      sinks[node].conn = std::move(conn);
    } catch (const std::exception& e) {
      spdlog::warn("producer: cannot connect to broker {}: {}", node, e.what());
      // The broker may be gone for good; the partitions may have moved.
      metadata_needed = true;
      failed = true;
    }
    if (failed) {
      asio::steady_timer pause(executor, config.retry_backoff);
      co_await pause.async_wait(use_tuple);
    }
    sinks[node].connecting = false;
    wake();
    (void)self;
  }

  asio::awaitable<void> refresh_metadata_task(std::shared_ptr<impl> self) {
    std::vector<std::string> names;
    for (const auto& [name, topic] : accumulator.topics()) names.push_back(name);
    try {
      const auto* metadata = co_await net.refresh_metadata(std::move(names));
      for (const auto& [name, topic] : metadata->topics) {
        if (accumulator.find(name) != nullptr && !topic.partitions.empty())
          accumulator.update(topic);
      }
    } catch (const std::exception& e) {
      spdlog::warn("producer: metadata refresh failed: {}", e.what());
      metadata_needed = true;
    }
    metadata_not_before = clock::now() + config.retry_backoff;
    metadata_refreshing = false;
    wake();
    (void)self;
  }

  std::int16_t produce_version(const connection& conn,
                               const std::vector<std::unique_ptr<producer_batch>>& batches) {
    auto version = conn.required_version(api_key::produce);
    if (transactional && txn_version < transaction_version_2)
      version = std::min(version, produce_max_transactional_v1);
    for (const auto& batch : batches) {
      if (batch->topic->info.id.is_zero())
        version = std::min(version, produce_max_without_topic_ids);
    }
    return version;
  }

  asio::awaitable<void> send_produce(std::shared_ptr<impl> self, std::int32_t node,
                                     std::shared_ptr<connection> conn,
                                     std::vector<std::unique_ptr<producer_batch>> batches) {
    std::string transport_error;
    connection::raw_reply reply;
    std::int16_t version = 0;
    try {
      version = produce_version(*conn, batches);
      protocol::produce_request request;
      request.acks = static_cast<std::int16_t>(config.acks);
      request.timeout_ms = static_cast<std::int32_t>(config.request_timeout.count());
      if (transactional) request.transactional_id = config.transactional_id;
      // One entry per topic; `slots` remembers where each batch went. The batch bytes move into
      // the request for encoding and straight back, so a retry has them.
      std::vector<std::pair<std::size_t, std::size_t>> slots;
      slots.reserve(batches.size());
      for (auto& batch : batches) {
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
            {.index = batch->queue->partition, .records = std::move(batch->built)});
      }
      protocol::bytes body;
      protocol::writer out(body);
      request.encode(out, version);
      for (std::size_t i = 0; i < batches.size(); ++i) {
        auto& records = request.topic_data[slots[i].first].partition_data[slots[i].second].records;
        batches[i]->built = std::move(*records);
      }
      ++statistics.requests;  // a retry counts again: these are what went on the wire
      for (const auto& batch : batches) {
        ++statistics.batches;
        statistics.records += static_cast<std::uint64_t>(batch->builder.record_count());
        statistics.batch_bytes += batch->built.size();
      }
      reply = co_await conn->round_trip(api_key::produce, version, std::move(body),
                                        config.acks != acks::none);
    } catch (const kafka_error& e) {
      transport_error = e.what();
      if (!e.retriable()) {
        // E.g. no common Produce version: no retry will help.
        auto failure = std::make_exception_ptr(e);
        finish_request(node, batches.size());
        for (auto& batch : batches) fail_batch(std::move(batch), failure);
        wake();
        co_return;
      }
    }
    const auto now = clock::now();
    if (!transport_error.empty()) {
      // The request may or may not have been written (ambiguous); only idempotence makes the
      // retry safe from duplicates.
      finish_request(node, batches.size());
      for (auto& batch : batches) handle_retriable(std::move(batch), transport_error, now, false);
      wake();
      co_return;
    }
    if (config.acks == acks::none) {
      finish_request(node, batches.size());
      for (auto& batch : batches) complete_batch(std::move(batch), -1, -1);
      wake();
      co_return;
    }
    protocol::produce_response response;
    protocol::reader in(protocol::bytes_view(reply.frame).subspan(reply.body_offset));
    response.decode(in, version);
    finish_request(node, batches.size());
    if (!in.ok()) {
      const auto why = "decode Produce v" + std::to_string(version) + " response from broker " +
                       std::to_string(node) + ": " + protocol::to_string(in.error());
      for (auto& batch : batches) handle_retriable(std::move(batch), why, now, false);
      wake();
      co_return;
    }
    for (auto& batch : batches) {
      const protocol::produce_response::partition_produce_response* answer = nullptr;
      for (const auto& topic : response.responses) {
        const bool same = version >= 13 ? topic.topic_id == batch->topic->info.id
                                        : topic.name == *batch->topic->name;
        if (!same) continue;
        for (const auto& partition : topic.partition_responses) {
          if (partition.index == batch->queue->partition) answer = &partition;
        }
      }
      if (answer == nullptr) {
        handle_retriable(std::move(batch),
                         "broker " + std::to_string(node) + " did not answer for the partition",
                         now, false);
        continue;
      }
      handle_answer(std::move(batch), *answer, node, now);
    }
    wake();
    (void)self;
  }

  void finish_request(std::int32_t node, std::size_t batch_count) {
    --sinks[node].in_flight;
    batches_in_flight -= static_cast<int>(batch_count);
  }

  void handle_answer(std::unique_ptr<producer_batch> batch,
                     const protocol::produce_response::partition_produce_response& answer,
                     std::int32_t node, clock::time_point now) {
    const auto code = static_cast<error_code>(answer.error_code);
    if (code == error_code::none) {
      complete_batch(std::move(batch), answer.base_offset, answer.log_append_time_ms);
      return;
    }
    const auto place = where(*batch->topic, batch->queue->partition);
    std::string why = "produce to " + place + " on broker " + std::to_string(node) + ": " +
                      error_name(code) +
                      (answer.error_message ? " (" + *answer.error_message + ")" : "");
    if (code == error_code::duplicate_sequence_number) {
      // An earlier attempt was written; its answer was lost. Offsets are unknown, not wrong.
      complete_batch(std::move(batch), -1, -1);
      return;
    }
    if (idempotent && (code == error_code::out_of_order_sequence_number ||
                       code == error_code::unknown_producer_id)) {
      auto& queue = *batch->queue;
      const bool first =
          !queue.retrying && !queue.in_flight.empty() && queue.in_flight.front() == batch.get();
      if (!first) {
        // Only a consequence of an earlier batch of the partition failing: send it again after it.
        handle_retriable(std::move(batch), why, now, true);
        return;
      }
      if (transactional) {
        fail_batch(std::move(batch), make_failure(code, why));
        return;
      }
      // The broker lost our sequence (KIP-360): bump the epoch, then resend from sequence 0.
      spdlog::warn("producer: {}; bumping the producer epoch (KIP-360)", why);
      epoch_bump_needed = true;
      // prepare() restamps every queued batch once the epoch changed.
      retry_batch(std::move(batch), why, now);
      return;
    }
    const auto action = classify(code);
    if (transactional &&
        (code == error_code::producer_fenced || code == error_code::invalid_producer_epoch ||
         code == error_code::transactional_id_authorization_failed)) {
      auto failure = make_failure(code, why + ": another producer with transactional id '" +
                                            *config.transactional_id + "' fenced this one");
      enter_fatal(failure);
      fail_batch(std::move(batch), failure);
      return;
    }
    if (action == error_action::retry || action == error_action::refresh_metadata_and_retry ||
        action == error_action::find_coordinator_and_retry) {
      if (action == error_action::refresh_metadata_and_retry) metadata_needed = true;
      handle_retriable(std::move(batch), why, now, true);
      return;
    }
    fail_batch(std::move(batch), make_failure(code, why));
  }

  void handle_retriable(std::unique_ptr<producer_batch> batch, std::string why,
                        clock::time_point now, bool broker_answered) {
    if (batch->attempts > config.retries || now >= batch->created + config.delivery_timeout) {
      // (The message is built before the batch is moved into the call.)
      auto failure = make_failure(
          error_code::request_timed_out,
          "deliver " + std::to_string(batch->builder.record_count()) + " records to " +
              where(*batch->topic, batch->queue->partition) + ": gave up after " +
              std::to_string(batch->attempts) + " attempts (retries " +
              std::to_string(config.retries) + ", delivery_timeout (" +
              std::to_string(config.delivery_timeout.count()) + " ms)); last error: " + why);
      fail_batch(std::move(batch), std::move(failure));
      return;
    }
    if (!broker_answered) metadata_needed = true;
    retry_batch(std::move(batch), std::move(why), now);
  }

  // With acks=0 a batch is done once handed to its connection, before the broker has read it. A
  // request that is answered, sent after it on the same connection, is a barrier: Kafka handles a
  // connection's requests in order, so once the answer is back every earlier batch was appended.
  asio::awaitable<void> write_barrier() {
    std::vector<std::shared_ptr<connection>> open;
    for (auto& [node, target] : sinks) {
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

  // --- producer ids ---------------------------------------------------------------------------

  // InitProducerId for an idempotent producer without transactions (any broker answers).
  asio::awaitable<void> init_idempotent_id(clock::time_point deadline) {
    for (;;) {
      std::string why;
      try {
        auto conn = co_await net.any_connection();
        auto version =
            std::min(conn->required_version(api_key::init_producer_id), init_producer_id_max);
        protocol::init_producer_id_request request;
        request.transactional_id = std::nullopt;
        request.transaction_timeout_ms =
            static_cast<std::int32_t>(config.transaction_timeout.count());
        auto response = co_await conn->send(std::move(request), version);
        const auto code = static_cast<error_code>(response.error_code);
        if (code == error_code::none) {
          producer_id = response.producer_id;
          producer_epoch = response.producer_epoch;
          co_return;
        }
        if (classify(code) == error_action::fatal || classify(code) == error_action::abortable) {
          throw kafka_error(code, "InitProducerId for the idempotent producer");
        }
        why = error_name(code);
      } catch (const kafka_error& e) {
        if (!e.retriable()) throw;
        why = e.what();
      }
      if (clock::now() + config.retry_backoff > deadline) {
        throw kafka_error(error_code::request_timed_out,
                          "InitProducerId: no producer id within max_block (" +
                              std::to_string(config.max_block.count()) +
                              " ms); last error: " + why);
      }
      asio::steady_timer pause(executor, config.retry_backoff);
      co_await pause.async_wait(use_tuple);
    }
  }

  void reset_sequences() {
    for (auto& [name, topic] : accumulator.topics()) {
      for (auto& queue : topic->partitions) {
        queue.next_sequence = 0;
        queue.sequence_confirmed = false;
        queue.retrying = false;
      }
    }
  }

  asio::awaitable<void> bump_epoch_task(std::shared_ptr<impl> self) {
    try {
      const auto before = producer_epoch;
      if (producer_epoch < std::numeric_limits<std::int16_t>::max() - 1) {
        // KIP-360: an idempotent producer (no transactional id) bumps its epoch itself; the
        // broker accepts a higher epoch that starts again at sequence 0. (InitProducerId without a
        // transactional id would hand out a new producer id instead.)
        ++producer_epoch;
      } else {
        co_await init_idempotent_id(clock::now() + config.max_block);
      }
      spdlog::info("producer: epoch bumped from {} to {} (producer id {})", before, producer_epoch,
                   producer_id);
      reset_sequences();
      epoch_bump_needed = false;
    } catch (const std::exception&) {
      enter_fatal(std::current_exception());
    }
    epoch_bumping = false;
    wake();
    (void)self;
  }

  // --- transactions -----------------------------------------------------------------------------

  std::string txn_name() const { return "transactional id '" + *config.transactional_id + "'"; }

  // A connection to the transaction coordinator (found first if unknown).
  asio::awaitable<std::shared_ptr<connection>> coordinator_connection() {
    if (txn_coordinator < 0) {
      txn_coordinator =
          co_await net.find_coordinator(coordinator_type::transaction, *config.transactional_id);
    }
    co_return co_await net.connection_to(txn_coordinator);
  }

  // What a transactional call does about an error code: returns normally to retry (after
  // `pause`), throws for fatal and abortable errors.
  void judge_txn_error(error_code code, const std::string& what, std::chrono::milliseconds& pause) {
    pause = config.retry_backoff;
    switch (code) {
      case error_code::producer_fenced:
      case error_code::invalid_producer_epoch:
      case error_code::transactional_id_authorization_failed:
      case error_code::invalid_producer_id_mapping: {
        auto failure = make_failure(
            code, what + ": producer fenced: another producer started with the " + txn_name() +
                      " (or this one's transaction timed out); stop this producer");
        enter_fatal(failure);
        std::rethrow_exception(failure);
      }
      case error_code::concurrent_transactions:
        pause = concurrent_transactions_backoff;
        return;
      default:
        break;
    }
    switch (classify(code)) {
      case error_action::find_coordinator_and_retry:
        txn_coordinator = -1;
        return;
      case error_action::retry:
      case error_action::refresh_metadata_and_retry:
        return;
      default: {
        auto failure = make_failure(code, what);
        enter_abortable(failure);
        std::rethrow_exception(failure);
      }
    }
  }

  // Runs `attempt` (one request/response; returns the response's error code) until it succeeds,
  // a fatal or abortable error, or the deadline.
  template <typename Attempt>
  asio::awaitable<void> txn_call(std::string what, clock::time_point deadline, Attempt attempt) {
    for (;;) {
      std::string why;
      auto pause = config.retry_backoff;
      try {
        const auto code = co_await attempt();
        if (code == error_code::none) co_return;
        why = error_name(code);
        judge_txn_error(code, what, pause);
      } catch (const kafka_error& e) {
        if (!e.retriable() || fatal) throw;
        why = e.what();
        txn_coordinator = -1;
      }
      if (clock::now() + pause > deadline) {
        throw kafka_error(error_code::request_timed_out,
                          what + ": not done within max_block (" +
                              std::to_string(config.max_block.count()) +
                              " ms); last error: " + why);
      }
      asio::steady_timer timer(executor, pause);
      co_await timer.async_wait(use_tuple);
    }
  }

  asio::awaitable<error_code> init_transactional_attempt(bool bump) {
    auto conn = co_await coordinator_connection();
    const auto version =
        std::min(conn->required_version(api_key::init_producer_id), init_producer_id_max);
    protocol::init_producer_id_request request;
    request.transactional_id = config.transactional_id;
    request.transaction_timeout_ms = static_cast<std::int32_t>(config.transaction_timeout.count());
    if (bump && version >= init_producer_id_bump_min) {
      request.producer_id = producer_id;
      request.producer_epoch = producer_epoch;
    }
    auto response = co_await conn->send(std::move(request), version);
    const auto code = static_cast<error_code>(response.error_code);
    if (code == error_code::none) {
      producer_id = response.producer_id;
      producer_epoch = response.producer_epoch;
    }
    co_return code;
  }

  asio::awaitable<void> init_transactional_id(bool bump, clock::time_point deadline) {
    co_await txn_call("InitProducerId for the " + txn_name(), deadline,
                      [this, bump]() { return init_transactional_attempt(bump); });
  }

  asio::awaitable<error_code> add_partitions_attempt(
      std::vector<partition_queue*> queues, std::vector<partition_queue*>* failed_abortably) {
    auto conn = co_await coordinator_connection();
    const auto version =
        std::min(conn->required_version(api_key::add_partitions_to_txn), add_partitions_max_client);
    protocol::add_partitions_to_txn_request request;
    request.v3_and_below_transactional_id = *config.transactional_id;
    request.v3_and_below_producer_id = producer_id;
    request.v3_and_below_producer_epoch = producer_epoch;
    for (auto* queue : queues) {
      auto it = std::find_if(request.v3_and_below_topics.begin(), request.v3_and_below_topics.end(),
                             [&](const auto& topic) { return topic.name == *queue->topic->name; });
      if (it == request.v3_and_below_topics.end()) {
        request.v3_and_below_topics.push_back({.name = *queue->topic->name});
        it = std::prev(request.v3_and_below_topics.end());
      }
      it->partitions.push_back(queue->partition);
    }
    auto response = co_await conn->send(std::move(request), version);
    // The worst error wins; OPERATION_NOT_ATTEMPTED only says another partition failed.
    auto result = error_code::none;
    for (const auto& topic : response.results_by_topic_v3_and_below) {
      for (const auto& partition : topic.results_by_partition) {
        const auto code = static_cast<error_code>(partition.partition_error_code);
        if (code == error_code::none || code == error_code::operation_not_attempted) continue;
        if (result == error_code::none || classify(code) == error_action::fatal) result = code;
        const auto action = classify(code);
        if (action == error_action::fatal || action == error_action::abortable) {
          for (auto* queue : queues) {
            if (*queue->topic->name == topic.name &&
                queue->partition == partition.partition_index) {
              failed_abortably->push_back(queue);
            }
          }
        }
      }
    }
    if (result == error_code::none) {
      for (auto* queue : queues) {
        queue->in_transaction = true;
        queue->transaction_pending = false;
        txn_partitions.push_back(queue);
      }
    }
    co_return result;
  }

  asio::awaitable<void> add_partitions_task(std::shared_ptr<impl> self,
                                            std::vector<partition_queue*> queues) {
    std::vector<partition_queue*> failed;
    try {
      co_await txn_call(
          "AddPartitionsToTxn for the " + txn_name(), clock::now() + config.max_block,
          [this, &queues, &failed]() { return add_partitions_attempt(queues, &failed); });
    } catch (const std::exception&) {
      auto failure = std::current_exception();
      enter_abortable(failure);
      // Their batches can never be sent in this transaction.
      for (auto* queue : queues) {
        queue->transaction_pending = false;
        while (!queue->batches.empty()) {
          auto batch = std::move(queue->batches.front());
          queue->batches.pop_front();
          fail_batch(std::move(batch), failure);
        }
      }
    }
    txn_adding = false;
    wake();
    notify_progress();
    (void)self;
  }

  asio::awaitable<error_code> end_txn_attempt(bool commit) {
    auto conn = co_await coordinator_connection();
    auto version = conn->required_version(api_key::end_txn);
    if (txn_version < transaction_version_2) version = std::min(version, end_txn_max_v1);
    protocol::end_txn_request request;
    request.transactional_id = *config.transactional_id;
    request.producer_id = producer_id;
    request.producer_epoch = producer_epoch;
    request.committed = commit;
    auto response = co_await conn->send(std::move(request), version);
    const auto code = static_cast<error_code>(response.error_code);
    if (code == error_code::none && version >= end_txn_min_v2 && response.producer_id >= 0) {
      // KIP-890 part 2: every transaction ends with an epoch bump (the markers carry the new
      // epoch, so a zombie's late Produce of the old epoch is fenced); the next transaction uses
      // it, and a new producer id when the epoch ran out.
      producer_id = response.producer_id;
      producer_epoch = response.producer_epoch;
    }
    co_return code;
  }

  asio::awaitable<void> end_transaction(bool commit) {
    co_await txn_call(
        std::string(commit ? "commit" : "abort") + " the transaction of the " + txn_name(),
        clock::now() + config.max_block, [this, commit]() { return end_txn_attempt(commit); });
    // A new epoch starts every partition again at sequence 0.
    if (txn_version >= transaction_version_2) reset_sequences();
  }

  // Which transaction protocol to speak (KIP-890 part 2): version 2 when the cluster finalized
  // the feature transaction.version at 2 or more (features are cluster-wide; any broker's
  // ApiVersions lists them) and the coordinator speaks EndTxn v5 and TxnOffsetCommit v5. Asked
  // once, at start(): a cluster upgraded later is used at version 2 by the next producer.
  asio::awaitable<error_code> transaction_version_attempt() {
    auto conn = co_await coordinator_connection();
    const auto& versions = conn->broker_versions();
    const auto api = versions.find(static_cast<std::int16_t>(api_key::api_versions));
    const auto version = static_cast<std::int16_t>(
        std::min<int>(api == versions.end() ? 0 : api->second.max_version,
                      protocol::api_versions_request::max_version));
    protocol::api_versions_request request;
    request.client_software_name = "sluice";
    request.client_software_version = "0.1.0";
    auto response = co_await conn->send(std::move(request), version);
    const auto code = static_cast<error_code>(response.error_code);
    if (code != error_code::none) co_return code;
    int finalized = 0;
    for (const auto& feature : response.finalized_features) {
      if (feature.name == transaction_version_feature) finalized = feature.max_version_level;
    }
    const auto supports = [&](api_key key, std::int16_t minimum) {
      const auto it = versions.find(static_cast<std::int16_t>(key));
      return it != versions.end() && it->second.max_version >= minimum;
    };
    txn_version = finalized >= transaction_version_2 && supports(api_key::end_txn, end_txn_min_v2) &&
                          supports(api_key::txn_offset_commit, txn_offset_commit_min_v2) &&
                          supports(api_key::produce, produce_min_transactional_v2)
                      ? transaction_version_2
                      : 1;
    txn_version = std::min(txn_version, txn_version_limit);
    co_return error_code::none;
  }

  void reset_transaction() {
    for (auto* queue : txn_partitions) queue->in_transaction = false;
    txn_partitions.clear();
    for (auto* queue : txn_pending) queue->transaction_pending = false;
    txn_pending.clear();
    txn_offsets_added = false;
    txn_error = nullptr;
    txn = txn_state::ready;
  }

  asio::awaitable<error_code> add_offsets_attempt(std::string group_id) {
    auto conn = co_await coordinator_connection();
    protocol::add_offsets_to_txn_request request;
    request.transactional_id = *config.transactional_id;
    request.producer_id = producer_id;
    request.producer_epoch = producer_epoch;
    request.group_id = std::move(group_id);
    auto response = co_await conn->send(std::move(request));
    co_return static_cast<error_code>(response.error_code);
  }

  asio::awaitable<error_code> txn_offset_commit_attempt(std::map<topic_partition, offset_and_metadata> offsets,
                                                        consumer_group_metadata group,
                                                        std::int32_t* coordinator) {
    if (*coordinator < 0)
      *coordinator = co_await net.find_coordinator(coordinator_type::group, group.group_id);
    std::shared_ptr<connection> conn;
    try {
      conn = co_await net.connection_to(*coordinator);
    } catch (...) {
      *coordinator = -1;
      throw;
    }
    auto version = conn->required_version(api_key::txn_offset_commit);
    if (txn_version < transaction_version_2) version = std::min(version, txn_offset_commit_max_v1);
    protocol::txn_offset_commit_request request;
    request.transactional_id = *config.transactional_id;
    request.group_id = group.group_id;
    request.producer_id = producer_id;
    request.producer_epoch = producer_epoch;
    request.generation_id = group.generation_id;
    request.member_id = group.member_id;
    request.group_instance_id = group.group_instance_id;
    // The map is sorted by topic, so each topic's partitions are adjacent.
    for (const auto& [partition, offset] : offsets) {
      if (request.topics.empty() || request.topics.back().name != partition.topic)
        request.topics.push_back({.name = partition.topic});
      request.topics.back().partitions.push_back({.partition_index = partition.partition,
                                                  .committed_offset = offset.offset,
                                                  .committed_leader_epoch = offset.leader_epoch,
                                                  .committed_metadata = offset.metadata});
    }
    auto response = co_await conn->send(std::move(request), version);
    auto result = error_code::none;
    for (const auto& topic : response.topics) {
      for (const auto& partition : topic.partitions) {
        const auto code = static_cast<error_code>(partition.error_code);
        if (code != error_code::none &&
            (result == error_code::none || classify(code) == error_action::fatal)) {
          result = code;
        }
      }
    }
    if (classify(result) == error_action::find_coordinator_and_retry) *coordinator = -1;
    co_return result;
  }
};

// --- producer ---------------------------------------------------------------------------------

producer::producer(asio::any_io_executor executor, producer_config config) {
  config.validate();
  impl_ = std::make_shared<impl>(std::move(executor), std::move(config));
}

producer::~producer() {
  if (!impl_) return;
  auto& self = *impl_;
  if (self.state != impl::phase::closed) {
    self.state = impl::phase::closed;
    self.fail_all_queued(
        make_failure(error_code::request_timed_out, "the producer was destroyed before delivery"));
    self.wake();
    self.net.close();
  }
}

const producer_config& producer::config() const {
  return impl_->config;
}
producer_statistics producer::statistics() const { return impl_->statistics; }

std::int64_t producer::producer_id() const {
  return impl_->producer_id;
}
std::int16_t producer::producer_epoch() const {
  return impl_->producer_epoch;
}

void producer::skip_sequence_for_testing(const std::string& topic, std::int32_t partition) {
  auto* queues = impl_->accumulator.find(topic);
  if (queues == nullptr || partition < 0 ||
      static_cast<std::size_t>(partition) >= queues->partitions.size()) {
    throw std::invalid_argument("skip_sequence_for_testing: unknown partition " + topic + "-" +
                                std::to_string(partition));
  }
  auto& queue = queues->partitions[static_cast<std::size_t>(partition)];
  queue.next_sequence = increment_sequence(queue.next_sequence, 1);
}

int producer::transaction_version() const {
  return impl_->txn_version;
}

void producer::limit_transaction_version_for_testing(int version) {
  if (impl_->state != impl::phase::created)
    throw std::logic_error("limit_transaction_version_for_testing: call it before start()");
  impl_->txn_version_limit = version;
}

void producer::close_connections_for_testing() {
  for (auto& [node, target] : impl_->sinks) {
    if (target.conn) target.conn->close();
  }
}

asio::awaitable<void> producer::start() {
  auto self = impl_;
  if (self->state != impl::phase::created) throw_state("start: the producer was already started");
  self->state = impl::phase::starting;
  const auto deadline = clock::now() + self->config.max_block;
  try {
    co_await self->net.start();
    if (self->transactional) {
      auto* raw = self.get();
      const auto detect = [raw]() { return raw->transaction_version_attempt(); };
      co_await self->txn_call("ApiVersions (transaction.version) for the " + self->txn_name(),
                              deadline, detect);
      spdlog::debug("producer: {} uses transaction version {}", self->txn_name(),
                    self->txn_version);
      co_await self->init_transactional_id(false, deadline);
    } else if (self->idempotent) {
      co_await self->init_idempotent_id(deadline);
    }
  } catch (...) {
    self->state = impl::phase::closed;
    self->net.close();
    throw;
  }
  self->state = impl::phase::running;
  self->spawn("sender", self->sender_loop(self));
}

asio::awaitable<void> producer::stop(std::chrono::milliseconds timeout) {
  auto self = impl_;
  if (self->state == impl::phase::closed || self->state == impl::phase::closing) co_return;
  const bool was_running = self->state == impl::phase::running;
  self->state = impl::phase::closing;
  const auto deadline = clock::now() + timeout;
  self->wake();
  // Phase one: send what is queued and wait for it, up to the deadline.
  while (was_running && self->accumulator.open_batches() > 0 && clock::now() < deadline &&
         !self->fatal) {
    co_await self->wait_progress(deadline);
  }
  if (was_running && self->config.acks == acks::none) co_await self->write_barrier();
  // Phase two: fail what is left, stop the sender, close the connections (requests in flight
  // fail at once), and wait briefly for the background coroutines.
  self->state = impl::phase::closed;
  self->fail_all_queued(
      make_failure(error_code::request_timed_out,
                   "the producer stopped before the record was delivered (stop timeout " +
                       std::to_string(timeout.count()) + " ms)"));
  self->wake();
  self->net.close();
  for (auto& [node, target] : self->sinks) {
    if (target.conn) target.conn->close();
  }
  const auto drain_deadline = clock::now() + std::chrono::seconds(5);
  if (!co_await self->tasks.wait_idle(drain_deadline))
    spdlog::warn("producer: {} background tasks still running after stop", self->tasks.running());
}

asio::awaitable<delivery> producer::send(std::string topic, std::optional<protocol::bytes> value,
                                         std::optional<protocol::bytes> key,
                                         std::optional<std::int32_t> partition,
                                         std::optional<std::int64_t> timestamp,
                                         std::vector<records::record_header> headers) {
  auto self = impl_;
  self->check_can_send(topic);
  const auto deadline = clock::now() + self->config.max_block;
  std::vector<records::header_view> header_views;
  header_views.reserve(headers.size());
  for (const auto& header : headers) {
    std::optional<protocol::bytes_view> header_value;
    if (header.value) header_value = protocol::bytes_view(*header.value);
    header_views.push_back({header.key, header_value});
  }
  std::optional<protocol::bytes_view> key_view;
  std::optional<protocol::bytes_view> value_view;
  if (key) key_view = protocol::bytes_view(*key);
  if (value) value_view = protocol::bytes_view(*value);
  const auto size = record_accumulator::estimated_size(key_view, value_view, header_views);
  self->check_size(topic, size);

  auto* queues = self->accumulator.find(topic);
  if (queues == nullptr || queues->partitions.empty())
    queues = co_await self->wait_for_topic(topic, deadline);
  if (!self->accumulator.has_room(size)) co_await self->wait_for_room(topic, size, deadline);
  // Let the sender run first if it was woken (see sender_due).
  if (self->sender_due) co_await asio::post(self->executor, asio::use_awaitable);
  // The state may have changed while waiting.
  self->check_can_send(topic);
  co_return self->append(*queues, partition, timestamp, key_view, value_view, header_views, size);
}

batch_builder producer::create_batch() const {
  const auto& config = impl_->config;
  records::record_batch_builder_options options;
  options.codec = config.compression;
  options.level = config.compression_level;
  options.transactional = impl_->transactional;
  return batch_builder(options, config.batch_size);
}

asio::awaitable<delivery> producer::send_batch(batch_builder batch, std::string topic,
                                               std::int32_t partition) {
  auto self = impl_;
  self->check_can_send(topic);
  const auto where_to = "send a batch of " + std::to_string(batch.record_count()) +
                        " records to " + topic + "-" + std::to_string(partition);
  if (batch.sent_) {
    throw kafka_error(make_error_code(net_error::bad_configuration),
                      where_to + ": the batch was already sent", false);
  }
  if (batch.empty()) {
    throw kafka_error(make_error_code(net_error::bad_configuration),
                      where_to + ": the batch is empty (Kafka has no empty batches)", false);
  }
  if (batch.builder_.options().transactional != self->transactional) {
    throw kafka_error(make_error_code(net_error::bad_configuration),
                      where_to + ": the batch was not made by this producer's create_batch()",
                      false);
  }
  const auto size = std::max(batch.size(), batch.reserved_);
  if (size + request_overhead > self->config.max_request_size ||
      size > self->config.buffer_memory) {
    throw kafka_error(error_code::message_too_large,
                      where_to + ": the batch is about " + std::to_string(size) +
                          " bytes, more than max_request_size (" +
                          std::to_string(self->config.max_request_size) + ") or buffer_memory (" +
                          std::to_string(self->config.buffer_memory) + ")");
  }
  batch.sent_ = true;
  const auto deadline = clock::now() + self->config.max_block;
  auto* queues = self->accumulator.find(topic);
  if (queues == nullptr || queues->partitions.empty())
    queues = co_await self->wait_for_topic(topic, deadline);
  const auto count = static_cast<std::int32_t>(queues->partitions.size());
  if (partition < 0 || partition >= count) {
    throw kafka_error(error_code::unknown_topic_or_partition,
                      where_to + ": the partition does not exist (the topic has " +
                          std::to_string(count) + " partitions)");
  }
  if (!self->accumulator.has_room(size)) co_await self->wait_for_room(topic, size, deadline);
  self->check_can_send(topic);
  auto& queue = queues->partitions[static_cast<std::size_t>(partition)];
  auto handle = self->accumulator.append_batch(*queues, queue, std::move(batch.builder_),
                                               std::move(batch.timestamps_), size);
  if (!self->join_transaction(queue)) self->wake();
  co_return handle;
}

asio::awaitable<record_metadata> producer::send_and_wait(
    std::string topic, std::optional<protocol::bytes> value, std::optional<protocol::bytes> key,
    std::optional<std::int32_t> partition, std::optional<std::int64_t> timestamp,
    std::vector<records::record_header> headers) {
  auto handle = co_await send(std::move(topic), std::move(value), std::move(key), partition,
                              timestamp, std::move(headers));
  co_return co_await handle.get();
}

std::optional<delivery> producer::try_send(std::string_view topic,
                                           std::optional<protocol::bytes_view> value,
                                           std::optional<protocol::bytes_view> key,
                                           std::optional<std::int32_t> partition,
                                           std::optional<std::int64_t> timestamp,
                                           std::span<const records::header_view> headers) {
  auto& self = *impl_;
  self.check_can_send(topic);
  const auto size = record_accumulator::estimated_size(key, value, headers);
  self.check_size(topic, size);
  auto* queues = self.accumulator.find(topic);
  if (queues == nullptr || queues->partitions.empty() || !self.accumulator.has_room(size) ||
      self.sender_due)
    return std::nullopt;
  return self.append(*queues, partition, timestamp, key, value, headers, size);
}

asio::awaitable<void> producer::flush() {
  auto self = impl_;
  self->check_usable("flush");
  std::vector<std::shared_ptr<detail::batch_state>> waiting;
  for (auto& [name, topic] : self->accumulator.topics()) {
    for (auto& queue : topic->partitions) {
      for (auto* batch : queue.in_flight) waiting.push_back(batch->state);
      for (auto& batch : queue.batches) waiting.push_back(batch->state);
    }
  }
  ++self->flushing;
  self->wake();
  for (auto& state : waiting) co_await state->wait();
  --self->flushing;
  if (self->config.acks == acks::none) co_await self->write_barrier();
}

asio::awaitable<std::vector<std::int32_t>> producer::partitions_for(std::string topic) {
  auto self = impl_;
  self->check_usable("partitions_for");
  auto* queues = co_await self->wait_for_topic(topic, clock::now() + self->config.max_block);
  std::vector<std::int32_t> partitions;
  for (const auto& queue : queues->partitions) partitions.push_back(queue.partition);
  co_return partitions;
}

void producer::begin_transaction() {
  auto& self = *impl_;
  if (!self.transactional) throw_state("begin_transaction: the producer has no transactional_id");
  self.check_usable("begin_transaction");
  if (self.txn != impl::txn_state::ready) {
    throw_state("begin_transaction: a transaction is already open for the " + self.txn_name() +
                " (commit or abort it first)");
  }
  self.txn = impl::txn_state::in_transaction;
}

asio::awaitable<void> producer::commit_transaction() {
  auto self = impl_;
  if (!self->transactional) throw_state("commit_transaction: the producer has no transactional_id");
  self->check_usable("commit_transaction");
  if (self->txn == impl::txn_state::abortable_error) {
    throw kafka_error(error_code::transaction_abortable,
                      "commit the transaction of the " + self->txn_name() +
                          ": it failed and must be aborted: " + describe(self->txn_error));
  }
  if (self->txn != impl::txn_state::in_transaction && self->txn != impl::txn_state::committing) {
    throw_state("commit_transaction: no open transaction for the " + self->txn_name());
  }
  self->txn = impl::txn_state::committing;
  co_await flush();
  while (self->txn_adding) co_await self->wait_progress(clock::now() + self->config.max_block);
  if (self->fatal) std::rethrow_exception(self->fatal);
  if (self->txn_error) {
    self->txn = impl::txn_state::abortable_error;
    throw kafka_error(
        error_code::transaction_abortable,
        "commit the transaction of the " + self->txn_name() +
            ": a record of it failed, so it must be aborted: " + describe(self->txn_error));
  }
  if (!self->txn_partitions.empty() || self->txn_offsets_added)
    co_await self->end_transaction(true);
  self->reset_transaction();
}

asio::awaitable<void> producer::abort_transaction() {
  auto self = impl_;
  if (!self->transactional) throw_state("abort_transaction: the producer has no transactional_id");
  self->check_usable("abort_transaction");
  if (self->txn == impl::txn_state::ready)
    throw_state("abort_transaction: no open transaction for the " + self->txn_name());
  self->txn = impl::txn_state::aborting;
  // Records not sent yet are dropped (Java: "Failing batch since transaction was aborted").
  self->fail_all_queued(
      make_failure(error_code::transaction_abortable,
                   "the transaction of the " + self->txn_name() + " was aborted"));
  for (auto* queue : self->txn_pending) queue->transaction_pending = false;
  self->txn_pending.clear();
  const auto deadline = clock::now() + self->config.max_block;
  while ((self->batches_in_flight > 0 || self->txn_adding) && clock::now() < deadline &&
         !self->fatal) {
    co_await self->wait_progress(deadline);
  }
  if (self->fatal) std::rethrow_exception(self->fatal);
  if (self->batches_in_flight > 0 || self->txn_adding) {
    throw kafka_error(error_code::request_timed_out,
                      "abort the transaction of the " + self->txn_name() +
                          ": requests still in flight after max_block; call abort again");
  }
  if (!self->txn_partitions.empty() || self->txn_offsets_added)
    co_await self->end_transaction(false);
  if (self->txn_bump_on_abort && self->txn_version < transaction_version_2) {
    // A batch of the aborted transaction left a sequence gap: start the partitions over under a
    // new epoch (KIP-360). (With version 2 EndTxn has bumped the epoch already.)
    co_await self->init_transactional_id(true, clock::now() + self->config.max_block);
    self->reset_sequences();
  }
  self->txn_bump_on_abort = false;
  self->reset_transaction();
  self->wake();
}

asio::awaitable<void> producer::send_offsets_to_transaction(std::map<topic_partition, offset_and_metadata> offsets,
                                                            consumer_group_metadata group) {
  auto self = impl_;
  if (!self->transactional)
    throw_state("send_offsets_to_transaction: the producer has no transactional_id");
  self->check_usable("send_offsets_to_transaction");
  if (group.group_id.empty()) {
    throw kafka_error(make_error_code(net_error::bad_configuration),
                      "send_offsets_to_transaction: the group id is empty", false);
  }
  if (self->txn != impl::txn_state::in_transaction) {
    if (self->txn == impl::txn_state::abortable_error) {
      throw kafka_error(
          error_code::transaction_abortable,
          "send_offsets_to_transaction: the transaction failed and must be aborted: " +
              describe(self->txn_error));
    }
    throw_state(
        "send_offsets_to_transaction: no open transaction (call begin_transaction() first)");
  }
  const auto deadline = clock::now() + self->config.max_block;
  const auto what = "send offsets of group '" + group.group_id + "' to the transaction of the " +
                    self->txn_name();
  // (The attempts capture only pointers and references: GCC 12 destroys a lambda temporary that
  // captured a std::string by value twice when it sits inside a co_await expression.)
  auto* raw = self.get();
  if (self->txn_version >= transaction_version_2) {
    // KIP-890 part 2: TxnOffsetCommit v5 adds the group to the transaction itself (Java skips
    // AddOffsetsToTxn too). EndTxn is due from here on, whatever the answer.
    self->txn_offsets_added = true;
  } else {
    const auto add_offsets = [raw, &group]() { return raw->add_offsets_attempt(group.group_id); };
    co_await self->txn_call("AddOffsetsToTxn: " + what, deadline, add_offsets);
    self->txn_offsets_added = true;
  }
  std::int32_t coordinator = -1;
  const auto commit_offsets = [raw, &offsets, &group, &coordinator]() {
    return raw->txn_offset_commit_attempt(offsets, group, &coordinator);
  };
  co_await self->txn_call("TxnOffsetCommit: " + what, deadline, commit_offsets);
}

asio::awaitable<void> producer::send_offsets_to_transaction(std::map<topic_partition, offset_and_metadata> offsets,
                                                            std::string group_id) {
  consumer_group_metadata group;
  group.group_id = std::move(group_id);
  co_await send_offsets_to_transaction(std::move(offsets), std::move(group));
}

asio::awaitable<void> producer::abort_after_failure(std::exception_ptr failure) {
  auto self = impl_;
  if (!self->fatal && self->txn != impl::txn_state::ready) {
    try {
      co_await abort_transaction();
    } catch (const std::exception& e) {
      spdlog::warn("producer: aborting the transaction of the {} after a failure also failed: {}",
                   self->txn_name(), e.what());
    }
  }
  std::rethrow_exception(failure);
}

}  // namespace sluice::kafka
