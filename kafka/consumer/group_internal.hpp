#pragma once

// What the consumer's group code shares between its translation units: consumer_group.cpp (the
// group API, listeners, the coordinator), group_offsets.cpp (commits and committed offsets),
// classic_group.cpp (the classic protocol) and consumer_protocol_group.cpp (the KIP-848 `consumer`
// protocol). Not a public header. Everything here runs on the consumer's executor.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
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
enum class listener_event : std::uint8_t { revoked, assigned, lost };
std::string_view callback_name(listener_event event);
// Runs a listener callback (none: nothing); a failing listener is logged and does not stop the
// rebalance. While it runs, the consumer hands out and fetches nothing.
asio::awaitable<void> call_listener(group_state* g, listener_event event,
                                    std::vector<topic_partition> partitions);

}  // namespace sluice::kafka::group_detail
