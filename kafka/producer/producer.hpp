#pragma once

// The native Kafka producer (aiokafka's AIOKafkaProducer, Java's KafkaProducer), on Asio
// coroutines.
//
//   producer p(executor, config);
//   co_await p.start();
//   auto handle = co_await p.send("orders", to_bytes("v"), to_bytes("k"));  // queued
//   record_metadata where = co_await handle.get();                        // delivered
//   co_await p.stop();
//
// send() appends the record to its partition's batch and returns a delivery handle; a sender
// coroutine sends ready batches (full, lingered long enough, or flushed) to the partition leaders,
// several partitions per ProduceRequest and up to max_in_flight_requests_per_connection requests
// per broker, retries retriable failures until delivery_timeout (refreshing metadata when a leader
// moved), and completes the handles.
//
// Idempotence (default, KIP-98): InitProducerId, a sequence number per partition, up to five
// requests in flight without reordering; OutOfOrderSequence and UnknownProducerId are recovered
// by bumping the epoch (KIP-360) and resending the unacknowledged batches.
//
// create_batch()/send_batch() (aiokafka's) hand the producer a whole batch built by the caller
// for one partition; see batch_builder.hpp. Typed keys and values (serializers):
// serializing_producer.hpp.
//
// Transactions (transactional_id set): begin/commit/abort, send_offsets_to_transaction (KIP-447
// group metadata), EndTxn. A fenced producer is fatal; abortable errors make commit throw and
// leave abort_transaction() usable. Which transaction protocol (transaction_version()):
//  - Version 2 (KIP-890 part 2) when the cluster finalized the feature transaction.version at 2
//    (Kafka 4.x clusters created at 4.0 or later do by default; read from ApiVersions at start()),
//    as the Java client does. Produce v12+ adds a partition to the transaction on the broker, so
//    records go out at once with no AddPartitionsToTxn round trip; TxnOffsetCommit v5 adds the
//    group (no AddOffsetsToTxn); EndTxn v5 bumps the epoch after every transaction and the
//    producer adopts it (producer_epoch() grows by one per transaction), which closes the
//    "hanging transaction" window: a delayed Produce of an ended transaction is fenced by epoch.
//  - Version 1 otherwise (older brokers or clusters not upgraded): AddPartitionsToTxn batched as
//    new partitions appear, AddOffsetsToTxn, EndTxn v4 (epoch unchanged).
//
// Threading: every member must be called on the executor given to the constructor, which must be
// single-threaded (an io_context run by one thread, or a strand); see blocking_producer for
// other threads. Lifetime: stop() flushes and closes, bounded by its timeout; destroying a
// producer that was not stopped fails what it still holds and closes its connections.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/client/consumer_group_metadata.hpp"
#include "kafka/client/identifiers.hpp"
#include "kafka/client/topic_partition.hpp"
#include "kafka/producer/batch_builder.hpp"
#include "kafka/producer/delivery.hpp"
#include "kafka/producer/producer_config.hpp"
#include "kafka/records/record.hpp"

namespace sluice::kafka {

// What the producer has sent, for metrics: Produce requests written (retries count again), the
// batches and records in them and the batches' encoded bytes; batches sent again after a
// retriable error, and batches failed for good.
struct producer_statistics {
  std::uint64_t requests = 0;
  std::uint64_t batches = 0;
  std::uint64_t records = 0;
  std::uint64_t batch_bytes = 0;
  std::uint64_t retried_batches = 0;
  std::uint64_t failed_batches = 0;

  producer_statistics& operator+=(const producer_statistics& other) {
    requests += other.requests;
    batches += other.batches;
    records += other.records;
    batch_bytes += other.batch_bytes;
    retried_batches += other.retried_batches;
    failed_batches += other.failed_batches;
    return *this;
  }
};

class producer {
 public:
  // Throws kafka_error(bad_configuration) for a configuration validate() rejects.
  producer(asio::any_io_executor executor, producer_config config);
  ~producer();
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;

