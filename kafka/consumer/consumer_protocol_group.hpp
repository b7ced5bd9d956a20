#pragma once

// Group membership with the KIP-848 `consumer` protocol: one ConsumerGroupHeartbeat loop instead
// of JoinGroup / SyncGroup / Heartbeat; the coordinator computes the assignment and the member
// reconciles towards it (the steps are described at the top of consumer_protocol_group.cpp).
//
// One object per consumer (group_state::member), living as long as the consumer's state; its
// member loop and reconciliation tasks run on the consumer's executor (consumer::impl::spawn keeps
// the state alive while they run).

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kafka/consumer/group_protocol.hpp"
#include "kafka/protocol/wire.hpp"

namespace sluice::kafka::group_detail {

// Where a KIP-848 member is.
enum class consumer_member_state : std::uint8_t {
  unjoined,     // not a member: before the first heartbeat, after leaving (also after
                // max_poll_interval, rejoining at the next poll) or after a fatal error
  joining,      // the heartbeat with member epoch 0 is due or in flight
  stable,       // a member whose assignment is the coordinator's target
  reconciling,  // a member moving towards a new target assignment (revoke, assign, acknowledge)
  fenced,       // the coordinator fenced the member: its partitions are lost; it rejoins with
                // epoch 0 after on_partitions_lost
  leaving,      // stop() or unsubscribe() are leaving the group
};

class consumer_protocol_group final : public group_protocol {
 public:
  explicit consumer_protocol_group(consumer::impl& self);

  void tick() override;
  bool stable() const override;
  bool blocks_fetching() const override { return false; }
  void subscription_changed() override;
  void request_rejoin() override {}
  void metadata_refreshed() override {}
  void begin_leaving() override;
  boost::asio::awaitable<void> leave(std::string reason, bool closing) override;
  void unsubscribed() override;

 private:
  struct assigned_topic {
    protocol::uuid topic_id;
    std::vector<std::int32_t> partitions;
  };

  void fence();
  std::set<topic_partition> resolve_target(bool& unresolved) const;
  boost::asio::awaitable<void> reconcile();
  void start_reconciliation();
  boost::asio::awaitable<void> release_predecessor();
  boost::asio::awaitable<void> give_up_partitions();
  // Leaves the group: a heartbeat with epoch -1, or -2 for a static member (KIP-848), whose
  // partitions then wait for its instance id to come back until the session timeout. `release`
  // makes a static member leave with -1 too (leave_group_on_close), handing its partitions over.
  boost::asio::awaitable<void> member_leave(std::string reason, bool release = false);
  // The member's heartbeat loop: joins (epoch 0), heartbeats at the coordinator's interval, hands
  // new target assignments to the reconciliation, rejoins after being fenced. Runs while the
  // consumer is subscribed.
  boost::asio::awaitable<void> member_loop();

  consumer::impl& self_;
  consumer_member_state state_ = consumer_member_state::unjoined;
  // While leaving: whether the member was stable when it began to (its last auto commit goes out
  // until the leave heartbeat).
  bool stable_when_leaving_ = false;
  // The coordinator's latest target assignment (by topic id), until reconciled.
  std::optional<std::vector<assigned_topic>> target_assignment_;
  bool target_unresolved_ = false;  // some topic id of the target is not in the metadata yet
  bool heartbeat_now_ = false;  // heartbeat without waiting for the interval (join, acknowledge)
  bool send_full_ = true;       // the next heartbeat carries every field (join, after an error)
  bool predecessor_released_ = false;  // consumer_config::previous_member_id was let go
  std::uint64_t membership_ = 0;       // bumped on every fence and leave: older responses are void
  bool loop_running_ = false;
  bool reconcile_running_ = false;
};

}  // namespace sluice::kafka::group_detail
