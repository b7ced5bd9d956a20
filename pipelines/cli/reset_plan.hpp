#pragma once

// Where `sluice groups reset-offsets` moves one partition, decided without I/O (the same rules
// as Kafka's kafka-consumer-groups --reset-offsets): explicit offsets and shifts are kept within
// the partition's earliest..latest range; a time after the last record means the end.

#include <cstdint>
#include <optional>

#include "pipelines/cli/command_line.hpp"

namespace sluice::cli {

struct partition_position {
  std::int64_t earliest = 0;
  std::int64_t latest = 0;
  std::optional<std::int64_t> committed;  // the group's current offset, if it has one
  std::optional<std::int64_t> at_time;    // for --to-datetime: ListOffsets' answer (nullopt: none)
};

// Throws usage_error for --shift-by on a partition without a committed offset.
std::int64_t plan_reset(const reset_target& target, const partition_position& position,
                        const std::string& partition);

}  // namespace sluice::cli