  // Connects, and gets a producer id for an idempotent or transactional producer (for the latter
  // from its transaction coordinator, fencing older producers with the same transactional id).
  // Throws kafka_error; bounded by max_block.
  asio::awaitable<void> start();
  // Sends what is queued, waits for it up to `timeout`, fails what is left, closes.
  asio::awaitable<void> stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000));

  // Queues a record and returns its delivery handle. Waits (up to max_block) only for the topic's
  // metadata or for buffer memory. `partition` overrides the partitioner; `timestamp` defaults to
  // now (ms since the epoch). Throws kafka_error: unknown topic or partition, record too large,
  // buffer full, producer stopped or failed, or (transactional) no transaction begun.
  asio::awaitable<delivery> send(std::string topic, std::optional<protocol::bytes> value,
                                 std::optional<protocol::bytes> key = std::nullopt,
                                 std::optional<partition_id> partition = std::nullopt,
                                 std::optional<timestamp_ms> timestamp = std::nullopt,
                                 std::vector<records::record_header> headers = {});
  // send() and wait for the delivery.
  asio::awaitable<record_metadata> send_and_wait(
      std::string topic, std::optional<protocol::bytes> value,
      std::optional<protocol::bytes> key = std::nullopt,
      std::optional<partition_id> partition = std::nullopt,
      std::optional<timestamp_ms> timestamp = std::nullopt,
      std::vector<records::record_header> headers = {});
  // The fast path for hot loops: queues without a coroutine when the topic's metadata is known
  // and the buffer has room; nullopt otherwise (then co_await send()). It also declines when the
  // sender is due to run (a batch filled up): the sender runs on the caller's executor, and
  // send() yields to it, so a loop of try_send() does not hold full batches back. Key and value
  // are copied into the batch before it returns. Throws like send() for records that can never
  // be sent.
  std::optional<delivery> try_send(std::string_view topic,
                                   std::optional<protocol::bytes_view> value,
                                   std::optional<protocol::bytes_view> key = std::nullopt,
                                   std::optional<partition_id> partition = std::nullopt,
                                   std::optional<timestamp_ms> timestamp = std::nullopt,
                                   std::span<const records::header_view> headers = {});

  // An empty batch for send_batch(), with this producer's compression and batch_size (aiokafka's
  // create_batch).
  batch_builder create_batch() const;
  // Queues a batch filled by the caller for one partition, as one batch, without lingering;
  // waits (up to max_block) only for the topic's metadata or for buffer memory. The handle is
  // the batch's outcome: the metadata of its first record (the batch's base offset); record i of
  // the batch is at that offset + i. Throws kafka_error like send(), and for an empty batch or one
  // larger than max_request_size.
  asio::awaitable<delivery> send_batch(batch_builder batch, std::string topic,
                                       partition_id partition);

  // Sends everything queued now and waits until each of those records is delivered or failed.
  asio::awaitable<void> flush();
  // The topic's partitions (refreshing metadata if the topic is not known yet).
  asio::awaitable<std::vector<partition_id>> partitions_for(std::string topic);

  // create_batch()/send_batch() (aiokafka's) hand the producer a whole batch built by the caller
  // for one partition; see batch_builder.hpp. Typed keys and values (serializers):
  // serializing_producer.hpp.
  //
  // Transactions (transactional_id set). Every call is bounded by max_block.
  void begin_transaction();
  // Flushes, then commits. Throws kafka_error: abortable (retriable() false, the transaction
  // must be aborted: call abort_transaction() and start over) or fatal (fenced).
  asio::awaitable<void> commit_transaction();
  // Drops what is not sent yet (those deliveries fail), waits for what is in flight, aborts.
  asio::awaitable<void> abort_transaction();
  // Adds consumed offsets to the transaction: they are committed for the group if and only if
  // the transaction commits (EOS). The offsets have the shape consumer::commit() takes (the
  // offset of the next record to consume, per partition). With the consumer's group metadata
  // the group coordinator fences zombies by generation and member (KIP-447).
  asio::awaitable<void> send_offsets_to_transaction(
      std::map<topic_partition, offset_and_metadata> offsets, consumer_group_metadata group);
  asio::awaitable<void> send_offsets_to_transaction(
      std::map<topic_partition, offset_and_metadata> offsets, std::string group_id);

  // Runs `body()` (a callable returning asio::awaitable<void>) in a transaction: commits when it
  // returns, aborts and rethrows when it (or the commit) throws.
  template <typename Body>
  asio::awaitable<void> run_in_transaction(Body body);

  const producer_config& config() const;
  producer_statistics statistics() const;
  // The idempotent producer's id and epoch (both -1 before start, or when not idempotent).
  producer_identity identity() const;
  // Testing hook: skips one sequence number on the partition, as if a batch had been lost, so
  // that the broker answers OUT_OF_ORDER_SEQUENCE_NUMBER and the epoch-bump recovery (KIP-360)
  // runs against a real broker.
  void skip_sequence_for_testing(const std::string& topic, partition_id partition);
  // The transaction protocol in use: 2 (KIP-890 part 2) or 1, decided by start(); 0 for a
  // producer without transactional_id.
  int transaction_version() const;
  // Testing hook: speak at most this transaction version (call before start()), to test the
  // version 1 protocol against a broker that offers version 2.
  void limit_transaction_version_for_testing(int version);
  // Testing hook: closes the connections the sender uses, failing the requests in flight with an
  // ambiguous outcome (the broker may have written them), as a network cut would.
  void close_connections_for_testing();

 private:
  struct impl;
  // Shared with the producer's background coroutines, which may outlive a call.
  std::shared_ptr<impl> impl_;

  asio::awaitable<void> abort_after_failure(std::exception_ptr failure);
};

template <typename Body>
asio::awaitable<void> producer::run_in_transaction(Body body) {
  begin_transaction();
  std::exception_ptr failure;
  try {
    co_await body();
    co_await commit_transaction();
  } catch (...) {
    failure = std::current_exception();
  }
  // (No co_await inside a catch block.)
  if (failure) co_await abort_after_failure(failure);
}

}  // namespace sluice::kafka
