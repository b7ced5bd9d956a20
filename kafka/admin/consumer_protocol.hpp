#pragma once

// Decodes the opaque member metadata and assignment bytes that a classic consumer group stores
// (protocol type "consumer"): an int16 version, then ConsumerProtocolSubscription /
// ConsumerProtocolAssignment at that version. A version newer than this build knows is read as the
// newest one it knows: newer versions only append fields, which is how Kafka's own
// ConsumerProtocol stays forward compatible (KIP-429, KIP-792).

#include <string>
#include <vector>

#include "kafka/admin/admin_types.hpp"
#include "kafka/protocol/wire.hpp"

namespace sluice::kafka::consumer_protocol {

struct subscription {
  std::vector<std::string> topics;
  std::vector<topic_partition> owned_partitions;
};

// Throw kafka_error(protocol_violation) naming what did not decode.
subscription decode_subscription(protocol::bytes_view metadata);
std::vector<topic_partition> decode_assignment(protocol::bytes_view assignment);

// The inverse, for tests and for tools that write group state.
protocol::bytes encode_assignment(const std::vector<topic_partition>& partitions,
                                  std::int16_t version = 0);
protocol::bytes encode_subscription(const std::vector<std::string>& topics,
                                    std::int16_t version = 0);

}  // namespace sluice::kafka::consumer_protocol
