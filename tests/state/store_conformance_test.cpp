// One conformance suite for every store implementation (docs/style.md: "one conformance
// suite runs against every store implementation"): in memory, in memory behind the metrics
// layer, and RocksDB. A new backend joins by adding its type to `backends`.

#include <gtest/gtest.h>

#include <limits>

#include "state/key_layout.hpp"
#include "tests/state/store_test_support.hpp"

namespace sluice::state::test {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

template <class Backend>
class store_conformance : public ::testing::Test {
 protected:
  Backend backend;
};

using backends = ::testing::Types<memory_backend, metered_memory_backend, rocksdb_backend>;

class backend_names {
 public:
  template <class T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, memory_backend>) return "memory";
    if constexpr (std::is_same_v<T, metered_memory_backend>) return "metered_memory";
    if constexpr (std::is_same_v<T, rocksdb_backend>) return "rocksdb";
    return "unknown";
  }
};

TYPED_TEST_SUITE(store_conformance, backends, backend_names);

// A window store with 10 ms segments and 100 ms retention: small numbers, many segments.
window_store_options small_windows() {
  return {100ms, 10ms};
}
session_store_options small_sessions() {
  return {100ms, 10ms};
}

// ---------------------------------------------------------------- key-value

TYPED_TEST(store_conformance, kv_reads_its_own_writes_before_and_after_commit) {
  auto store = this->backend.kv("counts");
  EXPECT_EQ(store->get("a"), std::nullopt);
  store->put("a", "1");
  EXPECT_EQ(store->get("a"), "1");
  EXPECT_EQ(store->pending_writes(), 1u);
  store->commit({1});
  EXPECT_EQ(store->pending_writes(), 0u);
  EXPECT_EQ(store->get("a"), "1");
  store->put("a", "2");
  EXPECT_EQ(store->get("a"), "2");
  store->remove("a");
  EXPECT_EQ(store->get("a"), std::nullopt);
  store->commit({2});
  EXPECT_EQ(store->get("a"), std::nullopt);
  EXPECT_TRUE(all_rows(*store).empty());
}

TYPED_TEST(store_conformance, kv_keys_are_binary_and_ordered_by_unsigned_bytes) {
  auto store = this->backend.kv("binary");
  std::string zero("\x00", 1);
  std::string high("\xff\x01", 2);
  store->put(high, "high");
  store->put("m", "middle");
  store->put(zero, "zero");
  store->put("a\0b"s, "embedded nul");
  store->commit({1});
  EXPECT_EQ(all_rows(*store),
            (kv_rows{{zero, "zero"}, {"a\0b"s, "embedded nul"}, {"m", "middle"}, {high, "high"}}));
  EXPECT_EQ(store->get("a\0b"s), "embedded nul");
  EXPECT_EQ(store->get("a"), std::nullopt);
}

TYPED_TEST(store_conformance, kv_range_is_half_open_and_merges_buffer_over_committed) {
  auto store = this->backend.kv("ranges");
  for (auto key : {"a", "b", "c", "d", "e"}) store->put(key, "committed-"s + key);
  store->commit({5});
  store->put("bb", "buffered");  // new key between committed ones
  store->put("c", "updated");    // overwrite
  store->remove("d");            // deletion hides a committed key
  EXPECT_EQ(range_rows(*store, "b", "e"),
            (kv_rows{{"b", "committed-b"}, {"bb", "buffered"}, {"c", "updated"}}));
  EXPECT_TRUE(range_rows(*store, "c", "c").empty());
  EXPECT_TRUE(range_rows(*store, "e", "a").empty());
  EXPECT_EQ(range_rows(*store, "", "b"), (kv_rows{{"a", "committed-a"}}));
  store->commit({6});
  EXPECT_EQ(range_rows(*store, "b", "e"),
            (kv_rows{{"b", "committed-b"}, {"bb", "buffered"}, {"c", "updated"}}));
}

