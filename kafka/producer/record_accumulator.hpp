#pragma once

// The producer's per-partition queues of record batches (Java's RecordAccumulator).
//
// send() appends a record to the last batch of its partition's queue, or opens a new batch when
// the record would push the last one past batch.size. Records are encoded straight into the
// batch's buffer (record_batch_builder), so a send costs one hash lookup of the topic and a
// memcpy of key and value: no allocation per record beyond the batch buffer, no timer per record.
// The sender takes batches from the front of the queues (see sender.hpp); a batch that must be
// retried goes back to the front, in its original order, so a partition's records stay in order.
//
// Buffer memory: every record's estimated size is counted from append until its batch is done;
// `has_room` tells send() whether it must wait (buffer.memory). A done batch's buffers go back to
// the accumulator's pool (batch_buffer_pool), which the next batches are encoded into.
//
// Threading: owned by one producer and used on its strand only. Topic and partition queues have
// stable addresses (topics are heap nodes, partitions a deque that only grows), so batches and
// in-flight requests point at them.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kafka/client/cluster_metadata.hpp"
#include "kafka/producer/batch_buffer_pool.hpp"
#include "kafka/producer/batch_state.hpp"
#include "kafka/producer/delivery.hpp"
#include "kafka/producer/partitioner.hpp"
#include "kafka/records/record_batch_builder.hpp"

namespace sluice::kafka {

struct partition_queue;
struct topic_queue;

using producer_clock = std::chrono::steady_clock;

// One batch of records for one partition, from the first append until the broker answered
// for it (or it failed).
struct producer_batch {
  producer_batch(records::record_batch_builder_options options,
                 std::shared_ptr<detail::batch_state> state, protocol::bytes buffer)
      : state(std::move(state)), builder(options, std::move(buffer)) {}
  producer_batch(records::record_batch_builder filled, std::shared_ptr<detail::batch_state> state)
      : state(std::move(state)), builder(std::move(filled)) {}

  std::shared_ptr<detail::batch_state> state;
  records::record_batch_builder builder;
  topic_queue* topic = nullptr;
  partition_queue* queue = nullptr;
  producer_clock::time_point created{};
  // Not sent again before this (retry.backoff.ms after a failure).
  producer_clock::time_point retry_after{};
  int attempts = 0;
  // The order the partition's batches were opened in; retries go back into the queue by it.
  std::uint64_t order = 0;
  // Idempotence (KIP-98): stamped when first drained, and again after an epoch bump (KIP-360).
  bool stamped = false;
  std::int64_t producer_id = records::no_producer_id;
  std::int16_t producer_epoch = records::no_producer_epoch;
  std::int32_t base_sequence = records::no_sequence;
  // The encoded batch (record_batch_builder::finish_into; the builder takes no more records once
  // it is set), so a retry sends identical bytes and compresses only once. Shared with the
  // connection until a request carrying it was written (requests borrow it, uncopied).
  std::shared_ptr<protocol::bytes> encoded;
  // Buffer memory this batch holds (the sum of its records' estimates).
  std::size_t reserved = 0;
  // Why the last attempt failed, for the message when the batch finally fails.
  std::string last_error;
  // Takes no more records and is ready regardless of linger (a batch from send_batch()).
  bool closed = false;
};

struct partition_queue {
  partition_queue(topic_queue* topic, std::int32_t partition)
      : topic(topic), partition(partition) {}

  topic_queue* topic;
  std::int32_t partition;
  std::int32_t leader = -1;
  std::deque<std::unique_ptr<producer_batch>> batches;  // oldest first; none of them in flight
  // Batches sent and not answered yet, in the order they were sent.
  std::vector<producer_batch*> in_flight;
  // A batch came back to be retried: nothing more is sent for the partition until every batch
  // still in flight is back, so the retry goes out before anything that followed it.
  bool retrying = false;
  std::uint64_t next_order = 0;
  // Idempotence: the sequence number the next stamped batch gets.
  std::int32_t next_sequence = 0;
  // Whether the broker acknowledged a batch of this producer epoch. Until then only one batch is
  // in flight: a broker without state for the producer accepts any first sequence, so a later
  // batch could be written before an earlier one that failed (e.g. NOT_LEADER_OR_FOLLOWER on a
  // new partition), and the order would be lost.
  bool sequence_confirmed = false;
  // Transactions: added to the current transaction, or waiting for AddPartitionsToTxn.
  bool in_transaction = false;
  bool transaction_pending = false;
};

struct topic_queue {
  std::shared_ptr<const std::string> name;
  // Compressed bytes per uncompressed byte of this topic's batches so far (Java's
  // CompressionRatioEstimator; 1 until a compressed batch was built).
  float compression_ratio = 1.0F;
  bool compression_observed = false;
  topic_info info;  // partitions and leaders, as of the last metadata refresh
  std::deque<partition_queue> partitions;
  sticky_partition_state sticky;
};

struct accumulator_options {
  std::size_t batch_size = 16'384;
  std::size_t buffer_memory = 33'554'432;
  records::compression codec = records::compression::none;
  int compression_level = records::default_compression_level;
  bool transactional = false;
  // The most uncompressed bytes one batch takes, whatever the compression ratio promises, so
  // that a batch of suddenly incompressible records still fits a request (the producer passes
  // max_request_size; Java splits such batches after MESSAGE_TOO_LARGE instead).
  std::size_t max_uncompressed_batch = 1'048'576;
};

class record_accumulator {
 public:
  record_accumulator(asio::any_io_executor executor, accumulator_options options);
  record_accumulator(const record_accumulator&) = delete;
  record_accumulator& operator=(const record_accumulator&) = delete;

