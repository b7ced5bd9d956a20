#include "kafka/admin/consumer_protocol.hpp"

#include <algorithm>

#include "kafka/net/net_error.hpp"
#include "kafka/protocol/messages/consumer_protocol_assignment.hpp"
#include "kafka/protocol/messages/consumer_protocol_subscription.hpp"
#include "kafka/protocol/versioned_message.hpp"

namespace sluice::kafka::consumer_protocol {

namespace {

template <typename Message>
Message decode_or_throw(protocol::bytes_view data, const char* what) {
  auto message = protocol::decode_versioned<Message>(data);
  if (!message) {
    protocol::reader in(data);
    const auto version = in.int16();
    throw kafka_error(make_error_code(net_error::protocol_violation),
                      std::string("decode the consumer protocol ") + what + " (" +
                          std::to_string(data.size()) + " bytes, version " +
                          std::to_string(version) + ")",
                      false);
  }
  return std::move(*message);
}

}  // namespace

subscription decode_subscription(protocol::bytes_view metadata) {
  auto message =
      decode_or_throw<protocol::consumer_protocol_subscription>(metadata, "subscription");
  subscription result;
  result.topics = std::move(message.topics);
  for (auto& owned : message.owned_partitions) {
    for (auto partition : owned.partitions)
      result.owned_partitions.push_back({owned.topic, partition});
  }
  return result;
}

std::vector<topic_partition> decode_assignment(protocol::bytes_view assignment) {
  // A member that has not been assigned yet (or a rebalance in progress) has empty bytes.
  if (assignment.empty()) return {};
  auto message = decode_or_throw<protocol::consumer_protocol_assignment>(assignment, "assignment");
  std::vector<topic_partition> result;
  for (auto& topic : message.assigned_partitions) {
    for (auto partition : topic.partitions) result.push_back({topic.topic, partition});
  }
  std::sort(result.begin(), result.end());
  return result;
}

protocol::bytes encode_assignment(const std::vector<topic_partition>& partitions,
                                  std::int16_t version) {
  protocol::consumer_protocol_assignment message;
  for (const auto& tp : partitions) {
    auto it = std::find_if(message.assigned_partitions.begin(), message.assigned_partitions.end(),
                           [&](const auto& topic) { return topic.topic == tp.topic; });
    if (it == message.assigned_partitions.end()) {
      message.assigned_partitions.push_back({.topic = tp.topic});
      it = std::prev(message.assigned_partitions.end());
    }
    it->partitions.push_back(tp.partition);
  }
  return protocol::encode_versioned(message, version);
}

protocol::bytes encode_subscription(const std::vector<std::string>& topics, std::int16_t version) {
  protocol::consumer_protocol_subscription message;
  message.topics = topics;
  return protocol::encode_versioned(message, version);
}

}  // namespace sluice::kafka::consumer_protocol
