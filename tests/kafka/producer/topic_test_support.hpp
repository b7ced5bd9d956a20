#pragma once

// Topic metadata for the producer's unit tests: the queues need partitions with a leader.

#include "kafka/client/cluster_metadata.hpp"

namespace sluice::kafka {

// "orders" with `partitions` partitions, all led by broker 1.
inline topic_info orders_topic(int partitions = 1) {
  topic_info topic;
  topic.name = "orders";
  for (int i = 0; i < partitions; ++i) {
    partition_info partition;
    partition.partition = i;
    partition.leader = 1;
    topic.partitions.push_back(partition);
  }
  return topic;
}

}  // namespace sluice::kafka
