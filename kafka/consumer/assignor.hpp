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
//   sticky              (eager) balanced, keeps each member's previous partitions where it can;
//                       the previous assignment and generation travel in the subscription's user
//                       data encoded as Java's StickyAssignor writes them, so Java members agree
//   cooperative-sticky  the same placement, and never moves a partition in one step: a partition
//                       still owned by another member is left out until its owner has revoked it
//                       and rejoined (KIP-429)
//
// Both sticky assignors place alike: each member keeps its validly owned partitions, the others
// go to the least loaded subscriber, then partitions move from a member to a subscriber with at
// least two fewer until none can: with equal subscriptions the loads differ by at most one and
// only the excess of an overloaded member moves.
//
// Applications add their own assignors (partition_assignor, registered in
// consumer_config::custom_assignors and named in assignment_strategies).
//
// Members are ordered by group instance id when they have one, else by member id (as Java does,
// so a static member keeps its partitions across restarts).

#include <cstdint>
#include <map>
#include <memory>
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
  // The assignor's bytes from the member's subscription (ConsumerProtocolSubscription.UserData).
  std::optional<std::string> user_data;
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
// Eager sticky: each member's previous partitions come from its user data (Java's StickyAssignor
// ignores owned_partitions, since eager members revoke everything before joining).
group_assignment assign_sticky(const partition_counts& topics,
                               const std::vector<member_subscription>& members);

// Java StickyAssignor's user data (STICKY_ASSIGNOR_USER_DATA_V1, the old non-flexible Struct
// encoding): [int32 count]{[int16 len][topic][int32 count][int32 partition]...}[int32 generation].
// V0 (no generation) decodes with generation -1. nullopt: not sticky user data.
std::string encode_sticky_user_data(const std::vector<topic_partition>& partitions,
                                    std::int32_t generation);
struct sticky_user_data {
  std::vector<topic_partition> partitions;
  std::int32_t generation = -1;
};
std::optional<sticky_user_data> decode_sticky_user_data(std::string_view data);

// An assignor of the classic protocol. The group leader calls assign() with every member's
// subscription; every member is told its own result through on_assignment(). Called on the
// consumer's executor, one call at a time; an exception from assign() fails the rebalance
// (kafka_error thrown to getmany).
class partition_assignor {
 public:
  virtual ~partition_assignor() = default;
  // The name in JoinGroup; every member of the group must offer an assignor of this name.
  virtual std::string name() const = 0;
  // Eager members revoke everything before each rebalance; cooperative ones (KIP-429) only what
  // the assignment moves, and the assignor must not move a partition between two members in one
  // rebalance (give it to nobody until its owner revoked it).
  virtual rebalance_protocol protocol() const { return rebalance_protocol::eager; }
  // This member's user data for the subscription (e.g. what it had before).
  virtual std::optional<std::string> subscription_user_data(
      const std::vector<std::string>& topics) {
    (void)topics;
    return std::nullopt;
  }
  // The leader's part: an entry per member, each partition to at most one member.
  virtual group_assignment assign(const partition_counts& topics,
                                  const std::vector<member_subscription>& members) = 0;
  // The leader's bytes for one member's assignment (ConsumerProtocolAssignment.UserData), asked
  // for each member right after assign(): what the partitions alone cannot say (Kafka Streams
  // sends standby tasks this way).
  virtual std::optional<std::string> assignment_user_data(const std::string& member_id) {
    (void)member_id;
    return std::nullopt;
  }
  // This member's new partitions, the group generation and the leader's user data for it, after
  // each rebalance.
  virtual void on_assignment(const std::vector<topic_partition>& assigned,
                             std::int32_t generation) {
    (void)assigned;
    (void)generation;
  }
  virtual void on_assignment(const std::vector<topic_partition>& assigned, std::int32_t generation,
                             const std::optional<std::string>& user_data) {
    (void)user_data;
    on_assignment(assigned, generation);
  }
};

// A new object for a built-in assignor (sticky keeps per-member state, so one per consumer);
// nullptr for an unknown name.
std::shared_ptr<partition_assignor> make_builtin_assignor(std::string_view name);

// By name ("range", "roundrobin", "sticky", "cooperative-sticky"); throws
// kafka_error(bad_configuration) for an unknown name.
group_assignment run_assignor(std::string_view name, const partition_counts& topics,
                              const std::vector<member_subscription>& members);
rebalance_protocol protocol_of(std::string_view assignor_name);

}  // namespace sluice::kafka
