#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kafka/protocol/error_code.hpp"
#include "kafka/protocol/wire.hpp"

namespace sluice::kafka {

struct broker_info {
  std::int32_t node_id = -1;
  std::string host;
  std::int32_t port = 0;
  std::optional<std::string> rack;
};

struct partition_info {
  std::int32_t partition = 0;
  std::int32_t leader = -1;  // -1 while the partition has no leader
  std::int32_t leader_epoch = -1;
  std::vector<std::int32_t> replicas;
  std::vector<std::int32_t> in_sync_replicas;
  std::vector<std::int32_t> offline_replicas;
  error_code error = error_code::none;
};

struct topic_info {
  std::string name;
  protocol::uuid id;
  bool internal = false;
  std::vector<partition_info> partitions;  // ordered by partition index
  error_code error = error_code::none;
};

// What the client knows of the cluster, as of `fetched_at`.
struct cluster_metadata {
  std::string cluster_id;
  std::int32_t controller_id = -1;  // under KRaft: a broker that forwards to the active controller
  std::map<std::int32_t, broker_info> brokers;
  std::map<std::string, topic_info> topics;
  std::chrono::steady_clock::time_point fetched_at{};

  const topic_info* topic(const std::string& name) const {
    auto it = topics.find(name);
    return it == topics.end() ? nullptr : &it->second;
  }
};

}  // namespace sluice::kafka
