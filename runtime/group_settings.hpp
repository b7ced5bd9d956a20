#pragma once

// apply_group_session_timeout: under the `consumer` group protocol (KIP-848) the coordinator, not
// the member, owns the session timeout. So `--session-timeout-ms` becomes the group's own config
// `consumer.session.timeout.ms` (KIP-848 group configs), set before the first member joins; the
// broker bounds it by group.consumer.min/max.session.timeout.ms and refuses values outside them.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "kafka/client/cluster.hpp"

namespace sluice::runtime {

// Throws kafka_error naming the group and the broker's reason when the broker refuses the value.
boost::asio::awaitable<void> apply_group_session_timeout(kafka::cluster& cluster,
                                                         std::string group_id,
                                                         std::chrono::milliseconds timeout);

}  // namespace sluice::runtime
