#pragma once

// The producer's settings. Names and defaults are the Java client's (ProducerConfig, Kafka 4.x),
// spelled in snake_case: `linger` is `linger.ms`, `batch_size` is `batch.size`. `validate()`
// rejects wrong combinations before anything connects, with a message naming the settings.

#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "kafka/client/client_config.hpp"
#include "kafka/records/compression.hpp"

namespace sluice::kafka {

class partitioner;

// acks, with the values ProduceRequest carries.
enum class acks : std::int16_t { none = 0, leader = 1, all = -1 };

const char* to_string(acks value) noexcept;
// "0", "1", "all" or "-1"; nullopt otherwise.
std::optional<acks> parse_acks(std::string_view text);
// Kafka's compression.type names ("none", "gzip", "snappy", "lz4", "zstd"); nullopt otherwise.
std::optional<records::compression> parse_compression(std::string_view text);

struct producer_config : client_config {
  // acks: how many replicas must have the batch before the broker answers.
  kafka::acks acks = kafka::acks::all;
  // linger.ms: how long a batch that is not full waits for more records. 5 ms since Kafka 4.0
  // (KIP-1030): the cost is negligible and batches get much larger.
  std::chrono::milliseconds linger{5};
  // batch.size: the target size of one partition's batch, in bytes. For compressed batches the
  // estimated compressed size counts, from the topic's compression ratio so far, as in the Java
  // client (CompressionRatioEstimator): a batch of 1 KB records that lz4 shrinks to a third holds
  // about three times as many records as without compression. The default is the Java client's;
  // for throughput set it larger (librdkafka's default is 1 MB): the broker spends its CPU per
  // batch, and with at most max_in_flight_requests_per_connection batches in flight per
  // partition, small batches make the rate follow the broker's round-trip time. On the bench
  // (100 B records, acks=1, a busy 2-core machine) 1 MB batches ran at 1.5-2x the rate of 16 KB.
  std::size_t batch_size = 16'384;
  // buffer.memory: bytes of records waiting to be sent, over all partitions. A full buffer makes
  // send() wait up to max_block, then fail.
  std::size_t buffer_memory = 33'554'432;
  // max.block.ms: how long send() waits for buffer space or for topic metadata, and how long
  // start() and the transactional calls may take.
  std::chrono::milliseconds max_block{60'000};
  // max.request.size: the largest ProduceRequest (and therefore the largest record) sent.
  std::size_t max_request_size = 1'048'576;
  // delivery.timeout.ms: the upper bound from send() to success or failure, retries included.
  // Must be at least linger + request_timeout.
  std::chrono::milliseconds delivery_timeout{120'000};
  // retries: how often a failed batch is sent again (bounded by delivery_timeout anyway).
  std::int32_t retries = INT_MAX;
  // enable.idempotence. Unset means the Java default: on, unless acks, retries or
  // max_in_flight_requests_per_connection conflict with it, in which case it is quietly off. Set
  // to true explicitly, a conflict is a configuration error.
  std::optional<bool> enable_idempotence;
  // max.in.flight.requests.per.connection: at most 5 with idempotence (the broker keeps the last
  // five batches per partition to detect duplicates, KAFKA-5494).
  std::int32_t max_in_flight_requests_per_connection = 5;
  // compression.type and compression.<codec>.level (KIP-390). For lz4 the default level (9)
  // means lz4's fast mode, as in the Java client, and other levels LZ4HC (see
  // kafka/records/compression.hpp). LZ4HC costs: on 1 KB records of the bench (bench/run.py)
  // level 9 HC took 4.1 CPU s per million records against 2.5 for fast mode, for the same stored
  // size.
  records::compression compression = records::compression::none;
  int compression_level = records::default_compression_level;
  // transactional.id: enables transactions (and requires idempotence).
  std::optional<std::string> transactional_id;
  // transaction.timeout.ms: how long the coordinator lets a transaction stay open.
  std::chrono::milliseconds transaction_timeout{60'000};
  // partitioner.class: nullptr means the built-in one (murmur2 of the key like the Java client,
  // sticky for keyless records).
  std::shared_ptr<kafka::partitioner> partitioner;
  // partitioner.ignore.keys: spread keyed records like keyless ones (built-in partitioner only).
  bool partitioner_ignore_keys = false;

  // Whether the producer is idempotent once the Java defaults are applied.
  bool idempotent() const;
  bool transactional() const { return transactional_id.has_value(); }

  // Throws kafka_error(net_error::bad_configuration) naming the first bad setting.
  void validate() const;
};

}  // namespace sluice::kafka