TYPED_TEST(store_conformance, kv_prefix_scan_covers_exactly_the_prefix) {
  auto store = this->backend.kv("prefixes");
  std::string ff("\xff", 1);
  std::string ffff("\xff\xff", 2);
  for (const auto& key : {"ab"s, "aba"s, "abz"s, "ac"s, "a"s, ff, ffff}) store->put(key, "v");
  store->commit({1});
  store->put("abb", "buffered");
  EXPECT_EQ(prefix_rows(*store, "ab"),
            (kv_rows{{"ab", "v"}, {"aba", "v"}, {"abb", "buffered"}, {"abz", "v"}}));
  // A prefix of 0xFF bytes has no successor: the scan runs to the end.
  EXPECT_EQ(prefix_rows(*store, ff), (kv_rows{{ff, "v"}, {ffff, "v"}}));
  EXPECT_EQ(prefix_rows(*store, "").size(), 8u);
  EXPECT_TRUE(prefix_rows(*store, "zz").empty());
}

TYPED_TEST(store_conformance, kv_scan_stops_when_the_visitor_says_so) {
  auto store = this->backend.kv("stops");
  for (auto key : {"a", "c", "e"}) store->put(key, "committed");
  store->commit({1});
  for (auto key : {"b", "d"}) store->put(key, "buffered");
  kv_collector c;
  c.limit = 3;
  store->all(c.visitor());
  EXPECT_EQ(c.rows, (kv_rows{{"a", "committed"}, {"b", "buffered"}, {"c", "committed"}}));
}

TYPED_TEST(store_conformance, kv_abort_leaves_the_committed_state_and_offset) {
  auto store = this->backend.kv("aborts");
  store->put("a", "1");
  store->commit({5});
  store->put("a", "2");
  store->put("b", "new");
  store->remove("a");
  store->abort();
  EXPECT_EQ(store->pending_writes(), 0u);
  EXPECT_EQ(store->get("a"), "1");
  EXPECT_EQ(store->get("b"), std::nullopt);
  EXPECT_EQ(all_rows(*store), (kv_rows{{"a", "1"}}));
  EXPECT_EQ(store->committed_offset(), changelog_offset{5});
}

TYPED_TEST(store_conformance, kv_commit_records_the_offset_and_refuses_to_go_back) {
  auto store = this->backend.kv("offsets");
  EXPECT_EQ(store->committed_offset(), std::nullopt);
  store->commit({0});  // an empty commit still records where the store is
  EXPECT_EQ(store->committed_offset(), changelog_offset{0});
  store->put("a", "1");
  store->commit({7});
  EXPECT_EQ(store->committed_offset(), changelog_offset{7});
  // Going back fails as a whole: neither data nor offset change, the write stays buffered.
  store->put("a", "2");
  EXPECT_THROW(store->commit({6}), store_error);
  EXPECT_EQ(store->committed_offset(), changelog_offset{7});
  EXPECT_EQ(store->pending_writes(), 1u);
  store->abort();
  EXPECT_EQ(store->get("a"), "1");
  EXPECT_THROW(store->commit({-1}), store_error);
  store->commit({7});  // the same offset again is fine (a transaction with no records)
}

TYPED_TEST(store_conformance, kv_apply_restores_changes_with_their_offset) {
  auto store = this->backend.kv("restores");
  std::vector<change> batch{{"a", "1"}, {"b", "2"}, {"a", std::nullopt}, {"c", "3"}, {"c", "4"}};
  store->apply(batch, {42});
  EXPECT_EQ(store->committed_offset(), changelog_offset{42});
  EXPECT_EQ(all_rows(*store), (kv_rows{{"b", "2"}, {"c", "4"}}));
  store->put("d", "buffered");
  EXPECT_THROW(store->apply(batch, {50}), store_error);  // restore never mixes with a transaction
  store->abort();
  EXPECT_THROW(store->apply(batch, {41}), store_error);
  EXPECT_EQ(store->committed_offset(), changelog_offset{42});
}

TYPED_TEST(store_conformance, kv_stores_are_independent) {
  auto first = this->backend.kv("first");
  auto second = this->backend.kv("second");
  first->put("k", "1");
  first->commit({3});
  EXPECT_EQ(second->get("k"), std::nullopt);
  EXPECT_EQ(second->committed_offset(), std::nullopt);
  EXPECT_EQ(first->name(), "first");
}

TYPED_TEST(store_conformance, kv_rejects_bad_store_names) {
  EXPECT_THROW(this->backend.kv(""), store_error);
  EXPECT_THROW(this->backend.kv("has space"), store_error);
  EXPECT_THROW(this->backend.kv("slash/name"), store_error);
}

