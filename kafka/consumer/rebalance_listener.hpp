#pragma once

// Called by the consumer around group rebalances (aiokafka's ConsumerRebalanceListener, Java's
// ConsumerRebalanceListener). Each callback is awaited before fetching goes on: commit offsets or
// flush state in on_partitions_revoked, restore state in on_partitions_assigned.
//
// With the cooperative protocol (KIP-429) `revoked` holds only the partitions that move away and
// `assigned` only the new ones; with eager assignors everything is revoked and re-assigned.
// on_partitions_lost is called instead of revoked when the partitions may already belong to
// another member (the session expired, the member was fenced): committing them would fail.

#include <boost/asio/awaitable.hpp>
#include <vector>

#include "kafka/consumer/topic_partition.hpp"

namespace sluice::kafka {

class rebalance_listener {
 public:
  virtual ~rebalance_listener() = default;
  virtual boost::asio::awaitable<void> on_partitions_revoked(
      std::vector<topic_partition> revoked) = 0;
  virtual boost::asio::awaitable<void> on_partitions_assigned(
      std::vector<topic_partition> assigned) = 0;
  // Java's default: treat lost partitions like revoked ones.
  virtual boost::asio::awaitable<void> on_partitions_lost(std::vector<topic_partition> lost) {
    co_await on_partitions_revoked(std::move(lost));
  }
};

}  // namespace sluice::kafka
