#pragma once

// The one interface of the two consumer group protocols, so that the code they share (the group
// API, commits, the fetch scheduler's group tick; consumer_group.cpp, group_offsets.cpp) does not
// ask which one runs:
//   classic_group            JoinGroup / SyncGroup / Heartbeat with client-side assignors
//                            (classic_group.cpp)
//   consumer_protocol_group  KIP-848's ConsumerGroupHeartbeat, the coordinator assigns
//                            (consumer_protocol_group.cpp)
// Each keeps its own explicit state (classic_member_state, consumer_member_state); what both
// share (member id, generation or member epoch, lost partitions, poll timeout, fatal error, the
// subscription) is in group_state (consumer_impl.hpp). One object per consumer with a group_id,
// owned by its group_state; everything runs on the consumer's executor.

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "kafka/consumer/consumer.hpp"

namespace sluice::kafka::group_detail {

class group_protocol {
 public:
  virtual ~group_protocol() = default;

  // The fetch scheduler's turn while subscribed (consumer::impl::group_tick): starts the join or
  // heartbeat task when one is due.
  virtual void tick() = 0;
  // A member of the current generation (classic) or member epoch (KIP-848) that holds its
  // assignment: auto commits may go out.
  virtual bool stable() const = 0;
  // True while the protocol forbids fetching and handing out records (an eager rebalance between
  // revoking everything and the new assignment).
  virtual bool blocks_fetching() const = 0;
  // The subscription changed (subscribe, or a pattern matches other topics now): classic rejoins,
  // KIP-848 sends the next heartbeat at once.
  virtual void subscription_changed() = 0;
  // A rebalance is wanted (consumer::request_rejoin, a commit the group refused): classic rejoins;
  // under KIP-848 the coordinator drives rebalances and this does nothing.
  virtual void request_rejoin() = 0;
  // The metadata of the subscribed topics was refreshed (classic: a topic that appeared or gained
  // partitions makes the member rejoin; KIP-848's coordinator notices that itself).
  virtual void metadata_refreshed() = 0;
  // stop() or unsubscribe() start leaving: no more joins, heartbeats or reconciliations.
  virtual void begin_leaving() = 0;
  // Leaves the group (LeaveGroup, or a heartbeat with epoch -1 / -2). `closing`: stop() or
  // unsubscribe(), where leave_group_on_close decides whether a static member leaves.
  virtual boost::asio::awaitable<void> leave(std::string reason, bool closing) = 0;
  // unsubscribe() finished: not a member and no join due.
  virtual void unsubscribed() = 0;
};

// The protocol config.group_protocol names, for the consumer `self` (which owns it).
std::unique_ptr<group_protocol> make_group_protocol(consumer::impl& self);

}  // namespace sluice::kafka::group_detail
