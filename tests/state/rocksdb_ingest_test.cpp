// Restore batches written as ingested SST files (state/rocksdb/sst_ingest.hpp): what they leave is
// what the write path would, a kill -9 at any moment (in an ingestion too) leaves data and offset
// in agreement, and commits through the WAL after an ingested restore survive a crash.

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "state/rocksdb/sst_ingest.hpp"
#include "tests/state/store_test_support.hpp"

namespace sluice::state::test {
namespace {

using rocksdb::task_database;

namespace fs = std::filesystem;

constexpr const char* ingest_child_variable = "SLUICE_STATE_INGEST_CHILD";
// Set: the child stops after this many batches, commits one write through the WAL and ends
// without closing. Unset: it applies batches until it is killed (or 1,000 of them).
constexpr const char* ingest_child_batches_variable = "SLUICE_STATE_INGEST_CHILD_BATCHES";

// Batch i covers keys [i * key_step, i * key_step + batch_keys): each overlaps the last, so later
// batches overwrite earlier ones. Every key the batch sets to "v<i>", except that odd batches
// delete every seventh key.
constexpr int key_step = 3'000;
constexpr int batch_keys = static_cast<int>(rocksdb::bulk_ingest_min_entries) + 2'000;
constexpr std::int64_t offsets_per_batch = 1'000;
constexpr int child_batch_limit = 1'000;

std::string key_of(int index) {
  char text[16];
  std::snprintf(text, sizeof text, "key-%07d", index);
  return text;
}

// Batch i in changelog order: not sorted (apply sorts), with a stale duplicate of one key first,
// which the later change of that key must override.
std::vector<change> batch(int i) {
  std::vector<change> changes;
  changes.reserve(batch_keys + 1);
  const int first = i * key_step;
  changes.push_back({key_of(first), "stale"});
  for (int n = 0; n < batch_keys; ++n) {
    const int key = first + (n * 7919) % batch_keys;  // 7919 is prime: a permutation
    const bool deleted = i % 2 == 1 && key % 7 == 0;
    changes.push_back(
        {key_of(key), deleted ? std::nullopt : std::optional("v" + std::to_string(i))});
  }
  return changes;
}

// What the store must hold after batches 0..applied-1.
kv_rows expected_after(int applied) {
  kv_rows rows;
  if (applied == 0) return rows;
  const int end = (applied - 1) * key_step + batch_keys;
  for (int key = 0; key < end; ++key) {
    const int last = std::min(applied - 1, key / key_step);  // the last batch covering the key
    if (last % 2 == 1 && key % 7 == 0) continue;
    rows.emplace_back(key_of(key), "v" + std::to_string(last));
  }
  return rows;
}

void run_ingest_child(const char* directory) {
  try {
    auto database = task_database::open(task_options(directory, small_budget()));
    auto store = database.open_kv_store("counts");
    const auto committed = store->committed_offset();
    const int start = committed ? static_cast<int>(committed->value / offsets_per_batch) : 0;
    const char* limit_text = std::getenv(ingest_child_batches_variable);
    const int limit = limit_text != nullptr ? std::atoi(limit_text) : child_batch_limit;
    std::printf("pid %d\n", ::getpid());
    std::fflush(stdout);
    for (int i = start; i < limit; ++i) {
      const auto changes = batch(i);
      store->apply(changes, {(i + 1) * offsets_per_batch});
      std::printf("applied %d\n", i);
      std::fflush(stdout);
    }
    if (limit_text != nullptr) {
      store->put("after-restore", "processed");
      store->commit({limit * offsets_per_batch + 1});  // through the WAL, never flushed
    }
    std::_Exit(0);  // no destructor may close (and flush) the database
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ingest child: %s\n", e.what());
    std::_Exit(2);
  }
}

[[maybe_unused]] const bool ingest_child_added =
    child_mode::add(ingest_child_variable, run_ingest_child);

class rocksdb_ingest : public ::testing::Test {
 protected:
  fs::path path() const { return root_.path() / "0_0"; }
  // This binary again as the child; `exec`: the shell becomes the child, so the pid it prints is
  // the one to kill.
  std::string child_command(const std::string& extra) const {
    return std::string(ingest_child_variable) + "='" + path().string() + "' " + extra + " exec '" +
           fs::read_symlink("/proc/self/exe").string() + "'";
  }
  // The store's offset says how many batches it holds; its rows must be exactly theirs.
  int expect_consistent(const kv_store& store) {
    const auto committed = store.committed_offset();
    const int applied = committed ? static_cast<int>(committed->value / offsets_per_batch) : 0;
    if (committed) {
      EXPECT_EQ(committed->value % offsets_per_batch, 0) << committed->value;
    }
    EXPECT_EQ(all_rows(store), expected_after(applied)) << "after " << applied << " batches";
    return applied;
  }

