#pragma once

// KIP-320: what the consumer does when a Fetch response (v12+) reports a diverging epoch, i.e.
// the leader's log differs from what the consumer fetched: the consumer sent the epoch of the last
// batch it fetched (last_fetched_epoch) with its fetch offset, and the leader answered with the
// largest epoch <= that one it knows and where that epoch ends in its log (after an unclean
// election, or a leader that lost unreplicated records). The rules are the Java consumer's
// (SubscriptionState.maybeCompleteValidation).

#include <cstdint>
#include <optional>

#include "kafka/consumer/consumer_config.hpp"

namespace sluice::kafka {

struct truncation_decision {
  enum class action : std::uint8_t {
    keep_fetching,    // no truncation below the fetch offset: fetch again as before
    seek,             // truncated: continue at `offset`, the first offset known to diverge
    reset_by_policy,  // the leader knows no epoch at or before ours: auto_offset_reset decides
    fail,             // truncated and auto_offset_reset is none: getmany raises
  };
  action what = action::keep_fetching;
  std::int64_t offset = -1;  // seek: where; fail: the first offset known to diverge (-1: unknown)
};

// `fetch_offset`: the offset the fetch asked for; `position`: the next offset the application
// gets (at most fetch_offset: records between them are queued, not handed out yet);
// `diverging_epoch` / `diverging_end_offset`: the response's DivergingEpoch.
truncation_decision decide_on_diverging_epoch(std::int64_t fetch_offset,
                                              std::optional<std::int64_t> position,
                                              std::int32_t diverging_epoch,
                                              std::int64_t diverging_end_offset,
                                              auto_offset_reset policy);

// KIP-320 without diverging epochs (a Fetch below v12, so brokers before 2.7, or the testing cap):
// whether a partition's position must be checked with OffsetForLeaderEpoch before it is fetched
// again, as the Java consumer's SubscriptionState does (awaiting validation). Only a position with
// a known epoch can be checked (`fetched_epoch`: of the last batch fetched, or the committed
// offset's); it is checked when the partition's leader epoch in the metadata
// (`current_leader_epoch`) differs from the one it was last fetched or checked under
// (`validated_leader_epoch`, -1: not fetched since its position was set), i.e. after a leader
// change, or when `awaiting` (a position from a committed offset with its epoch). An answer from
// OffsetForLeaderEpoch (the leader's end offset of the largest epoch <= fetched_epoch) goes to
// decide_on_diverging_epoch like a diverging epoch.
bool needs_position_validation(std::int32_t fetched_epoch, std::int32_t validated_leader_epoch,
                               std::int32_t current_leader_epoch, bool awaiting);

}  // namespace sluice::kafka
