#pragma once

// cached_table: a bytes_table decorator that answers repeated point lookups from memory. An
// aggregation reads the state of a key for every record of that key; without it each read is a
// RocksDB Get (memtable skip list, then blocks), which was the largest single cost of a windowed
// count (docs/benchmarks.md, "Where Sluice's time goes"). The layer holds COMMITTED values only
// (the write buffer above it holds the open transaction), so it is always coherent: the table
// changes only through write(), which it forwards first and then mirrors. Misses are cached too
// (a key's first window is a miss every time otherwise).
//
// Memory: two generations, the current one and the one before. A hit in the old generation moves
// the entry to the current one; when the current one outgrows half this table's share of the
// process's store_cache_budget, the old generation is dropped and the current one becomes old.
// So recently used entries survive, and the table holds at most about its share. Its share is
// the budget divided by the tables open at that moment (every store of every task).
//
// One task's thread; not thread-safe (the budget is).

#include <atomic>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <memory>
#include <optional>

#include "state/bytes_table.hpp"

namespace sluice::state {

// The bytes every cached_table of a process may hold together, shared by them. Thread-safe.
class store_cache_budget {
 public:
  explicit store_cache_budget(std::size_t total_bytes) : total_bytes_(total_bytes) {}
  std::size_t total_bytes() const { return total_bytes_; }
  // One table's share at this moment.
  std::size_t share() const { return total_bytes_ / std::max<std::size_t>(1, tables_.load()); }
  std::size_t usage() const { return used_.load(); }

 private:
  friend class cached_table;
  std::size_t total_bytes_;
  std::atomic<std::size_t> tables_{0};
  std::atomic<std::size_t> used_{0};
};

class cached_table final : public bytes_table {
 public:
  // A budget of 0 bytes turns the cache off (every call goes to `inner`).
  cached_table(std::unique_ptr<bytes_table> inner, std::shared_ptr<store_cache_budget> budget);
  ~cached_table() override;
  cached_table(const cached_table&) = delete;
  cached_table& operator=(const cached_table&) = delete;

  std::optional<bytes> get(bytes_view key) const override;
  std::unique_ptr<table_cursor> scan(bytes_view from, std::optional<bytes_view> to) const override {
    return inner_->scan(from, to);
  }
  std::optional<bytes> metadata(std::string_view name) const override {
    return inner_->metadata(name);
  }
  void write(const table_write& batch) override;

  std::uint64_t hits() const { return hits_; }
  std::uint64_t misses() const { return misses_; }
  std::size_t cached_bytes() const { return current_.size + previous_.size; }

 private:
  struct generation {
    boost::unordered_flat_map<bytes, std::optional<bytes>, bytes_hash, bytes_equal> entries;
    std::size_t size = 0;  // bytes held, overhead included
  };

  void remember(bytes_view key, std::optional<bytes> value) const;
  void forget_range(generation& g, bytes_view from, bytes_view to) const;
  void release(std::size_t bytes) const;

  std::unique_ptr<bytes_table> inner_;
  std::shared_ptr<store_cache_budget> budget_;
  // Caching is logically const: get() fills it.
  mutable generation current_;
  mutable generation previous_;
  mutable std::uint64_t hits_ = 0;
  mutable std::uint64_t misses_ = 0;
};

}  // namespace sluice::state