// ---------------------------------------------------------------- window

TYPED_TEST(store_conformance, window_fetch_is_inclusive_and_ascending_across_segments) {
  auto store = this->backend.window("windows", small_windows());
  for (std::int64_t start : {30, 0, 20, 10, 25}) {
    EXPECT_TRUE(store->put("k", start, "v" + std::to_string(start)));
  }
  store->put("other", 15, "x");
  store->commit({1});
  EXPECT_EQ(fetch_rows(*store, "k", 10, 25),
            (window_rows{{"k", 10, "v10"}, {"k", 20, "v20"}, {"k", 25, "v25"}}));
  EXPECT_EQ(fetch_rows(*store, "k", -100, 5), (window_rows{{"k", 0, "v0"}}));
  EXPECT_TRUE(fetch_rows(*store, "k", 11, 19).empty());
  EXPECT_TRUE(fetch_rows(*store, "k", 20, 10).empty());
  EXPECT_EQ(store->fetch("k", 20), "v20");
  EXPECT_EQ(store->fetch("k", 21), std::nullopt);
  EXPECT_EQ(fetch_rows(*store, "other", 0, 100), (window_rows{{"other", 15, "x"}}));
}

TYPED_TEST(store_conformance, window_fetch_ignores_keys_that_share_its_bytes) {
  auto store = this->backend.window("collisions", small_windows());
  // "k" + be64(15) as a key of its own: its window key starts with the bytes of ("k", 15).
  auto longer = key_layout::window_key("k", 15);
  store->put(longer, 0, "longer key");
  store->put("k", 15, "k at 15");
  store->commit({1});
  EXPECT_EQ(fetch_rows(*store, "k", 10, 20), (window_rows{{"k", 15, "k at 15"}}));
  EXPECT_EQ(fetch_rows(*store, longer, 0, 0), (window_rows{{longer, 0, "longer key"}}));
}

TYPED_TEST(store_conformance, window_fetch_all_filters_time_and_orders_by_window_key) {
  auto store = this->backend.window("all-windows", small_windows());
  store->put("b", 10, "b10");
  store->put("a", 40, "a40");
  store->put("a", 5, "a5");
  store->commit({1});
  store->put("c", 20, "c20");   // buffered
  store->put("b", 10, "b10'");  // buffered overwrite
  store->put("a", 30, "a30");
  store->remove("a", 40);
  EXPECT_EQ(fetch_all_rows(*store, 10, 30),
            (window_rows{{"a", 30, "a30"}, {"b", 10, "b10'"}, {"c", 20, "c20"}}));
  EXPECT_EQ(all_rows(*store),
            (window_rows{{"a", 5, "a5"}, {"a", 30, "a30"}, {"b", 10, "b10'"}, {"c", 20, "c20"}}));
  store->commit({2});
  EXPECT_EQ(fetch_all_rows(*store, 10, 30),
            (window_rows{{"a", 30, "a30"}, {"b", 10, "b10'"}, {"c", 20, "c20"}}));
}

