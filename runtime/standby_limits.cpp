#include "runtime/standby_limits.hpp"

#include <algorithm>

namespace sluice::runtime {

void standby_limits::track(const std::vector<kafka::topic_partition>& partitions) {
  bool added = false;
  for (const auto& partition : partitions) added = tracked_.insert(partition).second || added;
  if (added) next_refresh_ = clock::time_point{};  // a new standby waits for its first limit
}

void standby_limits::forget(const std::vector<kafka::topic_partition>& partitions) {
  for (const auto& partition : partitions) {
    tracked_.erase(partition);
    limits_.erase(partition);
  }
}

std::vector<kafka::topic_partition> standby_limits::begin_refresh(clock::time_point now) {
  next_refresh_ = now + refresh_every_;
  return {tracked_.begin(), tracked_.end()};
}

void standby_limits::refresh_failed(clock::time_point now) {
  next_refresh_ = now + std::max<clock::duration>(refresh_every_, failure_backoff);
}

std::map<kafka::topic_partition, std::int64_t> standby_limits::update(
    const std::map<kafka::topic_partition, std::int64_t>& committed) {
  std::map<kafka::topic_partition, std::int64_t> moved;
  for (const auto& [partition, offset] : committed) {
    if (!tracked_.contains(partition)) continue;  // forgotten while the lookup ran
    auto [known, inserted] = limits_.try_emplace(partition, offset);
    if (!inserted) {
      if (offset <= known->second) continue;
      known->second = offset;
    }
    moved.emplace(partition, offset);
  }
  return moved;
}

std::optional<std::int64_t> standby_limits::limit(const kafka::topic_partition& partition) const {
  auto found = limits_.find(partition);
  if (found == limits_.end()) return std::nullopt;
  return found->second;
}

}  // namespace sluice::runtime
