#include "pipelines/cli/reset_plan.hpp"

#include <algorithm>

namespace sluice::cli {

std::int64_t plan_reset(const reset_target& target, const partition_position& position,
                        const std::string& partition) {
  const auto clamp = [&](std::int64_t offset) {
    return std::clamp(offset, position.earliest, std::max(position.earliest, position.latest));
  };
  switch (target.what) {
    case reset_target::kind::earliest:
      return position.earliest;
    case reset_target::kind::latest:
      return position.latest;
    case reset_target::kind::offset:
      return clamp(target.value);
    case reset_target::kind::datetime:
      // No record at or after the time: the end, as Kafka does.
      return position.at_time && *position.at_time >= 0 ? clamp(*position.at_time)
                                                        : position.latest;
    case reset_target::kind::shift_by:
      if (!position.committed) {
        throw usage_error("--shift-by: partition " + partition +
                          " has no committed offset to shift");
      }
      return clamp(*position.committed + target.value);
  }
  return position.latest;
}

}  // namespace sluice::cli
