#pragma once

// Partition assignors of the classic group protocol: pure functions from the members'
// subscriptions and the topics' partition counts to an assignment. The group leader runs the one
// the coordinator chose (the protocol every member supports, by the members' votes) and sends the
// result in SyncGroup. Names and algorithms are the Java client's, so that a group can mix Sluice,
// Java, librdkafka and Python members:
//
//   range               per topic, the members subscribed to it (sorted) get consecutive ranges;
//                       the first (partitions % members) get one extra (RangeAssignor)
//   roundrobin          all partitions sorted by topic and index dealt in turn to the sorted
//                       members, skipping members not subscribed to the topic (RoundRobinAssignor)
//   cooperative-sticky  balanced, keeps each member's owned partitions where it can, and never
//                       moves a partition in one step: a partition still owned by another member is
//                       left out until its owner has revoked it and rejoined (KIP-429)
//
// Members are ordered by group instance id when they have one, else by member id (as Java does,
// so a static member keeps its partitions across restarts).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/consumer/topic_partition.hpp"

namespace sluice::kafka {

struct member_subscription {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<std::string> topics;
  std::vector<topic_partition> owned_partitions;  // what the member owns now (cooperative)
  std::int32_t generation = -1;                   // of owned_partitions (-1: unknown)
  std::optional<std::string> rack;
};

// member id -> assigned partitions; every member appears, possibly with none.
using group_assignment = std::map<std::string, std::vector<topic_partition>>;

enum class rebalance_protocol : std::uint8_t { eager, cooperative };

// Partition counts by topic; topics missing here (deleted, unknown) are not assigned.
using partition_counts = std::map<std::string, std::int32_t>;

group_assignment assign_range(const partition_counts& topics,
                              const std::vector<member_subscription>& members);
group_assignment assign_roundrobin(const partition_counts& topics,
                                   const std::vector<member_subscription>& members);
group_assignment assign_cooperative_sticky(const partition_counts& topics,
                                           const std::vector<member_subscription>& members);

// By name ("range", "roundrobin", "cooperative-sticky"); throws kafka_error(bad_configuration) for
// an unknown name.
group_assignment run_assignor(std::string_view name, const partition_counts& topics,
                              const std::vector<member_subscription>& members);
rebalance_protocol protocol_of(std::string_view assignor_name);

}  // namespace sluice::kafka