  temp_dir root_;
  std::shared_ptr<rocksdb::memory_budget> budget_ = small_budget();
};

TEST_F(rocksdb_ingest, an_ingested_restore_reads_and_reopens_like_a_written_one) {
  {
    auto database = task_database::open(task_options(path(), budget_));
    auto store = database.open_kv_store("counts");
    for (int i = 0; i < 3; ++i) store->apply(batch(i), {(i + 1) * offsets_per_batch});
    EXPECT_EQ(expect_consistent(*store), 3);
    EXPECT_EQ(store->get(key_of(0)), "v0");      // the stale duplicate lost
    const int deleted = (key_step + 6) / 7 * 7;  // batch 1 deletes every seventh key
    EXPECT_EQ(store->get(key_of(deleted)), std::nullopt);
    EXPECT_EQ(store->get(key_of(2 * key_step + 7)), "v2");
    // A commit after the restore goes through the write path, on top of the ingested data.
    store->put(key_of(0), "processed");
    store->commit({3 * offsets_per_batch + 1});
  }
  EXPECT_FALSE(fs::exists(path() / rocksdb::ingest_scratch_folder / "0.sst"));
  auto database = task_database::open(task_options(path(), budget_));
  auto store = database.open_kv_store("counts");
  EXPECT_EQ(store->committed_offset(), changelog_offset{3 * offsets_per_batch + 1});
  EXPECT_EQ(store->get(key_of(0)), "processed");
  EXPECT_EQ(store->get(key_of(2 * key_step + 7)), "v2");
}

TEST_F(rocksdb_ingest, kill_9_during_ingested_restores_leaves_data_matching_the_offset) {
  // Each round the child resumes the restore from what the store holds, reports a batch, and is
  // killed a little later each round: over the rounds the kill lands in every part of a batch
  // (sorting, writing its files, ingesting them, in between). Where it landed is not asserted,
  // only that the store agrees with its offset whatever it was.
  int applied = 0;
  for (int round = 0; round < 10; ++round) {
    FILE* child = ::popen(child_command("").c_str(), "r");
    ASSERT_NE(child, nullptr);
    // The child's stdout starts with gtest's banner; its own lines are "pid N" and "applied I".
    int pid = 0;
    int batch_index = -1;
    char line[256];
    while (batch_index < 0 && std::fgets(line, sizeof line, child) != nullptr) {
      if (std::sscanf(line, "pid %d", &pid) == 1) continue;
      std::sscanf(line, "applied %d", &batch_index);
    }
    ASSERT_GT(pid, 0);
    ASSERT_GE(batch_index, 0) << "the child ended before it applied a batch";
    std::this_thread::sleep_for(std::chrono::milliseconds(7 * round));
    ::kill(pid, SIGKILL);
    ::pclose(child);

    auto database = task_database::open(task_options(path(), budget_));
    auto store = database.open_kv_store("counts");
    const int now = expect_consistent(*store);
    EXPECT_GE(now, batch_index + 1);  // a reported batch was applied: a kill loses none
    EXPECT_GT(now, applied);
    applied = now;
    EXPECT_FALSE(fs::exists(path() / rocksdb::ingest_scratch_folder));  // open removed leftovers
  }
}

TEST_F(rocksdb_ingest, a_wal_commit_after_an_ingested_restore_survives_a_crash) {
  const auto command = child_command(std::string(ingest_child_batches_variable) + "=3");
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto database = task_database::open(task_options(path(), budget_));
  auto store = database.open_kv_store("counts");
  EXPECT_EQ(store->committed_offset(), changelog_offset{3 * offsets_per_batch + 1});
  EXPECT_EQ(store->get("after-restore"), "processed");
  auto rows = all_rows(*store);
  std::erase(rows, std::pair<std::string, std::string>("after-restore", "processed"));
  EXPECT_EQ(rows, expected_after(3));
}

TEST_F(rocksdb_ingest, files_a_crash_left_in_the_scratch_folder_are_removed_at_open) {
  {
    auto database = task_database::open(task_options(path(), budget_));
    database.open_kv_store("counts")->apply(batch(0), {offsets_per_batch});
  }
  fs::create_directories(path() / rocksdb::ingest_scratch_folder);
  std::ofstream(path() / rocksdb::ingest_scratch_folder / "5.sst") << "half a file";
  auto database = task_database::open(task_options(path(), budget_));
  EXPECT_FALSE(fs::exists(path() / rocksdb::ingest_scratch_folder));
  auto store = database.open_kv_store("counts");
  EXPECT_EQ(expect_consistent(*store), 1);
}

}  // namespace
}  // namespace sluice::state::test
