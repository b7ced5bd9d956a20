// Write-back (state/store_types.hpp write_back_policy): committed writes stay in a store's buffer
// until the policy flushes them; reads see them, abort keeps them, and the table with its
// recorded changelog offset is always a state some commit left.

#include <gtest/gtest.h>

#include "state/buffered_kv_store.hpp"
#include "state/memory_table.hpp"
#include "state/segmented_window_store.hpp"
#include "state/write_buffer.hpp"

namespace sluice::state {
namespace {

constexpr write_back_policy every_third_commit{.max_bytes = std::size_t{1} << 20, .max_commits = 3};

// A bytes_table over a memory_table the test keeps, so the test can look into the table after
// the store that wrote it is gone.
class borrowed_table final : public bytes_table {
 public:
  explicit borrowed_table(memory_table& table) : table_(table) {}
  std::optional<bytes> get(bytes_view key) const override { return table_.get(key); }
  std::unique_ptr<table_cursor> scan(bytes_view from, std::optional<bytes_view> to) const override {
    return table_.scan(from, to);
  }
  std::optional<bytes> metadata(std::string_view name) const override {
    return table_.metadata(name);
  }
  void write(const table_write& batch) override { table_.write(batch); }

 private:
  memory_table& table_;
};

struct observed_table {
  memory_table storage;
  memory_table* table = &storage;
  std::unique_ptr<bytes_table> owned = std::make_unique<borrowed_table>(storage);
  std::optional<std::int64_t> offset() const {
    return table_metadata::read_i64(*table, table_metadata::offset, "observed");
  }
};

TEST(write_buffer, abort_restores_what_the_last_commit_left) {
  write_buffer buffer;
  buffer.put("a", "1");
  buffer.put("b", "1");
  buffer.commit_transaction();
  buffer.put("a", "2");
  buffer.put("a", "3");
  buffer.remove("b");
  buffer.put("c", "1");
  EXPECT_EQ(buffer.transaction_size(), 3u);
  buffer.abort_transaction();
  EXPECT_FALSE(buffer.in_transaction());
  ASSERT_NE(buffer.find("a"), nullptr);
  EXPECT_EQ(*buffer.find("a"), "1");
  EXPECT_EQ(*buffer.find("b"), "1");
  EXPECT_EQ(buffer.find("c"), nullptr);
  EXPECT_EQ(buffer.size(), 2u);
}

TEST(write_buffer, bytes_held_follow_aborts_and_clears) {
  write_buffer buffer;
  buffer.put("a", "1");
  buffer.commit_transaction();
  const auto committed = buffer.bytes_held();
  EXPECT_GT(committed, 0u);
  buffer.put("a", "a much longer value than before");
  buffer.put("b", "2");
  EXPECT_GT(buffer.bytes_held(), committed);
  buffer.abort_transaction();
  EXPECT_EQ(buffer.bytes_held(), committed);
  buffer.clear();
  EXPECT_EQ(buffer.bytes_held(), 0u);
  EXPECT_TRUE(buffer.empty());
}

TEST(write_buffer, a_flush_is_due_after_the_policys_commits_or_bytes) {
  write_buffer buffer;
  buffer.put("a", "1");
  buffer.commit_transaction();
  EXPECT_FALSE(buffer.flush_due(every_third_commit));
  EXPECT_TRUE(buffer.flush_due(write_back_policy{}));  // the default: every commit
  buffer.commit_transaction();
  buffer.commit_transaction();
  EXPECT_TRUE(buffer.flush_due(every_third_commit));
  buffer.clear();
  buffer.put("a", std::string(100, 'x'));
  buffer.commit_transaction();
  EXPECT_TRUE(buffer.flush_due(write_back_policy{.max_bytes = 64, .max_commits = 100}));
}

TEST(write_buffer, the_first_flush_may_come_earlier_then_every_max_commits) {
  const write_back_policy first_after_one{
      .max_bytes = 1 << 20, .max_commits = 3, .first_flush_after = 1};
  write_buffer buffer;
  buffer.put("a", "1");
  EXPECT_FALSE(buffer.flush_due(first_after_one));
  buffer.commit_transaction();
  EXPECT_TRUE(buffer.flush_due(first_after_one));
  buffer.clear();
  buffer.put("a", "2");
  buffer.commit_transaction();
  buffer.commit_transaction();
  EXPECT_FALSE(buffer.flush_due(first_after_one));  // after the first: every third commit
  buffer.commit_transaction();
  EXPECT_TRUE(buffer.flush_due(first_after_one));
}

TEST(write_back, kv_store_writes_its_table_every_third_commit) {
  observed_table t;
  buffered_kv_store store("kv", std::move(t.owned), every_third_commit);
  store.put("a", "1");
  store.commit(changelog_offset{1});
  EXPECT_EQ(t.table->get("a"), std::nullopt);
  EXPECT_EQ(t.offset(), std::nullopt);
  EXPECT_EQ(store.get("a"), "1");
  EXPECT_EQ(store.committed_offset(), changelog_offset{1});
  EXPECT_EQ(store.pending_writes(), 0u);

  store.put("a", "2");
  store.commit(changelog_offset{2});
  store.put("a", "3");
  store.put("b", "1");
  store.abort();  // the open transaction goes; the two commits stay
  EXPECT_EQ(store.get("a"), "2");
  EXPECT_EQ(store.get("b"), std::nullopt);

  store.remove("a");
  store.commit(changelog_offset{3});
  EXPECT_EQ(t.offset(), 3);
  EXPECT_EQ(t.table->get("a"), std::nullopt);
  EXPECT_EQ(store.get("a"), std::nullopt);
}

TEST(write_back, kv_store_scans_merge_committed_and_open_writes) {
  observed_table t;
  buffered_kv_store store("kv", std::move(t.owned), every_third_commit);
  store.put("a", "1");
  store.put("c", "1");
  store.commit(changelog_offset{1});
  store.put("b", "2");
  store.remove("c");
  std::vector<std::pair<std::string, std::string>> seen;
  store.all([&](bytes_view k, bytes_view v) {
    seen.emplace_back(k, v);
    return true;
  });
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2"}}));
}

TEST(write_back, a_closed_store_writes_what_it_committed_and_not_the_open_transaction) {
  observed_table t;
  {
    buffered_kv_store store("kv", std::move(t.owned), every_third_commit);
    store.put("a", "1");
    store.commit(changelog_offset{5});
    store.put("b", "1");  // never committed
  }
  EXPECT_EQ(t.table->get("a"), "1");
  EXPECT_EQ(t.table->get("b"), std::nullopt);
  EXPECT_EQ(t.offset(), 5);
}

TEST(write_back, flush_committed_records_an_offset_that_came_without_writes) {
  observed_table t;
  buffered_kv_store store("kv", std::move(t.owned), every_third_commit);
  store.commit(changelog_offset{7});  // a source table's store: its offset moves, nothing else
  EXPECT_EQ(t.offset(), std::nullopt);
  store.flush_committed();
  EXPECT_EQ(t.offset(), 7);
}

TEST(write_back, flush_committed_leaves_an_open_transaction_alone) {
  observed_table t;
  buffered_kv_store store("kv", std::move(t.owned), every_third_commit);
  store.put("a", "1");
  store.commit(changelog_offset{1});
  store.put("b", "1");
  store.flush_committed();  // would write b, which Kafka has not committed: it waits
  EXPECT_EQ(t.table->get("a"), std::nullopt);
  store.commit(changelog_offset{2});
  store.flush_committed();
  EXPECT_EQ(t.table->get("a"), "1");
  EXPECT_EQ(t.table->get("b"), "1");
  EXPECT_EQ(t.offset(), 2);
}

TEST(write_back, applying_changelog_records_writes_the_committed_buffer_first) {
  observed_table t;
  buffered_kv_store store("kv", std::move(t.owned), every_third_commit);
  store.put("a", "1");
  store.put("b", "1");
  store.commit(changelog_offset{1});
  const std::vector<change> changes{{"b", "2"}};
  store.apply(changes, changelog_offset{2});
  EXPECT_EQ(t.table->get("a"), "1");
  EXPECT_EQ(t.table->get("b"), "2");
  EXPECT_EQ(store.get("b"), "2");
  store.put("c", "1");
  EXPECT_THROW(store.apply(changes, changelog_offset{3}), store_error);
}

TEST(write_back, window_store_keeps_stream_time_and_expiry_across_unflushed_commits) {
  observed_table t;
  window_store_options options;
  options.retention = std::chrono::milliseconds(1000);
  options.segment_interval = std::chrono::milliseconds(100);
  options.write_back = every_third_commit;
  segmented_window_store store("windows", std::move(t.owned), options);
  ASSERT_TRUE(store.put("k", 0, "old"));
  store.commit(changelog_offset{1});
  ASSERT_TRUE(store.put("k", 5000, "new"));
  store.commit(changelog_offset{2});
  // Stream time 5000 expired window 0: it is gone for readers although nothing was written.
  EXPECT_EQ(store.fetch("k", 0), std::nullopt);
  EXPECT_EQ(store.fetch("k", 5000), "new");
  ASSERT_TRUE(store.put("k", 9000, "newer"));
  store.abort();
  EXPECT_EQ(store.observed_stream_time(), 5000);
  EXPECT_EQ(store.fetch("k", 9000), std::nullopt);
  store.commit(changelog_offset{3});  // the third: the table gets both commits, minus the expired
  EXPECT_EQ(t.offset(), 3);
  std::vector<std::int64_t> starts;
  store.all([&](bytes_view, std::int64_t start, bytes_view) {
    starts.push_back(start);
    return true;
  });
  EXPECT_EQ(starts, std::vector<std::int64_t>{5000});
}

}  // namespace
}  // namespace sluice::state
