#include "state/cached_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "state/memory_table.hpp"

namespace sluice::state {
namespace {

// Counts the reads that reach the table under the cache.
class counting_table final : public bytes_table {
 public:
  std::optional<bytes> get(bytes_view key) const override {
    ++gets;
    return inner.get(key);
  }
  std::unique_ptr<table_cursor> scan(bytes_view from, std::optional<bytes_view> to) const override {
    return inner.scan(from, to);
  }
  std::optional<bytes> metadata(std::string_view name) const override {
    return inner.metadata(name);
  }
  void write(const table_write& batch) override { inner.write(batch); }

  memory_table inner;
  mutable int gets = 0;
};

struct cached {
  explicit cached(std::size_t budget_bytes = 1 << 20)
      : budget(std::make_shared<store_cache_budget>(budget_bytes)) {
    auto owned = std::make_unique<counting_table>();
    below = owned.get();
    table = std::make_unique<cached_table>(std::move(owned), budget);
  }
  void put(std::string key, std::optional<std::string> value) {
    table_write batch;
    batch.entries.push_back({key, value ? std::optional<bytes_view>(*value) : std::nullopt});
    table->write(batch);
  }
  std::shared_ptr<store_cache_budget> budget;
  counting_table* below;
  std::unique_ptr<cached_table> table;
};

TEST(cached_table, repeated_reads_of_a_key_reach_the_table_once) {
  cached c;
  c.put("a", "1");
  EXPECT_EQ(c.table->get("a"), "1");
  EXPECT_EQ(c.table->get("a"), "1");
  EXPECT_EQ(c.table->get("missing"), std::nullopt);
  EXPECT_EQ(c.table->get("missing"), std::nullopt);
  EXPECT_EQ(c.below->gets, 2);
  EXPECT_EQ(c.table->hits(), 2u);
  EXPECT_EQ(c.table->misses(), 2u);
}

TEST(cached_table, a_committed_write_replaces_the_cached_value_or_absence) {
  cached c;
  c.put("a", "1");
  ASSERT_EQ(c.table->get("a"), "1");
  ASSERT_EQ(c.table->get("b"), std::nullopt);
  c.put("a", "2");
  c.put("b", "3");
  c.put("a", std::nullopt);
  EXPECT_EQ(c.table->get("a"), std::nullopt);
  EXPECT_EQ(c.table->get("b"), "3");
  EXPECT_EQ(c.below->gets, 2);
}

TEST(cached_table, a_range_deletion_drops_the_cached_keys_inside_it) {
  cached c;
  for (auto key : {"a1", "b1", "b2", "c1"}) c.put(key, "v");
  for (auto key : {"a1", "b1", "b2", "c1"}) ASSERT_EQ(c.table->get(key), "v");
  table_write expiry;
  expiry.delete_ranges.emplace_back("b", "c");
  c.table->write(expiry);
  EXPECT_EQ(c.table->get("a1"), "v");
  EXPECT_EQ(c.table->get("b1"), std::nullopt);
  EXPECT_EQ(c.table->get("b2"), std::nullopt);
  EXPECT_EQ(c.table->get("c1"), "v");
}

TEST(cached_table, a_failed_write_leaves_the_cache_as_the_table) {
  class failing_table final : public bytes_table {
   public:
    std::optional<bytes> get(bytes_view) const override { return "old"; }
    std::unique_ptr<table_cursor> scan(bytes_view, std::optional<bytes_view>) const override {
      return nullptr;
    }
    std::optional<bytes> metadata(std::string_view) const override { return std::nullopt; }
    void write(const table_write&) override { throw store_error("disk full"); }
  };
  cached_table table(std::make_unique<failing_table>(),
                     std::make_shared<store_cache_budget>(1 << 20));
  ASSERT_EQ(table.get("k"), "old");
  table_write batch;
  std::string value = "new";
  batch.entries.push_back({"k", value});
  EXPECT_THROW(table.write(batch), store_error);
  EXPECT_EQ(table.get("k"), "old");
}

TEST(cached_table, holds_about_its_share_of_the_budget_and_keeps_what_is_in_use) {
  cached c(std::size_t{64} * 1024);
  cached other(0);  // a budget of 0: no cache at all
  const std::string value(100, 'v');
  for (int i = 0; i < 5000; ++i) c.put("key-" + std::to_string(i), value);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 5000; ++i) {
      ASSERT_EQ(c.table->get("key-" + std::to_string(i)), value);
      ASSERT_EQ(c.table->get("hot"), std::nullopt);  // read between all others: never evicted
    }
  }
  EXPECT_LE(c.table->cached_bytes(), 64u * 1024);
  EXPECT_EQ(c.budget->usage(), c.table->cached_bytes());
  EXPECT_EQ(c.below->gets, 3 * 5000 + 1);
  other.put("k", "v");
  EXPECT_EQ(other.table->get("k"), "v");
  EXPECT_EQ(other.table->get("k"), "v");
  EXPECT_EQ(other.below->gets, 2);
}

TEST(cached_table, the_budget_is_shared_by_the_open_tables_and_given_back) {
  auto budget = std::make_shared<store_cache_budget>(1 << 20);
  auto first = std::make_unique<cached_table>(std::make_unique<memory_table>(), budget);
  EXPECT_EQ(budget->share(), std::size_t{1} << 20);
  {
    cached_table second(std::make_unique<memory_table>(), budget);
    EXPECT_EQ(budget->share(), std::size_t{1} << 19);
    ASSERT_EQ(second.get("x"), std::nullopt);
    EXPECT_GT(budget->usage(), 0u);
  }
  EXPECT_EQ(budget->usage(), 0u);
  EXPECT_EQ(budget->share(), std::size_t{1} << 20);
}

// Any sequence of writes, range deletions and reads gives what the table alone gives.
TEST(cached_table, reads_match_the_table_below_under_random_operations) {
  std::mt19937 random(7);
  cached c(std::size_t{16} * 1024);  // small: evictions and rotations happen often
  memory_table model;
  auto key = [&] { return "k" + std::to_string(random() % 300); };
  for (int step = 0; step < 20000; ++step) {
    const auto choice = random() % 10;
    if (choice < 5) {
      const auto k = key();
      ASSERT_EQ(c.table->get(k), model.get(k)) << "step " << step << " key " << k;
      continue;
    }
    table_write batch;
    std::vector<std::pair<std::string, std::optional<std::string>>> owned;
    if (choice == 9) {
      auto a = key(), b = key();
      batch.delete_ranges.emplace_back(std::min(a, b), std::max(a, b));
    } else {
      for (int i = 0; i < 3; ++i) {
        owned.emplace_back(key(), random() % 4 == 0
                                      ? std::nullopt
                                      : std::optional<std::string>(std::to_string(step)));
      }
      for (auto& [k, v] : owned)
        batch.entries.push_back({k, v ? std::optional<bytes_view>(*v) : std::nullopt});
    }
    c.table->write(batch);
    model.write(batch);
  }
  EXPECT_GT(c.table->hits(), 0u);
}

}  // namespace
}  // namespace sluice::state
