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

}  // namespace
}  // namespace sluice::kafka
