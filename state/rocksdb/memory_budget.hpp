#pragma once

// memory_budget: ONE RocksDB memory budget for the whole process, shared by every task database
// and every store in it, so memory does not grow with the number of partitions (the problem
// Kafka Streams users solve by hand with a RocksDBConfigSetter and BoundedMemoryRocksDBConfig).
//
//   block cache      one LRU cache of `total_bytes` for data, index and filter blocks of all
//                    databases (index and filter blocks are charged to it too, in its
//                    high-priority pool, instead of living outside any limit)
//   write buffers    one WriteBufferManager limited to `memtable_bytes`, whose memtable memory
//                    is CHARGED TO THE SAME CACHE, so total_bytes bounds memtables + blocks
//
//   store caches     the stores' caches of committed values (state/cached_table.hpp), at most
//                    `store_cache_bytes`, taken from total_bytes: the block cache gets the rest
//
// Create one at start-up, pass it (shared_ptr) to every task_database; it must outlive them,
// which the shared_ptr ensures. Thread-safe (RocksDB's cache and write buffer manager are).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "state/cached_table.hpp"

namespace rocksdb {
class Cache;
class WriteBufferManager;
}  // namespace rocksdb

namespace sluice::state::rocksdb {

struct memory_budget_config {
  // All of it: the stores' caches, and the block cache with the memtables charged inside it.
  std::size_t total_bytes = std::size_t{512} << 20;
  // The stores' caches of committed values, out of total_bytes (0: no such caches).
  std::size_t store_cache_bytes = std::size_t{64} << 20;
  // Limit of all memtables together (a flush starts when reached); at most total_bytes.
  std::size_t memtable_bytes = std::size_t{128} << 20;
  // Memtable size of one store (column family) before it is flushed.
  std::size_t memtable_bytes_per_store = std::size_t{16} << 20;
  // Write-back (store_types.hpp): a store writes its committed writes to RocksDB once they exceed
  // this many bytes or this many commits went by, instead of at every commit; a key updated in
  // every commit then costs one memtable insert per flush. The memory is held per store, outside
  // total_bytes; a crash restores at most this much more from the changelogs.
  write_back_policy store_write_back{.max_bytes = std::size_t{4} << 20, .max_commits = 50};
  // Share of the cache kept for index and filter blocks (high-priority pool).
  double index_and_filter_ratio = 0.1;
  // When true, inserting into a full cache fails reads instead of exceeding the budget.
  bool strict_capacity_limit = false;
};

class memory_budget {
 public:
  // Throws store_error for an inconsistent config (zero sizes, memtables above the total, a ratio
  // outside [0, 1]).
  explicit memory_budget(memory_budget_config config);
  ~memory_budget();
  memory_budget(const memory_budget&) = delete;
  memory_budget& operator=(const memory_budget&) = delete;

  const memory_budget_config& config() const { return config_; }
  // store_write_back for the next store opened: each gets its first flush at a different commit.
  write_back_policy next_store_write_back();
  // Bytes in use: the block cache (memtable reservations included) and the store caches.
  std::size_t usage() const;
  // Bytes of memtables across all databases using this budget.
  std::size_t memtable_usage() const;

  const std::shared_ptr<::rocksdb::Cache>& cache() const { return cache_; }
  const std::shared_ptr<store_cache_budget>& store_cache() const { return store_cache_; }
  const std::shared_ptr<::rocksdb::WriteBufferManager>& write_buffer_manager() const {
    return write_buffer_manager_;
  }

 private:
  memory_budget_config config_;
  std::atomic<std::uint32_t> stores_opened_{0};
  std::shared_ptr<::rocksdb::Cache> cache_;
  std::shared_ptr<::rocksdb::WriteBufferManager> write_buffer_manager_;
  std::shared_ptr<store_cache_budget> store_cache_;
};

}  // namespace sluice::state::rocksdb
