// The cost of a store commit with the RocksDB WAL on (the default: a commit survives kill -9)
// and off (a crash loses what was not flushed), per record written. One task database, one
// key-value store, 100-byte values over 10,000 keys; each iteration writes `records per commit`
// records and commits them with their changelog offset in one WriteBatch, as the runtime does
// once per commit interval.
//
//   build/<preset>/bench/bench_store_commit [--benchmark_repetitions=3]
//
// Method and figures: docs/benchmarks.md, "State that survives kill -9".

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "state/rocksdb/task_database.hpp"

namespace {

namespace fs = std::filesystem;
namespace store = sluice::state::rocksdb;

void store_commit(benchmark::State& state) {
  const bool wal = state.range(0) != 0;
  const auto records_per_commit = state.range(1);
  const auto directory =
      fs::temp_directory_path() /
      ("sluice-bench-store-commit-" + std::to_string(::getpid()) + (wal ? "-wal" : "-nowal"));
  fs::remove_all(directory);
  auto memory = std::make_shared<store::memory_budget>(store::memory_budget_config{});
  {
    auto database = store::task_database::open({directory, "bench", "0_0", memory, wal});
    auto counts = database.open_kv_store("counts");
    const std::string value(100, 'v');
    std::int64_t offset = 0;
    std::int64_t key = 0;
    for (auto _ : state) {
      for (std::int64_t i = 0; i < records_per_commit; ++i) {
        const auto name = "key-" + std::to_string(key++ % 10'000);
        counts->put(name, value);
      }
      offset += records_per_commit;
      counts->commit({offset});
    }
    state.SetItemsProcessed(state.iterations() * records_per_commit);
  }
  fs::remove_all(directory);
}

BENCHMARK(store_commit)
    ->ArgNames({"wal", "records_per_commit"})
    ->ArgsProduct({{0, 1}, {1, 100, 1000}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
