#pragma once

// Shared by the state tests: a temporary directory, the backends the conformance suite runs
// against, and collectors that turn visitor scans into vectors to compare.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "state/in_memory_stores.hpp"
#include "state/metered_stores.hpp"
#include "state/rocksdb/task_database.hpp"

namespace sluice::state::test {

// A test binary that re-executes itself as a crash child (to kill -9 a real process mid-write):
// when `variable` is set, `run` gets its value (a directory) before any test and must end the
// process itself. A gtest environment, so the child runs before the tests would.
class child_mode : public ::testing::Environment {
 public:
  using entry = void (*)(const char* directory);
  child_mode(const char* variable, entry run) : variable_(variable), run_(run) {}
  void SetUp() override {
    if (const char* directory = std::getenv(variable_)) run_(directory);
  }
  // gtest owns the environment.
  static bool add(const char* variable, entry run) {
    ::testing::AddGlobalTestEnvironment(new child_mode(variable, run));
    return true;
  }

 private:
  const char* variable_;
  entry run_;
};

class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("sluice-state-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::shared_ptr<rocksdb::memory_budget> small_budget() {
  rocksdb::memory_budget_config config;
  config.total_bytes = std::size_t{32} << 20;
  config.memtable_bytes = std::size_t{8} << 20;
  config.memtable_bytes_per_store = std::size_t{1} << 20;
  config.store_cache_bytes = std::size_t{4} << 20;
  // Every commit reaches RocksDB: these tests are about what RocksDB keeps (write_back_test.cpp
  // covers the write-back layer, and the runtime's tests run with the default policy).
  config.store_write_back = {};
  return std::make_shared<rocksdb::memory_budget>(config);
}

inline rocksdb::task_database_options task_options(const std::filesystem::path& directory,
                                                   std::shared_ptr<rocksdb::memory_budget> memory,
                                                   std::string application = "app",
                                                   std::string task = "0_0") {
  return {directory, std::move(application), std::move(task), std::move(memory)};
}

// ---- backends of the conformance suite

struct memory_backend {
  std::unique_ptr<kv_store> kv(std::string name) {
    return make_in_memory_kv_store(std::move(name));
  }
  std::unique_ptr<window_store> window(std::string name, window_store_options options) {
    return make_in_memory_window_store(std::move(name), options);
  }
  std::unique_ptr<session_store> session(std::string name, session_store_options options) {
    return make_in_memory_session_store(std::move(name), options);
  }
};

// The in-memory stores wrapped in the metrics layer: decorators must not change behaviour.
struct metered_memory_backend {
  std::unique_ptr<kv_store> kv(std::string name) {
    return std::make_unique<metered_kv_store>(make_in_memory_kv_store(std::move(name)));
  }
  std::unique_ptr<window_store> window(std::string name, window_store_options options) {
    return std::make_unique<metered_window_store>(
        make_in_memory_window_store(std::move(name), options));
  }
  std::unique_ptr<session_store> session(std::string name, session_store_options options) {
    return std::make_unique<metered_session_store>(
        make_in_memory_session_store(std::move(name), options));
  }
};

struct rocksdb_backend {
  temp_dir directory;
  rocksdb::task_database database =
      rocksdb::task_database::open(task_options(directory.path() / "0_0", small_budget()));

  std::unique_ptr<kv_store> kv(std::string name) { return database.open_kv_store(std::move(name)); }
  std::unique_ptr<window_store> window(std::string name, window_store_options options) {
    return database.open_window_store(std::move(name), options);
  }
  std::unique_ptr<session_store> session(std::string name, session_store_options options) {
    return database.open_session_store(std::move(name), options);
  }
};

// ---- collectors

using kv_rows = std::vector<std::pair<std::string, std::string>>;
using window_rows = std::vector<std::tuple<std::string, std::int64_t, std::string>>;
using session_rows = std::vector<std::tuple<std::string, std::int64_t, std::int64_t, std::string>>;

struct kv_collector {
  kv_rows rows;
  std::size_t limit = SIZE_MAX;
  kv_visitor visitor() {
    return [this](bytes_view key, bytes_view value) {
      rows.emplace_back(std::string(key), std::string(value));
      return rows.size() < limit;
    };
  }
};

inline kv_rows all_rows(const kv_store& store) {
  kv_collector c;
  store.all(c.visitor());
  return c.rows;
}
inline kv_rows range_rows(const kv_store& store, bytes_view from, bytes_view to) {
  kv_collector c;
  store.range(from, to, c.visitor());
  return c.rows;
}
inline kv_rows prefix_rows(const kv_store& store, bytes_view prefix) {
  kv_collector c;
  store.prefix_scan(prefix, c.visitor());
  return c.rows;
}

inline window_visitor window_into(window_rows& rows) {
  return [&rows](bytes_view key, std::int64_t start, bytes_view value) {
    rows.emplace_back(std::string(key), start, std::string(value));
    return true;
  };
}
inline window_rows fetch_rows(const window_store& store, bytes_view key, std::int64_t from,
                              std::int64_t to) {
  window_rows rows;
  store.fetch(key, from, to, window_into(rows));
  return rows;
}
inline window_rows fetch_all_rows(const window_store& store, std::int64_t from, std::int64_t to) {
  window_rows rows;
  store.fetch_all(from, to, window_into(rows));
  return rows;
}
inline window_rows all_rows(const window_store& store) {
  window_rows rows;
  store.all(window_into(rows));
  return rows;
}

inline session_visitor session_into(session_rows& rows) {
  return [&rows](bytes_view key, std::int64_t start, std::int64_t end, bytes_view value) {
    rows.emplace_back(std::string(key), start, end, std::string(value));
    return true;
  };
}
inline session_rows find_rows(const session_store& store, bytes_view key, std::int64_t from,
                              std::int64_t to) {
  session_rows rows;
  store.find_sessions(key, from, to, session_into(rows));
  return rows;
}
inline session_rows all_rows(const session_store& store) {
  session_rows rows;
  store.all(session_into(rows));
  return rows;
}

}  // namespace sluice::state::test
