#pragma once

// The producer's sender: one coroutine that drains ready batches (full, lingered long enough,
// flushed, or retried after their backoff) into ProduceRequests, several partitions per request
// and up to max_in_flight_requests_per_connection requests per broker, and the housekeeping it
// starts: connects, metadata refreshes, AddPartitionsToTxn, epoch bumps.
//
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
//   (idempotence.hpp)
// - Sequence gaps (KIP-360). OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID for the first
//   unacknowledged batch of a partition, or a stamped batch that fails for good, means the broker
//   and the producer disagree: the sender stops draining, waits until nothing is in flight, bumps
//   the epoch (locally for an idempotent producer; on abort for a transactional one), restarts
//   every partition at sequence 0 and resends what was not acknowledged, in order.
// - Transactions use version 2 (KIP-890 part 2) when the cluster finalized transaction.version 2,
//   else version 1. Version 1 adds partitions explicitly (AddPartitionsToTxn, batched per sender
//   pass) and a batch of a partition not yet added waits; version 2 sends at once and Produce
//   v12+ adds the partition on the broker. Fencing errors are fatal, any other failed batch makes
//   the transaction abortable (batch_completion.hpp). Nothing is sent while a transaction aborts.
// - Nothing hangs: every batch ends within delivery_timeout (or stop()'s timeout), every
//   transactional call within max_block, and batches coming back after stop() fail at once.
//
// Threading: the producer's executor; the producer, which owns this, outlives its coroutines
// (producer_core::spawn keeps it alive).

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "kafka/net/connection.hpp"
#include "kafka/producer/batch_completion.hpp"
#include "kafka/producer/producer_core.hpp"
#include "kafka/producer/transaction_manager.hpp"

namespace sluice::kafka {

class sender {
 public:
  using clock = producer_clock;

  sender(producer_core& core, batch_completion& outcomes, transaction_manager& transactions)
      : core_(core), outcomes_(outcomes), transactions_(transactions) {}

  // The loop, until the producer is closed.
  asio::awaitable<void> run();
  // Batches in requests not answered yet.
  int batches_in_flight() const { return batches_in_flight_; }
  // With acks=0 a batch is done once handed to its connection, before the broker has read it. A
  // request that is answered, sent after it on the same connection, is a barrier: Kafka handles a
  // connection's requests in order, so once the answer is back every earlier batch was appended.
  asio::awaitable<void> write_barrier();
  // Closes the connections to the brokers; requests in flight fail with an ambiguous outcome.
  void close_connections();

 private:
  // One connection per broker and the requests in flight on it.
  struct sink {
    std::shared_ptr<connection> conn;
    bool connecting = false;
    int in_flight = 0;
  };
  using batches = std::vector<std::unique_ptr<producer_batch>>;

  clock::time_point run_once(clock::time_point now);
  bool sendable(const partition_queue& queue, clock::time_point now, clock::time_point& next) const;
  void drain(clock::time_point now, clock::time_point& next);
  // Batches for one broker, up to max_request_size, one per partition, rotating which
  // partition goes first.
  batches take_request(std::vector<partition_queue*>& queues, clock::time_point now);
  bool prepare(producer_batch& batch);
  std::int16_t produce_version(const connection& conn, const batches& taken) const;
  void finish_request(std::int32_t node, std::size_t batch_count);

  asio::awaitable<void> connect(std::int32_t node);
  asio::awaitable<void> refresh_metadata();
  asio::awaitable<void> produce(std::int32_t node, std::shared_ptr<connection> conn, batches taken);
  void handle_response(std::int32_t node, std::int16_t version, const connection::raw_reply& reply,
                       batches taken, clock::time_point now);
  asio::awaitable<void> bump_epoch();
  asio::awaitable<void> add_partitions(std::vector<partition_queue*> queues);

  producer_core& core_;
  batch_completion& outcomes_;
  transaction_manager& transactions_;
  std::map<std::int32_t, sink> sinks_;
  int batches_in_flight_ = 0;
  bool metadata_refreshing_ = false;
  clock::time_point metadata_not_before_{};
  std::size_t drain_rotation_ = 0;
};

}  // namespace sluice::kafka
