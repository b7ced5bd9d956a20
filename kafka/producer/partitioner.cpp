#include "kafka/producer/partitioner.hpp"

#include <random>
#include <vector>

namespace sluice::kafka {

std::int32_t murmur2(protocol::bytes_view data) noexcept {
  // A transcription of Utils.murmur2, with Java's wrapping int arithmetic done in uint32_t.
  const auto length = static_cast<std::uint32_t>(data.size());
  constexpr std::uint32_t seed = 0x9747b28c;
  constexpr std::uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  std::uint32_t h = seed ^ length;
  const auto byte = [&](std::size_t i) {
    return static_cast<std::uint32_t>(std::to_integer<std::uint8_t>(data[i]));
  };
  const std::size_t blocks = data.size() / 4;
  for (std::size_t i = 0; i < blocks; ++i) {
    const std::size_t at = i * 4;
    std::uint32_t k = byte(at) | (byte(at + 1) << 8) | (byte(at + 2) << 16) | (byte(at + 3) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const std::size_t tail = blocks * 4;
  switch (data.size() % 4) {
    case 3:
      h ^= byte(tail + 2) << 16;
      [[fallthrough]];
    case 2:
      h ^= byte(tail + 1) << 8;
      [[fallthrough]];
    case 1:
      h ^= byte(tail);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<std::int32_t>(h);
}

std::int32_t partition_for_key(protocol::bytes_view key, std::int32_t partition_count) noexcept {
  return to_positive(murmur2(key)) % partition_count;
}

namespace {

std::uint32_t random_index(std::uint32_t bound) {
  static thread_local std::minstd_rand random{std::random_device{}()};
  return std::uniform_int_distribution<std::uint32_t>(0, bound - 1)(random);
}

}  // namespace

std::int32_t sticky_partition_state::next(const topic_info& topic, std::size_t record_bytes,
                                          std::size_t batch_size) {
  const auto count = static_cast<std::int32_t>(topic.partitions.size());
  if (current_ < 0 || current_ >= count || produced_ >= batch_size) {
    // Prefer partitions with a leader: records for a leaderless one would only wait.
    std::vector<std::int32_t> available;
    available.reserve(topic.partitions.size());
    for (const auto& partition : topic.partitions) {
      if (partition.leader >= 0 && partition.partition != current_)
        available.push_back(partition.partition);
    }
    if (!available.empty()) {
      current_ = available[random_index(static_cast<std::uint32_t>(available.size()))];
    } else if (count == 1 || current_ < 0 || current_ >= count) {
      current_ = static_cast<std::int32_t>(random_index(static_cast<std::uint32_t>(count)));
    } else {
      // No other partition has a leader: keep going to the current one rather than a dead one.
    }
    produced_ = 0;
  }
  produced_ += record_bytes;
  return current_;
}

std::int32_t round_robin_partitioner::partition(const topic_info& topic,
                                                std::optional<protocol::bytes_view>,
                                                std::optional<protocol::bytes_view>) {
  auto [it, inserted] = next_.try_emplace(topic.name, 0);
  const auto chosen = it->second++ % static_cast<std::uint32_t>(topic.partitions.size());
  return static_cast<std::int32_t>(chosen);
}

}  // namespace sluice::kafka
