#pragma once

// The classic group protocol (JoinGroup / SyncGroup / Heartbeat / LeaveGroup) with client-side
// assignors (assignor.hpp), eager or cooperative (KIP-429). The member speaks the standard
// "consumer" embedded protocol (ConsumerProtocolSubscription and ConsumerProtocolAssignment, each
// prefixed by its int16 version, as Java's ConsumerProtocol writes them), so Sluice, Java,
// librdkafka and Python members can share a group.
//
// One object per consumer (group_state::member), living as long as the consumer's state; its
// join and heartbeat tasks run on the consumer's executor (consumer::impl::spawn keeps the state
// alive while they run).

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "kafka/consumer/assignor.hpp"
#include "kafka/consumer/group_protocol.hpp"
#include "kafka/protocol/messages/join_group.hpp"
#include "kafka/protocol/messages/sync_group.hpp"

namespace sluice::kafka::group_detail {

// Where a classic member is. A rejoin is due in joining, syncing and rebalancing.
enum class classic_member_state : std::uint8_t {
  unjoined,     // not a member and no join due (not subscribed, or fenced by a static member)
  joining,      // a join is due, or JoinGroup is in flight (also while waiting to retry it, for the
                // next poll after max_poll_interval, or forever after a fatal error)
  syncing,      // JoinGroup answered: SyncGroup (after the leader's assignment) is in flight
  stable,       // a member of the current generation with its assignment; heartbeats go on
  rebalancing,  // a stable member that must rejoin (the coordinator started a rebalance, the
                // subscription or a topic's partitions changed, a cooperative revocation, a
                // commit refused); heartbeats go on until the join starts
};

class classic_group final : public group_protocol {
 public:
  explicit classic_group(consumer::impl& self);

  void tick() override;
  bool stable() const override;
  bool blocks_fetching() const override;
  void subscription_changed() override;
  void request_rejoin() override;
  void metadata_refreshed() override;
  void begin_leaving() override {}
  boost::asio::awaitable<void> leave(std::string reason, bool closing) override;
  void unsubscribed() override;

 private:
  bool rejoin_due() const;
  // The member id and generation are gone (the coordinator forgot them, or the member left).
  void forget_membership();
  // Not a member any more: a join follows if one was due.
  void drop_to_unjoined();
  boost::asio::awaitable<void> heartbeat_loop();
  boost::asio::awaitable<void> join_loop();
  boost::asio::awaitable<bool> join_once();
  boost::asio::awaitable<void> prepare_join();
  boost::asio::awaitable<std::vector<protocol::sync_group_request::sync_group_request_assignment>>
  lead(std::string protocol_name,
       std::vector<protocol::join_group_response::join_group_response_member> members);
  boost::asio::awaitable<void> apply_assignment(std::set<topic_partition> next);
  boost::asio::awaitable<void> send_leave_group(std::string reason, bool closing);
  const std::vector<std::shared_ptr<partition_assignor>>& assignors();
  partition_assignor* assignor_named(const std::string& name);

  consumer::impl& self_;
  classic_member_state state_ = classic_member_state::unjoined;
  const rebalance_protocol rebalance_;  // eager or cooperative, from the configured assignors
  std::string protocol_name_;           // the assignor the group chose at the last join
  // The configured assignors in preference order, made once so that stateful ones (sticky)
  // remember what they assigned.
  std::vector<std::shared_ptr<partition_assignor>> assignors_;
  // Partitions of the subscribed topics at the last join, to notice topics that grow.
  std::map<std::string, std::int32_t> partition_counts_;
  bool join_running_ = false;
  bool heartbeat_running_ = false;
};

}  // namespace sluice::kafka::group_detail
