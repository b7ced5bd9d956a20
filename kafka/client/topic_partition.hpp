#pragma once

// Partition and offset vocabulary shared by the consumer, the producer (transactional offsets)
// and the admin client.

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace sluice::kafka {

// A partition of a topic: what a consumer is assigned, seeks and commits.
struct topic_partition {
  std::string topic;
  std::int32_t partition = 0;

  auto operator<=>(const topic_partition&) const = default;
  bool operator==(const topic_partition&) const = default;
  std::string to_string() const { return topic + "-" + std::to_string(partition); }
};

// An offset to commit, with the optional metadata string OffsetCommit carries.
struct offset_and_metadata {
  std::int64_t offset = 0;
  std::string metadata;
  // The leader epoch of the last consumed record (KIP-320), -1 if unknown.
  std::int32_t leader_epoch = -1;
  bool operator==(const offset_and_metadata&) const = default;
};

// What offsets_for_times finds: the first offset whose timestamp is >= the one asked for.
struct offset_and_timestamp {
  std::int64_t offset = 0;
  std::int64_t timestamp = 0;
  bool operator==(const offset_and_timestamp&) const = default;
};

}  // namespace sluice::kafka

template <>
struct std::hash<sluice::kafka::topic_partition> {
  std::size_t operator()(const sluice::kafka::topic_partition& tp) const noexcept {
    return std::hash<std::string>{}(tp.topic) * 31 + static_cast<std::size_t>(tp.partition);
  }
};
