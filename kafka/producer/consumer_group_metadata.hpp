#pragma once

// What a transactional producer needs to commit a consumer's offsets inside a transaction
// (send_offsets_to_transaction): the consumer's group metadata (KIP-447) and the offsets.

#include "kafka/client/consumer_group_metadata.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace sluice::kafka {

// One partition's offset to commit: the offset of the next record to consume.
struct transaction_offset {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  // The leader epoch of the last consumed record (KIP-320), -1 if unknown.
  std::int32_t leader_epoch = -1;
  std::string metadata;
  bool operator==(const transaction_offset&) const = default;
};

}  // namespace sluice::kafka
