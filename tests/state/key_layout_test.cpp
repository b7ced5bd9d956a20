#include "state/key_layout.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace sluice::state::key_layout {
namespace {

TEST(key_layout, window_key_is_key_then_big_endian_start) {
  auto encoded = window_key("ab", 0x0102030405060708);
  EXPECT_EQ(encoded, std::string("ab\x01\x02\x03\x04\x05\x06\x07\x08", 10));
  auto parts = parse_window_key(encoded);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->key, "ab");
  EXPECT_EQ(parts->window_start, 0x0102030405060708);
}

TEST(key_layout, session_key_is_key_then_end_then_start) {
  auto encoded = session_key("k", 5, 9);
  EXPECT_EQ(encoded, std::string("k\0\0\0\0\0\0\0\x09\0\0\0\0\0\0\0\x05", 17));
  auto parts = parse_session_key(encoded);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->key, "k");
  EXPECT_EQ(parts->start, 5);
  EXPECT_EQ(parts->end, 9);
}

TEST(key_layout, one_keys_windows_sort_by_start_and_sessions_by_end) {
  std::vector<std::int64_t> starts{
      0, 1, 255, 256, 65'536, 1'700'000'000'000, std::numeric_limits<std::int64_t>::max()};
  for (std::size_t i = 1; i < starts.size(); ++i) {
    EXPECT_LT(window_key("k", starts[i - 1]), window_key("k", starts[i])) << starts[i];
    EXPECT_LT(session_key("k", 0, starts[i - 1]), session_key("k", 0, starts[i])) << starts[i];
  }
  EXPECT_LT(session_key("k", 5, 10), session_key("k", 0, 11));  // end first, then start
  EXPECT_LT(session_key("k", 4, 10), session_key("k", 5, 10));
}

TEST(key_layout, rejects_short_keys_negative_times_and_inverted_sessions) {
  EXPECT_FALSE(parse_window_key("1234567"));
  EXPECT_FALSE(parse_window_key(window_key("k", -1)));
  EXPECT_TRUE(parse_window_key(window_key("", 0)));  // an empty key is a key
  EXPECT_FALSE(parse_session_key(std::string(15, '\0')));
  EXPECT_FALSE(parse_session_key(session_key("k", 10, 5)));
  EXPECT_FALSE(parse_session_key(session_key("k", -2, 5)));
}

TEST(key_layout, be64_round_trips_every_sign_and_width) {
  for (std::int64_t value :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{128},
        std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
    bytes out;
    append_be64(out, value);
    ASSERT_EQ(out.size(), time_size);
    EXPECT_EQ(read_be64(out, 0), value);
  }
}

TEST(key_layout, prefix_successor_bounds_a_prefix_scan) {
  EXPECT_EQ(prefix_successor("ab"), "ac");
  EXPECT_EQ(prefix_successor(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefix_successor(std::string("\xff\xff", 2)), std::nullopt);
  EXPECT_EQ(prefix_successor(""), std::nullopt);
  auto upper = prefix_successor("ab");
  EXPECT_LT(std::string("ab\xff\xff\xff", 5), *upper);
}

}  // namespace
}  // namespace sluice::state::key_layout
