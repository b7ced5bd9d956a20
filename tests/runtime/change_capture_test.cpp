// The open transaction's changes, latest per key: what the changelog gets at the commit.

#include <gtest/gtest.h>

#include "runtime/changelogged_stores.hpp"

namespace sluice::runtime {
namespace {

std::optional<std::optional<std::string>> captured(const change_capture::change_map& changes,
                                                   std::string_view key) {
  auto it = changes.find(key);
  if (it == changes.end()) return std::nullopt;
  return it->second;
}

TEST(change_capture, keeps_the_latest_value_or_deletion_of_each_key) {
  change_capture capture;
  capture.record(state::bytes_view("a"), state::bytes_view("1"));
  capture.record(state::bytes("b"), state::bytes_view("long value of b"));
  capture.record(state::bytes_view("a"), state::bytes_view("a longer second value"));
  capture.record(state::bytes("b"), std::nullopt);
  capture.record(state::bytes_view("c"), std::nullopt);
  capture.record(state::bytes("c"), state::bytes_view("3"));
  capture.record(state::bytes_view("b"), state::bytes_view("2"));
  EXPECT_EQ(capture.size(), 3u);

  const auto changes = capture.drain();
  EXPECT_EQ(captured(changes, "a"), std::optional<std::string>("a longer second value"));
  EXPECT_EQ(captured(changes, "b"), std::optional<std::string>("2"));
  EXPECT_EQ(captured(changes, "c"), std::optional<std::string>("3"));
}

TEST(change_capture, a_drain_hands_over_everything_and_the_next_transaction_starts_empty) {
  change_capture capture;
  capture.record(state::bytes_view("a"), state::bytes_view("1"));
  capture.record(state::bytes_view("b"), std::nullopt);
  const auto first = capture.drain();
  EXPECT_EQ(first.size(), 2u);
  EXPECT_TRUE(capture.empty());

  capture.record(state::bytes_view("a"), std::nullopt);
  const auto second = capture.drain();
  ASSERT_EQ(second.size(), 1u);
  const auto deletion = captured(second, "a");
  ASSERT_TRUE(deletion.has_value());
  EXPECT_FALSE(deletion->has_value());
  EXPECT_EQ(captured(first, "a"), std::optional<std::string>("1"));  // the first is untouched
}

}  // namespace
}  // namespace sluice::runtime
