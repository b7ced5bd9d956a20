// standby_limits: when a standby's limits in the topics of tables restored from their own topic
// are looked up, and how a lookup's answer moves them (up only, tracked partitions only).
#include "runtime/standby_limits.hpp"

#include <gtest/gtest.h>

namespace sluice::runtime {
namespace {

using namespace std::chrono_literals;
using tp = kafka::topic_partition;
using offsets = std::map<tp, std::int64_t>;

const tp customers_0{"customers", 0};
const tp customers_1{"customers", 1};

TEST(standby_limits, a_tracked_partition_has_no_limit_until_looked_up_which_is_due_at_once) {
  standby_limits limits(100ms);
  const auto now = standby_limits::clock::now();
  EXPECT_FALSE(limits.due(now)) << "nothing tracked, nothing to look up";
  limits.track({customers_0});
  EXPECT_FALSE(limits.limit(customers_0)) << "nothing may be read before the first lookup";
  ASSERT_TRUE(limits.due(now));
  EXPECT_EQ(limits.begin_refresh(now), std::vector<tp>{customers_0});
  EXPECT_FALSE(limits.due(now + 99ms));
  EXPECT_TRUE(limits.due(now + 100ms)) << "looked up again every refresh interval";
  EXPECT_EQ(limits.update({{customers_0, 50}}), (offsets{{customers_0, 50}}));
  EXPECT_EQ(limits.limit(customers_0), 50);
}

TEST(standby_limits, a_failed_lookup_is_tried_again_after_the_backoff_not_the_interval) {
  standby_limits limits(100ms);
  const auto now = standby_limits::clock::now();
  limits.track({customers_0});
  (void)limits.begin_refresh(now);
  limits.refresh_failed(now);
  EXPECT_FALSE(limits.due(now + 100ms));
  EXPECT_TRUE(limits.due(now + standby_limits::failure_backoff));
  EXPECT_FALSE(limits.limit(customers_0));
}

TEST(standby_limits, a_partition_the_lookup_did_not_answer_for_keeps_no_limit) {
  standby_limits limits(100ms);
  limits.track({customers_0, customers_1});
  (void)limits.begin_refresh(standby_limits::clock::now());
  EXPECT_EQ(limits.update({{customers_1, 7}}), (offsets{{customers_1, 7}}));
  EXPECT_FALSE(limits.limit(customers_0));
  EXPECT_EQ(limits.limit(customers_1), 7);
}

TEST(standby_limits, limits_only_move_up) {
  standby_limits limits(100ms);
  limits.track({customers_0});
  EXPECT_EQ(limits.update({{customers_0, 50}}), (offsets{{customers_0, 50}}));
  EXPECT_TRUE(limits.update({{customers_0, 50}}).empty()) << "unchanged: nothing to hand on";
  EXPECT_TRUE(limits.update({{customers_0, 20}}).empty())
      << "a lower committed offset (reset by hand) does not take back what the store applied";
  EXPECT_EQ(limits.limit(customers_0), 50);
  EXPECT_EQ(limits.update({{customers_0, 80}}), (offsets{{customers_0, 80}}));
  EXPECT_EQ(limits.limit(customers_0), 80);
}

TEST(standby_limits, a_forgotten_partition_takes_no_answer_and_a_new_one_is_looked_up_at_once) {
  standby_limits limits(1h);
  const auto now = standby_limits::clock::now();
  limits.track({customers_0});
  EXPECT_EQ(limits.begin_refresh(now), std::vector<tp>{customers_0});
  limits.forget({customers_0});
  EXPECT_TRUE(limits.empty());
  EXPECT_TRUE(limits.update({{customers_0, 50}}).empty())
      << "its standby closed while the lookup ran";
  EXPECT_FALSE(limits.limit(customers_0));
  limits.track({customers_1});
  EXPECT_TRUE(limits.due(now)) << "a new standby does not wait for the next interval";
  limits.track({customers_1});
  (void)limits.begin_refresh(now);
  limits.track({customers_1});
  EXPECT_FALSE(limits.due(now)) << "tracking a partition again is no reason to look up";
}

}  // namespace
}  // namespace sluice::runtime
