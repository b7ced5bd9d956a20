// KIP-320's decision after a Fetch response with a diverging epoch.
#include "kafka/consumer/log_truncation.hpp"

#include <gtest/gtest.h>

namespace sluice::kafka {
namespace {

using action = truncation_decision::action;

TEST(log_truncation, below_the_fetch_offset_seeks_to_the_divergence) {
  // Fetched (and handed out) up to 120; the leader's epoch 4 ends at 100.
  auto d = decide_on_diverging_epoch(120, 120, 4, 100, auto_offset_reset::earliest);
  EXPECT_EQ(d.what, action::seek);
  EXPECT_EQ(d.offset, 100);
}

TEST(log_truncation, queued_records_below_the_divergence_are_not_skipped) {
  // Handed out up to 90, queued up to 120, diverges at 100: go back to 90, not forward to 100.
  auto d = decide_on_diverging_epoch(120, 90, 4, 100, auto_offset_reset::latest);
  EXPECT_EQ(d.what, action::seek);
  EXPECT_EQ(d.offset, 90);
}

TEST(log_truncation, without_a_reset_policy_it_fails_naming_the_offset) {
  auto d = decide_on_diverging_epoch(120, 120, 4, 100, auto_offset_reset::none);
  EXPECT_EQ(d.what, action::fail);
  EXPECT_EQ(d.offset, 100);
}

TEST(log_truncation, no_common_epoch_resets_by_policy_or_fails) {
  EXPECT_EQ(decide_on_diverging_epoch(50, 50, -1, -1, auto_offset_reset::earliest).what,
            action::reset_by_policy);
  auto d = decide_on_diverging_epoch(50, 50, 3, -1, auto_offset_reset::none);
  EXPECT_EQ(d.what, action::fail);
  EXPECT_EQ(d.offset, -1);
}

TEST(log_truncation, an_epoch_ending_at_or_after_the_fetch_offset_is_no_truncation) {
  EXPECT_EQ(decide_on_diverging_epoch(100, 100, 4, 100, auto_offset_reset::none).what,
            action::keep_fetching);
  EXPECT_EQ(decide_on_diverging_epoch(100, 80, 4, 150, auto_offset_reset::earliest).what,
            action::keep_fetching);
}

TEST(log_truncation, an_unknown_position_seeks_to_the_divergence) {
  auto d = decide_on_diverging_epoch(120, std::nullopt, 4, 100, auto_offset_reset::earliest);
  EXPECT_EQ(d.what, action::seek);
  EXPECT_EQ(d.offset, 100);
}

TEST(log_truncation, a_leader_change_needs_validation_of_a_position_with_an_epoch) {
  // Fetched under leader epoch 3 (last batch of epoch 2); the metadata now says 5.
  EXPECT_TRUE(needs_position_validation(2, 3, 5, false));
  EXPECT_FALSE(needs_position_validation(2, 5, 5, false));
}

TEST(log_truncation, a_committed_epoch_needs_validation_before_the_first_fetch) {
  // validated_leader_epoch -1: not fetched since the position was set from the commit.
  EXPECT_TRUE(needs_position_validation(4, -1, 4, true));
  // The first fetch after a plain seek (no epoch known) only records the leader epoch.
  EXPECT_FALSE(needs_position_validation(-1, -1, 4, false));
}

TEST(log_truncation, nothing_to_validate_without_epochs) {
  // A seek forgets the epoch: there is nothing to ask the leader about.
  EXPECT_FALSE(needs_position_validation(-1, 3, 5, true));
  // Metadata without leader epochs (old brokers).
  EXPECT_FALSE(needs_position_validation(2, 3, -1, true));
}

}  // namespace
}  // namespace sluice::kafka
