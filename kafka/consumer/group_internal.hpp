#pragma once

// What the consumer's group code shares between its translation units: consumer_group.cpp (the
// classic protocol, commits, the group API) and group_member.cpp (the KIP-848 `consumer`
// protocol). Not a public header. Everything here runs on the consumer's executor.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "kafka/consumer/consumer_impl.hpp"

namespace sluice::kafka::group_detail {

using clock = std::chrono::steady_clock;

kafka_error illegal_state(const std::string& what);
// NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS: find it again.
bool coordinator_moved(error_code code);
std::vector<topic_partition> sorted(const std::set<topic_partition>& partitions);
std::string names(const std::vector<topic_partition>& partitions);
// The partitions assigned to the consumer now.
std::set<topic_partition> owned(const consumer::impl& self);

// The coordinator connection for one kind of traffic (JoinGroup/SyncGroup, or the rest), found
// and opened on demand; retried until the API deadline.
asio::awaitable<std::shared_ptr<connection>> coordinator(consumer::impl& self, bool for_join);
// Forgets the coordinator's connections (after an error that says it moved).
void coordinator_lost(group_state& g);

// Which rebalance_listener callback call_listener runs.
constexpr int revoked_kind = 0;
constexpr int assigned_kind = 1;
constexpr int lost_kind = 2;
// Runs a listener callback (none: nothing); a failing listener is logged and does not stop the
// rebalance. While it runs, the consumer hands out and fetches nothing.
asio::awaitable<void> call_listener(group_state* g, int kind,
                                    std::vector<topic_partition> partitions);

// Rebalance timing for consumer::group_statistics(): a rebalance starts when the member (re)joins
// or learns of a new assignment, and ends when the new assignment is in place (listeners done).
inline void note_rebalance_start(group_state& g) {
  if (g.in_rebalance) return;
  g.in_rebalance = true;
  g.rebalance_started = clock::now();
}
inline void note_rebalance_end(group_state& g) {
  if (!g.in_rebalance) return;
  g.in_rebalance = false;
  g.rebalance_ended = clock::now();
  ++g.rebalances;
}

// ---- group_member.cpp (KIP-848) ----
// The member's heartbeat loop: joins (epoch 0), heartbeats at the coordinator's interval, hands
// new target assignments to the reconciliation, rejoins after being fenced. Runs while the
// consumer is subscribed.
asio::awaitable<void> member_loop(consumer::impl* self);
// Leaves the group: a heartbeat with epoch -1, or -2 for a static member (KIP-848), whose
// partitions then wait for its instance id to come back until the session timeout. `release`
// makes a static member leave with -1 too (leave_group_on_close), handing its partitions over.
asio::awaitable<void> member_leave(consumer::impl& self, std::string reason, bool release = false);

}  // namespace sluice::kafka::group_detail
