#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace sluice::runtime {

// A task: one partition of one sub-topology (Kafka Streams' TaskId).
struct task_id {
  int sub_topology = 0;
  std::int32_t partition = 0;
  auto operator<=>(const task_id&) const = default;
  // "0_3", Kafka Streams' notation, used for directories and logs.
  std::string to_string() const;
};

}  // namespace sluice::runtime