TYPED_TEST(store_conformance, window_retention_expires_old_windows_and_counts_late_puts) {
  auto store = this->backend.window("retention", small_windows());
  EXPECT_EQ(store->retention(), 100ms);
  EXPECT_EQ(store->observed_stream_time(), std::nullopt);
  store->put("a", 0, "a0");
  store->put("a", 50, "a50");
  store->put("b", 51, "b51");
  store->commit({1});
  // Stream time 150: windows with start <= 150 - 100 = 50 have expired.
  EXPECT_TRUE(store->put("a", 150, "a150"));
  EXPECT_EQ(store->observed_stream_time(), 150);
  EXPECT_EQ(all_rows(*store), (window_rows{{"a", 150, "a150"}, {"b", 51, "b51"}}));
  EXPECT_EQ(store->fetch("a", 50), std::nullopt);
  EXPECT_FALSE(store->put("a", 50, "late"));
  EXPECT_FALSE(store->put("c", 3, "late"));
  EXPECT_EQ(store->expired_drops(), 2u);
  EXPECT_TRUE(store->put("a", 51, "just in time"));
  store->commit({2});
  EXPECT_EQ(fetch_rows(*store, "a", 0, 1000),
            (window_rows{{"a", 51, "just in time"}, {"a", 150, "a150"}}));
  EXPECT_EQ(store->fetch("b", 51), "b51");
  // A much later window expires everything committed before, segment by segment.
  store->put("z", 10'000, "z");
  store->commit({3});
  EXPECT_EQ(all_rows(*store), (window_rows{{"z", 10'000, "z"}}));
}

TYPED_TEST(store_conformance, window_abort_restores_stream_time_and_expired_windows) {
  auto store = this->backend.window("window-abort", small_windows());
  store->put("a", 10, "a10");
  store->commit({4});
  store->put("a", 1'000, "far ahead");
  EXPECT_EQ(store->fetch("a", 10), std::nullopt);  // expired by the buffered stream time
  store->abort();
  EXPECT_EQ(store->observed_stream_time(), 10);
  EXPECT_EQ(store->fetch("a", 10), "a10");
  EXPECT_EQ(all_rows(*store), (window_rows{{"a", 10, "a10"}}));
  EXPECT_EQ(store->committed_offset(), changelog_offset{4});
}

TYPED_TEST(store_conformance, window_remove_and_read_your_writes) {
  auto store = this->backend.window("window-rw", small_windows());
  store->put("a", 10, "1");
  EXPECT_EQ(store->fetch("a", 10), "1");
  EXPECT_EQ(fetch_rows(*store, "a", 0, 20), (window_rows{{"a", 10, "1"}}));
  store->commit({1});
  store->remove("a", 10);
  EXPECT_EQ(store->fetch("a", 10), std::nullopt);
  EXPECT_TRUE(fetch_rows(*store, "a", 0, 20).empty());
  store->abort();
  EXPECT_EQ(store->fetch("a", 10), "1");
  store->remove("a", 10);
  store->commit({2});
  EXPECT_EQ(store->fetch("a", 10), std::nullopt);
}

TYPED_TEST(store_conformance, window_rejects_negative_starts) {
  auto store = this->backend.window("negative", small_windows());
  EXPECT_THROW(store->put("a", -1, "v"), store_error);
  EXPECT_THROW(store->fetch("a", -1), store_error);
  EXPECT_THROW(store->remove("a", -5), store_error);
  EXPECT_THROW(this->backend.window("zero-retention", {0ms, 10ms}), store_error);
  // 100 s over 10 ms segments would mean 10'000 seeks per fetch.
  EXPECT_THROW(this->backend.window("too-many-segments", {100'000ms, 10ms}), store_error);
}

TYPED_TEST(store_conformance, window_apply_restores_window_keys_and_expires_like_commit) {
  auto store = this->backend.window("window-restore", small_windows());
  std::vector<change> batch{{key_layout::window_key("a", 0), "a0"},
                            {key_layout::window_key("a", 120), "a120"},
                            {key_layout::window_key("b", 60), "b60"},
                            {key_layout::window_key("b", 60), std::nullopt},
                            {key_layout::window_key("c", 30), "c30"}};
  store->apply(batch, {9});
  EXPECT_EQ(store->committed_offset(), changelog_offset{9});
  EXPECT_EQ(store->observed_stream_time(), 120);
  // Stream time 120 expires starts <= 20.
  EXPECT_EQ(all_rows(*store), (window_rows{{"a", 120, "a120"}, {"c", 30, "c30"}}));
  std::vector<change> malformed{{"short", "x"}};
  EXPECT_THROW(store->apply(malformed, {10}), store_error);
  EXPECT_EQ(store->committed_offset(), changelog_offset{9});
}

// ---------------------------------------------------------------- session

TYPED_TEST(store_conformance, session_find_returns_overlapping_sessions_by_end) {
  auto store = this->backend.session("sessions", small_sessions());
  store->put("k", 0, 10, "s1");
  store->put("k", 40, 50, "s3");
  store->put("k", 20, 30, "s2");
  store->put("j", 5, 25, "other key");
  store->commit({1});
  EXPECT_EQ(find_rows(*store, "k", 5, 25), (session_rows{{"k", 0, 10, "s1"}, {"k", 20, 30, "s2"}}));
  EXPECT_TRUE(find_rows(*store, "k", 11, 19).empty());
  // Both bounds are inclusive: end >= from and start <= to.
  EXPECT_EQ(find_rows(*store, "k", 30, 40),
            (session_rows{{"k", 20, 30, "s2"}, {"k", 40, 50, "s3"}}));
  EXPECT_EQ(find_rows(*store, "k", 0, std::numeric_limits<std::int64_t>::max()).size(), 3u);
  EXPECT_EQ(store->fetch_session("k", 20, 30), "s2");
  EXPECT_EQ(store->fetch_session("k", 20, 31), std::nullopt);
}

TYPED_TEST(store_conformance, session_merge_pattern_with_read_your_writes) {
  // What a session-window operator does: find the sessions a record touches, remove them, put
  // the merged session, all inside one transaction.
  auto store = this->backend.session("merges", small_sessions());
  store->put("k", 0, 10, "2");
  store->put("k", 20, 30, "3");
  store->commit({1});
  std::int64_t merged_start = 15;
  std::int64_t merged_end = 15;
  for (const auto& [key, start, end, value] : find_rows(*store, "k", 5, 25)) {
    merged_start = std::min(merged_start, start);
    merged_end = std::max(merged_end, end);
    store->remove(key, start, end);
  }
  store->put("k", merged_start, merged_end, "6");
  EXPECT_EQ(find_rows(*store, "k", 0, 100), (session_rows{{"k", 0, 30, "6"}}));
  store->commit({2});
  EXPECT_EQ(all_rows(*store), (session_rows{{"k", 0, 30, "6"}}));
}

TYPED_TEST(store_conformance, session_find_ignores_keys_that_share_its_bytes) {
  auto store = this->backend.session("session-collisions", small_sessions());
  auto longer = std::string("k") + key_layout::session_key("", 0, 5).substr(0, 8);
  store->put(longer, 0, 1, "longer");
  store->put("k", 3, 5, "k");
  store->commit({1});
  EXPECT_EQ(find_rows(*store, "k", 0, 100), (session_rows{{"k", 3, 5, "k"}}));
  EXPECT_EQ(find_rows(*store, longer, 0, 100), (session_rows{{longer, 0, 1, "longer"}}));
}

TYPED_TEST(store_conformance, session_retention_follows_session_end) {
  auto store = this->backend.session("session-retention", small_sessions());
  store->put("a", 0, 40, "old");
  store->put("a", 10, 80, "long");
  store->commit({1});
  store->put("b", 200, 200, "new");  // stream time 200: ends <= 100 have expired
  EXPECT_EQ(all_rows(*store), (session_rows{{"b", 200, 200, "new"}}));
  EXPECT_FALSE(store->put("a", 90, 100, "late"));
  EXPECT_TRUE(store->put("a", 0, 101, "long enough"));
  EXPECT_EQ(store->expired_drops(), 1u);
  store->commit({2});
  EXPECT_EQ(find_rows(*store, "a", 0, 1000), (session_rows{{"a", 0, 101, "long enough"}}));
}

TYPED_TEST(store_conformance, session_abort_and_invalid_sessions) {
  auto store = this->backend.session("session-abort", small_sessions());
  store->put("a", 1, 2, "kept");
  store->commit({1});
  store->put("a", 3, 4, "dropped");
  store->remove("a", 1, 2);
  store->abort();
  EXPECT_EQ(all_rows(*store), (session_rows{{"a", 1, 2, "kept"}}));
  EXPECT_THROW(store->put("a", 5, 4, "end before start"), store_error);
  EXPECT_THROW(store->put("a", -1, 4, "negative"), store_error);
  std::vector<change> malformed{{key_layout::session_key("a", 0, 1).substr(0, 10), "x"}};
  EXPECT_THROW(store->apply(malformed, {2}), store_error);
}

TYPED_TEST(store_conformance, session_apply_restores_session_keys) {
  auto store = this->backend.session("session-restore", small_sessions());
  std::vector<change> batch{{key_layout::session_key("a", 0, 10), "a"},
                            {key_layout::session_key("b", 5, 7), "b"},
                            {key_layout::session_key("a", 0, 10), std::nullopt},
                            {key_layout::session_key("a", 0, 12), "a'"}};
  store->apply(batch, {100});
  EXPECT_EQ(store->committed_offset(), changelog_offset{100});
  EXPECT_EQ(all_rows(*store), (session_rows{{"a", 0, 12, "a'"}, {"b", 5, 7, "b"}}));
}

}  // namespace
}  // namespace sluice::state::test
