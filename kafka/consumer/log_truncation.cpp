#include "kafka/consumer/log_truncation.hpp"

#include <algorithm>

namespace sluice::kafka {

truncation_decision decide_on_diverging_epoch(std::int64_t fetch_offset,
                                              std::optional<std::int64_t> position,
                                              std::int32_t diverging_epoch,
                                              std::int64_t diverging_end_offset,
                                              auto_offset_reset policy) {
  using action = truncation_decision::action;
  const bool has_policy = policy != auto_offset_reset::none;
  if (diverging_epoch < 0 || diverging_end_offset < 0) {
    // No common epoch: nothing of what we read is known to be in the leader's log.
    return has_policy ? truncation_decision{action::reset_by_policy, -1}
                      : truncation_decision{action::fail, -1};
  }
  if (diverging_end_offset >= fetch_offset) return {action::keep_fetching, -1};
  if (!has_policy) return {action::fail, diverging_end_offset};
  // Records below the divergence that are queued but not handed out yet stay valid: going back
  // to the position (when it is lower) re-reads them instead of skipping them.
  const auto target = position ? std::min(*position, diverging_end_offset) : diverging_end_offset;
  return {action::seek, target};
}

bool needs_position_validation(std::int32_t fetched_epoch, std::int32_t validated_leader_epoch,
                               std::int32_t current_leader_epoch, bool awaiting) {
  // Without an epoch to ask about (a seek, an old broker's metadata) there is nothing to check.
  if (fetched_epoch < 0 || current_leader_epoch < 0) return false;
  return awaiting ||
         (validated_leader_epoch >= 0 && validated_leader_epoch != current_leader_epoch);
}

}  // namespace sluice::kafka
