// The integration tests' per-mode checks (delivery_checks.hpp) fail where the mode's promise is
// broken, and only there: a check that cannot fail would prove nothing.
#include "tests/runtime/delivery_checks.hpp"

#include <gtest/gtest-spi.h>

namespace sluice::runtime::test_support {
namespace {

using operators::delivery_guarantee;

const keyed_results expected{{"k1", {"a", "b", "c"}}, {"k2", {"x"}}};

TEST(delivery_checks, the_expected_results_pass_under_every_mode) {
  for (auto mode : {delivery_guarantee::at_most_once, delivery_guarantee::at_least_once,
                    delivery_guarantee::exactly_once}) {
    expect_delivered(mode, expected, expected);
  }
}

TEST(delivery_checks, at_least_once_allows_repeats_and_fails_a_loss_or_a_made_up_result) {
  const keyed_results replayed{{"k1", {"a", "b", "a", "b", "c", "c"}}, {"k2", {"x", "x"}}};
  expect_delivered(delivery_guarantee::at_least_once, replayed, expected);
  EXPECT_NONFATAL_FAILURE(
      expect_delivered(delivery_guarantee::at_least_once,
                       keyed_results{{"k1", {"a", "c"}}, {"k2", {"x"}}}, expected),
      "at least once");
  EXPECT_NONFATAL_FAILURE(expect_delivered(delivery_guarantee::at_least_once,
                                           keyed_results{{"k1", {"a", "b", "c"}}}, expected),
                          "k2 has no result");
  EXPECT_NONFATAL_FAILURE(
      expect_delivered(delivery_guarantee::at_least_once,
                       keyed_results{{"k1", {"a", "b", "z", "c"}}, {"k2", {"x"}}}, expected),
      "at least once");
  EXPECT_NONFATAL_FAILURE(
      expect_delivered(delivery_guarantee::at_least_once,
                       keyed_results{{"k1", {"a", "c", "b"}}, {"k2", {"x"}}}, expected),
      "at least once");
}

TEST(delivery_checks, at_most_once_allows_a_loss_and_fails_a_repeat_or_a_made_up_result) {
  expect_delivered(delivery_guarantee::at_most_once, keyed_results{{"k1", {"a", "c"}}}, expected);
  EXPECT_NONFATAL_FAILURE(expect_delivered(delivery_guarantee::at_most_once,
                                           keyed_results{{"k1", {"a", "b", "b", "c"}}}, expected),
                          "has a result twice");
  EXPECT_NONFATAL_FAILURE(expect_delivered(delivery_guarantee::at_most_once,
                                           keyed_results{{"k1", {"c", "a"}}}, expected),
                          "in order");
  EXPECT_NONFATAL_FAILURE(
      expect_delivered(delivery_guarantee::at_most_once, keyed_results{{"k3", {"x"}}}, expected),
      "which should have none");
}

TEST(delivery_checks, exactly_once_fails_a_repeat_and_a_loss) {
  EXPECT_NONFATAL_FAILURE(
      expect_delivered(delivery_guarantee::exactly_once,
                       keyed_results{{"k1", {"a", "b", "c", "c"}}, {"k2", {"x"}}}, expected),
      "exactly once");
  EXPECT_NONFATAL_FAILURE(
      expect_delivered(delivery_guarantee::exactly_once,
                       keyed_results{{"k1", {"a", "c"}}, {"k2", {"x"}}}, expected),
      "exactly once");
}

}  // namespace
}  // namespace sluice::runtime::test_support
