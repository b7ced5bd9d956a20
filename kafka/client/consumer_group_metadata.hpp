#pragma once

// What a transactional producer sends with send_offsets_to_transaction (KIP-447): a consumer's
// group membership as of its last rebalance (Java's ConsumerGroupMetadata). The group coordinator
// rejects a TxnOffsetCommit from an older generation or another member, which fences a zombie
// consumer-producer pair without a transactional id per partition (EOS v2).

#include <cstdint>
#include <optional>
#include <string>

#include "kafka/client/identifiers.hpp"

namespace sluice::kafka {

struct consumer_group_metadata {
  std::string group_id;
  kafka::generation_id generation_id{-1};
  std::string member_id;
  std::optional<std::string> group_instance_id;
  bool operator==(const consumer_group_metadata&) const = default;
};

}  // namespace sluice::kafka
