#pragma once

// What each delivery guarantee promises about a pipeline's results, checked exactly, for the
// integration tests that run under all three (INSTANTIATE_TEST_SUITE_P(delivery, ...,
// every_delivery, delivery_name)).
//
// A test gives, per key (an output key, or whatever identifies a result's subject), the results
// in log order as read back (read_committed), and the results an uninterrupted run emits for that
// key, each once, in order (so no expected result may appear twice for one key):
//   exactly_once   the results are exactly the expected ones.
//   at_least_once  nothing lost: a replay (records processed again after a failed or missed
//                  commit) repeats results already emitted and makes none up, so each key's
//                  results, every repeat of an earlier result dropped, are exactly the expected
//                  ones in order: every expected result at least once, nothing else.
//   at_most_once   nothing twice: no key has a result twice, and each key's results are expected
//                  ones in the expected order, some possibly missing (input whose offsets were
//                  committed before a crash let it be processed).
// The tests' restarts are clean, and their waits need every result (a lost one fails them too);
// these checks are what the mode itself guarantees, so a test does not depend on more.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "operators/topology.hpp"

namespace sluice::runtime::test_support {

using keyed_results = std::map<std::string, std::vector<std::string>>;

inline auto every_delivery() {
  return ::testing::Values(operators::delivery_guarantee::at_most_once,
                           operators::delivery_guarantee::at_least_once,
                           operators::delivery_guarantee::exactly_once);
}

inline std::string delivery_name(
    const ::testing::TestParamInfo<operators::delivery_guarantee>& info) {
  return std::string(operators::to_string(info.param));
}

// `results` without any repeat of an earlier element (first occurrences, in order).
inline std::vector<std::string> first_occurrences(const std::vector<std::string>& results) {
  std::vector<std::string> out;
  for (const auto& r : results) {
    if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  }
  return out;
}

// How many different results there are, per key, in all: what a test waits for (a repeat, which
// at_least_once allows, does not count twice).
inline std::size_t distinct_results(const keyed_results& by_key) {
  std::size_t n = 0;
  for (const auto& [key, results] : by_key) n += first_occurrences(results).size();
  return n;
}

// Whether `part` is `whole` with some elements left out (order kept).
inline bool is_subsequence(const std::vector<std::string>& part,
                           const std::vector<std::string>& whole) {
  auto next = whole.begin();
  for (const auto& r : part) {
    next = std::find(next, whole.end(), r);
    if (next == whole.end()) return false;
    ++next;
  }
  return true;
}

inline void expect_delivered(operators::delivery_guarantee delivery, const keyed_results& actual,
                             const keyed_results& expected) {
  using operators::delivery_guarantee;
  for (const auto& [key, results] : expected) {
    ASSERT_EQ(first_occurrences(results), results)
        << "the test's own expectation repeats a result of key " << key;
  }
  if (delivery == delivery_guarantee::exactly_once) {
    EXPECT_EQ(actual, expected) << "exactly once: every result once, in order";
    return;
  }
  for (const auto& [key, results] : actual) {
    const auto want = expected.find(key);
    if (want == expected.end()) {
      ADD_FAILURE() << "results for key " << key
                    << ", which should have none: " << ::testing::PrintToString(results);
      continue;
    }
    if (delivery == delivery_guarantee::at_least_once) {
      EXPECT_EQ(first_occurrences(results), want->second)
          << "at least once: key " << key << "'s results, repeats dropped, are the expected ones; "
          << "read: " << ::testing::PrintToString(results);
    } else {
      EXPECT_EQ(first_occurrences(results), results)
          << "at most once: key " << key << " has a result twice";
      EXPECT_TRUE(is_subsequence(first_occurrences(results), want->second))
          << "at most once: key " << key << "'s results are expected ones, in order; read "
          << ::testing::PrintToString(results) << ", expected (some may be missing) "
          << ::testing::PrintToString(want->second);
    }
  }
  if (delivery == delivery_guarantee::at_least_once) {
    for (const auto& [key, results] : expected) {
      EXPECT_TRUE(actual.contains(key)) << "at least once: key " << key << " has no result";
    }
  }
}

}  // namespace sluice::runtime::test_support
