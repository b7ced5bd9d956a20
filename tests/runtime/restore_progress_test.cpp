#include <gtest/gtest.h>

#include "runtime/changelog_restorer.hpp"

namespace sluice::runtime {
namespace {

TEST(restore_progress, says_how_far_how_fast_and_how_long_is_left) {
  changelog_reader::store_progress_view store{
      "0_3",   "counts", {"app-counts-changelog", 3}, 1000, 301000,
      1001000, 299000,   std::chrono::seconds(2)};
  EXPECT_EQ(store.remaining(), 700000);
  EXPECT_DOUBLE_EQ(store.rate(), 150000);
  EXPECT_EQ(
      describe_progress(store),
      "task 0_3: store counts 300000/1000000 offsets (299000 records), 150000/s, about 5 s left");
  store.position = store.from;
  EXPECT_EQ(describe_progress(store),
            "task 0_3: store counts 0/1000000 offsets (299000 records), 0/s")
      << "no estimate before any progress";
}

}  // namespace
}  // namespace sluice::runtime