  topic_queue* find(std::string_view topic);
  // Adds the topic, or updates its partitions and leaders from fresh metadata (partitions only
  // grow in Kafka).
  topic_queue& update(const topic_info& info);
  auto& topics() { return topics_; }

  // An upper bound of the bytes one record adds to a batch (v2 record framing included).
  static std::size_t estimated_size(std::optional<protocol::bytes_view> key,
                                    std::optional<protocol::bytes_view> value,
                                    std::span<const records::header_view> headers);
  bool has_room(std::size_t record_size) const {
    return used_ + record_size <= options_.buffer_memory;
  }
  std::size_t buffer_used() const { return used_; }
  const accumulator_options& options() const { return options_; }

  struct append_result {
    delivery handle;
    bool new_batch = false;   // a batch was opened (the sender may need to wake up for its linger)
    bool batch_full = false;  // a batch is ready to send regardless of linger
    producer_clock::time_point created{};  // when the new batch was opened
  };
  // Appends one record; the caller has checked has_room(record_size). Reads the clock only when
  // it opens a batch.
  append_result append(topic_queue& topic, partition_queue& queue, std::int64_t timestamp,
                       std::optional<protocol::bytes_view> key,
                       std::optional<protocol::bytes_view> value,
                       std::span<const records::header_view> headers, std::size_t record_size);

  // Queues a batch the caller built (producer::send_batch) behind the partition's open batches,
  // closed: it takes no more records and goes out without lingering. `reserved` is its buffer
  // memory (the caller has checked has_room). The handle is that of its first record.
  delivery append_batch(topic_queue& topic, partition_queue& queue,
                        records::record_batch_builder builder, std::vector<std::int64_t> timestamps,
                        std::size_t reserved);

  // The bytes a batch will take on the wire, estimated: for a compressed batch its uncompressed
  // records scaled by the topic's compression ratio (and 5% of slack), as Java's
  // MemoryRecordsBuilder.estimatedBytesWritten does. batch_size bounds this figure, so
  // compressed batches hold about batch_size bytes after compression, as in the Java client.
  std::size_t estimated_batch_bytes(const producer_batch& batch) const;
  // A record's share of that figure (what the sticky partitioner counts against batch_size).
  std::size_t estimated_record_bytes(const topic_queue& topic, std::size_t record_size) const;
  // Learns from a batch just compressed: `uncompressed` (builder.estimated_size()) became
  // `compressed` bytes. The topic's first observation is taken as it is; after that Java's
  // steps: a worse ratio is taken at once (at least +0.05), a better one approached by 0.005 per
  // batch, so that one well-compressing batch does not make the next, less compressible one
  // overshoot batch_size by much. (Java starts from 1.0 and steps from there too; but a producer
  // queues far ahead of what it sends, so by the time a few hundred batches were sent and
  // observed, a burst has long been cut into batches at the uncompressed size. Hence also the
  // sample in append().)
  void observe_compression(topic_queue& topic, std::size_t uncompressed,
                           std::size_t compressed) const;

  // Whether the front batch is ready to go because it is full (not the last in its queue, or at
  // batch.size).
  bool full(const partition_queue& queue) const;

  // Puts a batch that must be retried back into its queue, before every batch opened after it.
  static void requeue(std::unique_ptr<producer_batch> batch);
  // Gives back a finished batch's buffer memory, and its buffers to the pool (the encoded one
  // only when no request still holds it).
  void release(producer_batch& batch);
  batch_buffer_pool& buffers() { return buffers_; }
  // Batches queued or in flight.
  std::size_t open_batches() const { return open_batches_; }
  void batch_finished() { --open_batches_; }

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept {
      return std::hash<std::string_view>{}(text);
    }
  };
  asio::any_io_executor executor_;
  accumulator_options options_;
  std::unordered_map<std::string, std::unique_ptr<topic_queue>, string_hash, std::equal_to<>>
      topics_;
  std::size_t used_ = 0;
  std::size_t open_batches_ = 0;
  batch_buffer_pool buffers_;
};

}  // namespace sluice::kafka
