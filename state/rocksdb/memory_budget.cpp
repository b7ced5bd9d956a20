#include "state/rocksdb/memory_budget.hpp"

#include <fmt/format.h>
#include <rocksdb/cache.h>
#include <rocksdb/write_buffer_manager.h>

#include "state/store_types.hpp"

namespace sluice::state::rocksdb {

memory_budget::memory_budget(memory_budget_config config) : config_(config) {
  if (config_.total_bytes == 0 || config_.memtable_bytes == 0 ||
      config_.memtable_bytes_per_store == 0) {
    throw store_error(
        "memory budget: total_bytes, memtable_bytes and memtable_bytes_per_store "
        "must be positive");
  }
  if (config_.memtable_bytes + config_.store_cache_bytes > config_.total_bytes) {
    throw store_error(fmt::format(
        "memory budget: memtable_bytes ({}) and store_cache_bytes ({}) exceed total_bytes ({}); "
        "memtables are charged to the block cache, which gets what the store caches leave, so "
        "they must fit in it",
        config_.memtable_bytes, config_.store_cache_bytes, config_.total_bytes));
  }
  if (!(config_.index_and_filter_ratio >= 0.0 && config_.index_and_filter_ratio <= 1.0)) {
    throw store_error(fmt::format("memory budget: index_and_filter_ratio {} is outside [0, 1]",
                                  config_.index_and_filter_ratio));
  }
  store_cache_ = std::make_shared<store_cache_budget>(config_.store_cache_bytes);
  cache_ = ::rocksdb::NewLRUCache(config_.total_bytes - config_.store_cache_bytes, -1,
                                  config_.strict_capacity_limit, config_.index_and_filter_ratio);
  // Charging memtables to the cache is what makes total_bytes the whole budget (RocksDB wiki,
  // "Write Buffer Manager": cost memory to block cache).
  write_buffer_manager_ =
      std::make_shared<::rocksdb::WriteBufferManager>(config_.memtable_bytes, cache_);
}

memory_budget::~memory_budget() = default;

write_back_policy memory_budget::next_store_write_back() {
  auto policy = config_.store_write_back;
  if (policy.max_commits <= 1) return policy;
  // A stride with no common factor with the usual max_commits spreads a few stores over the
  // whole cycle rather than onto its first commits.
  constexpr std::uint32_t stride = 7;
  const auto opened = stores_opened_.fetch_add(1, std::memory_order_relaxed);
  policy.first_flush_after = 1 + (opened * stride) % policy.max_commits;
  return policy;
}

std::size_t memory_budget::usage() const {
  return cache_->GetUsage() + store_cache_->usage();
}

std::size_t memory_budget::memtable_usage() const {
  return write_buffer_manager_->memory_usage();
}

}  // namespace sluice::state::rocksdb
