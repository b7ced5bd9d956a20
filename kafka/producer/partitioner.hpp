#pragma once

// Choosing a partition for a record.
//
// Keyed records: the Java client's mapping, exactly: toPositive(murmur2(key)) % partitions, with
// Kafka's own murmur2 (seed 0x9747b28c, Utils.murmur2), so a key lands on the same partition
// whichever client wrote it (Java, librdkafka's "murmur2_random", franz-go's default).
//
// Keyless records: the built-in sticky partitioner (KIP-480, KIP-794): all keyless records of a
// topic go to one partition until about batch.size bytes went there, then another partition,
// chosen at random among those with a leader. Batches fill up instead of trickling one record
// per partition, which is what makes keyless produce fast.
//
// User partitioners implement `partitioner`; the producer calls them on its own strand, one call
// per record, so they need no locking but must be quick.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "kafka/client/cluster_metadata.hpp"
#include "kafka/protocol/wire.hpp"

namespace sluice::kafka {

// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a Java int.
std::int32_t murmur2(protocol::bytes_view data) noexcept;
// Utils.toPositive: clears the sign bit (not abs: abs(INT_MIN) is negative).
constexpr std::int32_t to_positive(std::int32_t value) noexcept {
  return value & 0x7fffffff;
}
// The Java client's partition for a key (BuiltInPartitioner.partitionForKey).
std::int32_t partition_for_key(protocol::bytes_view key, std::int32_t partition_count) noexcept;

class partitioner {
 public:
  virtual ~partitioner() = default;
  // A partition in [0, topic.partitions.size()). `topic` has at least one partition.
  virtual std::int32_t partition(const topic_info& topic, std::optional<protocol::bytes_view> key,
                                 std::optional<protocol::bytes_view> value) = 0;
};

// The keyless half of the built-in partitioner, for one topic: sticks to a partition until
// `batch_size` bytes were appended to it, then moves to a random partition with a leader.
class sticky_partition_state {
 public:
  // The partition for the next keyless record of about `record_bytes` bytes.
  std::int32_t next(const topic_info& topic, std::size_t record_bytes, std::size_t batch_size);
  std::int32_t current() const { return current_; }

 private:
  std::int32_t current_ = -1;
  std::size_t produced_ = 0;
};

// Java's RoundRobinPartitioner: every record (keyed or not) to the next partition in turn.
class round_robin_partitioner final : public partitioner {
 public:
  std::int32_t partition(const topic_info& topic, std::optional<protocol::bytes_view> key,
                         std::optional<protocol::bytes_view> value) override;

 private:
  std::unordered_map<std::string, std::uint32_t> next_;
};

}  // namespace sluice::kafka
