// The RocksDB backend beyond the conformance suite: what survives a close or a crash, how a
// foreign, damaged or missing directory is handled, store bookkeeping, and the memory budget.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "state/key_layout.hpp"
#include "tests/state/store_test_support.hpp"

namespace sluice::state::test {
namespace {

using namespace std::chrono_literals;
using rocksdb::open_outcome;
using rocksdb::task_database;

namespace fs = std::filesystem;

constexpr const char* crash_child_variable = "SLUICE_STATE_CRASH_CHILD";
constexpr const char* crash_child_wal_variable = "SLUICE_STATE_CRASH_CHILD_WAL";  // "0": WAL off

// The crash test runs this binary again with SLUICE_STATE_CRASH_CHILD set to a directory; the
// child writes there and ends WITHOUT closing anything (std::_Exit: no destructors, no flush on
// close), as a crash would. It runs as a global test environment's SetUp, before the first test
// of a fresh process, so no RocksDB thread of an earlier test is involved; not from a static
// initialiser, because RocksDB, linked statically, may not be initialised yet at that point.
// Exit code 0 when every step worked.
void run_crash_child(const char* directory) {
  try {
    auto options = task_options(directory, small_budget());
    const char* wal = std::getenv(crash_child_wal_variable);
    options.write_ahead_log = wal == nullptr || std::string_view(wal) != "0";
    auto database = task_database::open(options);
    auto counts = database.open_kv_store("counts");
    auto windows = database.open_window_store("windows", {100ms, 10ms});
    counts->put("a", "1");
    windows->put("k", 100, "w100");
    counts->commit({10});
    windows->commit({10});
    database.flush();  // everything up to offset 10 is on disk
    counts->put("b", "2");
    windows->put("k", 200, "w200");
    counts->commit({20});  // committed, not flushed: in the memtable and (WAL on) the WAL
    windows->commit({20});
    std::_Exit(0);  // inside the scope: no destructor may close (and flush) the database
  } catch (const std::exception&) {
    std::_Exit(2);
  }
}

[[maybe_unused]] const bool crash_child_added =
    child_mode::add(crash_child_variable, run_crash_child);

void overwrite(const fs::path& file, std::string_view garbage) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << garbage;
}

std::vector<fs::path> files_starting_with(const fs::path& directory, std::string_view prefix) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(directory)) {
    if (entry.path().filename().string().starts_with(prefix)) out.push_back(entry.path());
  }
  return out;
}

class rocksdb_task_database : public ::testing::Test {
 protected:
  fs::path path() const { return root_.path() / "app" / "0_3"; }
  task_database open(std::string application = "app", std::string task = "0_3") {
    return task_database::open(
        task_options(path(), budget_, std::move(application), std::move(task)));
  }
  // A database with one committed key "a" = "1" at offset 5, closed.
  void write_committed_state() {
    auto database = open();
    auto store = database.open_kv_store("counts");
    store->put("a", "1");
    store->commit({5});
  }
  void expect_wiped_and_empty(const std::string& reason_part) {
    auto database = open();
    EXPECT_EQ(database.result().outcome, open_outcome::wiped);
    EXPECT_TRUE(database.result().needs_full_restore());
    EXPECT_NE(database.result().reason.find(reason_part), std::string::npos)
        << database.result().reason;
    auto store = database.open_kv_store("counts");
    EXPECT_EQ(store->committed_offset(), std::nullopt);
    EXPECT_EQ(store->get("a"), std::nullopt);
    store->put("a", "fresh");
    store->commit({0});
  }
  void expect_reopens_cleanly() {
    auto database = open();
    EXPECT_EQ(database.result().outcome, open_outcome::reopened);
    EXPECT_EQ(database.open_kv_store("counts")->get("a"), "fresh");
  }

  temp_dir root_;
  std::shared_ptr<rocksdb::memory_budget> budget_ = small_budget();
};

TEST_F(rocksdb_task_database, missing_directory_is_created_and_needs_a_full_restore) {
  auto database = open();
  EXPECT_EQ(database.result().outcome, open_outcome::created);
  EXPECT_TRUE(database.result().needs_full_restore());
  EXPECT_EQ(database.result().reason, "no state directory");
  EXPECT_TRUE(fs::exists(path() / rocksdb::marker_file_name));
  EXPECT_EQ(database.directory(), path());
}

TEST_F(rocksdb_task_database, reopen_after_close_keeps_data_offsets_and_stream_time) {
  {
    auto database = open();
    auto counts = database.open_kv_store("counts");
    auto windows = database.open_window_store("windows", {100ms, 10ms});
    auto sessions = database.open_session_store("sessions", {100ms, 10ms});
    counts->put("a", "1");
    counts->put("b", "2");
    counts->commit({7});
    counts->put("c", "uncommitted");  // dropped with the store: never committed
    windows->put("k", 300, "w300");
    windows->put("k", 250, "w250");
    windows->commit({11});
    sessions->put("s", 10, 20, "session");
    sessions->commit({13});
  }
  auto database = open();
  EXPECT_EQ(database.result().outcome, open_outcome::reopened);
  EXPECT_FALSE(database.result().needs_full_restore());
  auto counts = database.open_kv_store("counts");
  auto windows = database.open_window_store("windows", {100ms, 10ms});
  auto sessions = database.open_session_store("sessions", {100ms, 10ms});
  EXPECT_EQ(counts->committed_offset(), changelog_offset{7});
  EXPECT_EQ(all_rows(*counts), (kv_rows{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(windows->committed_offset(), changelog_offset{11});
  EXPECT_EQ(windows->observed_stream_time(), 300);
  EXPECT_EQ(all_rows(*windows), (window_rows{{"k", 250, "w250"}, {"k", 300, "w300"}}));
  EXPECT_FALSE(windows->put("k", 150, "late after the restart"));  // retention continues
  EXPECT_EQ(sessions->committed_offset(), changelog_offset{13});
  EXPECT_EQ(find_rows(*sessions, "s", 0, 100), (session_rows{{"s", 10, 20, "session"}}));
}

TEST_F(rocksdb_task_database, a_process_crash_loses_no_commit_with_the_wal) {
  auto executable = fs::read_symlink("/proc/self/exe");
  auto command = std::string(crash_child_variable) + "='" + path().string() + "' '" +
                 executable.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  auto database = task_database::open(task_options(path(), budget_));  // app / 0_0, as the child
  EXPECT_EQ(database.result().outcome, open_outcome::reopened);
  auto counts = database.open_kv_store("counts");
  auto windows = database.open_window_store("windows", {100ms, 10ms});
  // Offset 20 was committed but never flushed; the WAL replays it, data and offset together.
  EXPECT_EQ(counts->committed_offset(), changelog_offset{20});
  EXPECT_EQ(all_rows(*counts), (kv_rows{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(windows->committed_offset(), changelog_offset{20});
  EXPECT_EQ(windows->observed_stream_time(), 200);
  // Stream time 200 with a 100 ms retention: the window at 100 expired with that commit.
  EXPECT_EQ(all_rows(*windows), (window_rows{{"k", 200, "w200"}}));
}

TEST_F(rocksdb_task_database,
       without_the_wal_a_crash_loses_only_unflushed_commits_and_data_matches_offset) {
  auto executable = fs::read_symlink("/proc/self/exe");
  auto command = std::string(crash_child_variable) + "='" + path().string() + "' " +
                 crash_child_wal_variable + "=0 '" + executable.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  auto options = task_options(path(), budget_);
  options.write_ahead_log = false;
  auto database = task_database::open(options);
  EXPECT_EQ(database.result().outcome, open_outcome::reopened);
  auto counts = database.open_kv_store("counts");
  auto windows = database.open_window_store("windows", {100ms, 10ms});
  // Offset 20 was committed but never flushed; without a WAL it is gone, and so is its data:
  // the store is consistently at offset 10 and a restore replays 10..end.
  EXPECT_EQ(counts->committed_offset(), changelog_offset{10});
  EXPECT_EQ(all_rows(*counts), (kv_rows{{"a", "1"}}));
  EXPECT_EQ(windows->committed_offset(), changelog_offset{10});
  EXPECT_EQ(windows->observed_stream_time(), 100);
  EXPECT_EQ(all_rows(*windows), (window_rows{{"k", 100, "w100"}}));
}

TEST_F(rocksdb_task_database, garbage_in_current_wipes_the_directory) {
  write_committed_state();
  overwrite(path() / "CURRENT", "this is not a manifest name");
  expect_wiped_and_empty("RocksDB");
  expect_reopens_cleanly();
}

TEST_F(rocksdb_task_database, current_naming_a_missing_manifest_wipes_the_directory) {
  write_committed_state();
  overwrite(path() / "CURRENT", "MANIFEST-999999\n");
  expect_wiped_and_empty("RocksDB");
  expect_reopens_cleanly();
}

TEST_F(rocksdb_task_database, garbage_in_the_manifest_wipes_the_directory) {
  write_committed_state();
  auto manifests = files_starting_with(path(), "MANIFEST-");
  ASSERT_FALSE(manifests.empty());
  for (const auto& manifest : manifests) overwrite(manifest, std::string(4096, '\x5a'));
  expect_wiped_and_empty("RocksDB");
  expect_reopens_cleanly();
}

TEST_F(rocksdb_task_database, another_application_or_task_is_foreign_and_wiped) {
  write_committed_state();
  {
    auto database = open("other-app", "0_3");
    EXPECT_EQ(database.result().outcome, open_outcome::wiped);
    EXPECT_NE(database.result().reason.find("foreign"), std::string::npos);
    EXPECT_NE(database.result().reason.find("'app'"), std::string::npos);
    EXPECT_EQ(database.open_kv_store("counts")->get("a"), std::nullopt);
  }
  // The marker now names other-app: opening as app is foreign again.
  auto database = open("app", "1_3");
  EXPECT_EQ(database.result().outcome, open_outcome::wiped);
  EXPECT_NE(database.result().reason.find("task '0_3'"), std::string::npos)
      << database.result().reason;
}

TEST_F(rocksdb_task_database, another_format_version_is_wiped) {
  write_committed_state();
  overwrite(path() / rocksdb::marker_file_name, "format=99\napplication_id=app\ntask_id=0_3\n");
  expect_wiped_and_empty("format 99");
}

TEST_F(rocksdb_task_database, a_malformed_marker_is_wiped) {
  write_committed_state();
  overwrite(path() / rocksdb::marker_file_name, "format=x\n");
  expect_wiped_and_empty("not a number");
}

TEST_F(rocksdb_task_database, a_database_without_marker_is_wiped) {
  write_committed_state();
  fs::remove(path() / rocksdb::marker_file_name);
  expect_wiped_and_empty("RocksDB database without a SLUICE_STATE marker");
  expect_reopens_cleanly();
}

TEST_F(rocksdb_task_database, a_directory_that_is_not_state_is_refused_not_deleted) {
  fs::create_directories(path());
  overwrite(path() / "someone-elses-file", "data");
  try {
    open();
    FAIL() << "a directory of unknown files must not be opened, nor wiped";
  } catch (const store_error& e) {
    EXPECT_NE(std::string(e.what()).find("refusing to delete"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(path() / "someone-elses-file"));
}

TEST_F(rocksdb_task_database, a_marker_without_database_is_wiped) {
  write_committed_state();
  fs::remove(path() / "CURRENT");
  expect_wiped_and_empty("database is missing");
}

TEST_F(rocksdb_task_database, an_empty_directory_is_created_in) {
  fs::create_directories(path());
  auto database = open();
  EXPECT_EQ(database.result().outcome, open_outcome::created);
  EXPECT_EQ(database.result().reason, "empty state directory");
}

TEST_F(rocksdb_task_database, a_directory_in_use_is_an_error_and_never_wiped) {
  auto database = open();
  auto store = database.open_kv_store("counts");
  store->put("a", "1");
  store->commit({1});
  try {
    open();
    FAIL() << "a second open of the same directory must fail";
  } catch (const store_error& e) {
    EXPECT_NE(std::string(e.what()).find(path().string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(store->get("a"), "1");
  EXPECT_TRUE(fs::exists(path() / "CURRENT"));
}

TEST_F(rocksdb_task_database, stores_keep_their_kind_and_segment_interval) {
  {
    auto database = open();
    database.open_kv_store("counts");
    database.open_window_store("windows", {100ms, 10ms});
  }
  auto database = open();
  EXPECT_THROW(database.open_window_store("counts", {100ms, 10ms}), store_error);
  EXPECT_THROW(database.open_session_store("windows", {100ms, 10ms}), store_error);
  EXPECT_THROW(database.open_window_store("windows", {100ms, 20ms}), store_error);
  // Retention may change; the segment width may not.
  EXPECT_NO_THROW(database.open_window_store("windows", {1000ms, 10ms}));
}

TEST_F(rocksdb_task_database, a_store_is_open_once_at_a_time_and_names_are_checked) {
  auto database = open();
  {
    auto store = database.open_kv_store("counts");
    EXPECT_THROW(database.open_kv_store("counts"), store_error);
  }
  EXPECT_NO_THROW(database.open_kv_store("counts"));
  EXPECT_THROW(database.open_kv_store("sluice.meta"), store_error);
  EXPECT_THROW(database.open_kv_store("default"), store_error);
  EXPECT_THROW(database.open_kv_store("bad name"), store_error);
}

TEST_F(rocksdb_task_database, expired_segments_are_deleted_not_only_hidden) {
  {
    auto database = open();
    auto windows = database.open_window_store("windows", {100ms, 10ms});
    windows->put("a", 0, "segment 0");
    windows->put("a", 395, "segment 39");
    windows->put("a", 405, "segment 40");
    windows->commit({1});
    windows->put("a", 500, "stream time 500");  // live from 401: segments below 40 dropped
    windows->commit({2});
  }
  // Reopened with a far longer retention, anything still on disk would be visible again.
  auto database = open();
  auto windows = database.open_window_store("windows", {10'000ms, 10ms});
  EXPECT_EQ(all_rows(*windows),
            (window_rows{{"a", 405, "segment 40"}, {"a", 500, "stream time 500"}}));
}

TEST_F(rocksdb_task_database, stores_outlive_the_task_database_object) {
  std::unique_ptr<kv_store> store;
  {
    auto database = open();
    store = database.open_kv_store("counts");
  }
  store->put("a", "1");
  store->commit({1});
  EXPECT_EQ(store->get("a"), "1");
  store.reset();  // closes and flushes
  auto database = open();
  EXPECT_EQ(database.open_kv_store("counts")->get("a"), "1");
}

TEST_F(rocksdb_task_database, options_are_checked) {
  EXPECT_THROW(task_database::open(task_options(path(), nullptr)), store_error);
  EXPECT_THROW(task_database::open(task_options(path(), budget_, "", "0_0")), store_error);
  EXPECT_THROW(task_database::open(task_options(path(), budget_, "app", "")), store_error);
  fs::create_directories(path().parent_path());
  overwrite(path(), "a file, not a directory");
  EXPECT_THROW(task_database::open(task_options(path(), budget_)), store_error);
}

TEST(rocksdb_memory_budget, validates_its_config) {
  rocksdb::memory_budget_config config;
  config.memtable_bytes = config.total_bytes + 1;
  EXPECT_THROW(rocksdb::memory_budget{config}, store_error);
  config = {};
  config.total_bytes = 0;
  EXPECT_THROW(rocksdb::memory_budget{config}, store_error);
  config = {};
  config.index_and_filter_ratio = 1.5;
  EXPECT_THROW(rocksdb::memory_budget{config}, store_error);
  config = {};
  config.store_cache_bytes = config.total_bytes - config.memtable_bytes + 1;
  EXPECT_THROW(rocksdb::memory_budget{config}, store_error);
}

TEST(rocksdb_memory_budget, stores_get_their_first_write_back_flush_at_different_commits) {
  rocksdb::memory_budget budget{rocksdb::memory_budget_config{}};
  const auto max_commits = budget.config().store_write_back.max_commits;
  std::set<std::uint32_t> first_flushes;
  for (int store = 0; store < 8; ++store) {
    const auto policy = budget.next_store_write_back();
    EXPECT_EQ(policy.max_commits, max_commits);
    EXPECT_GE(policy.first_flush_after, 1u);
    EXPECT_LE(policy.first_flush_after, max_commits);
    first_flushes.insert(policy.first_flush_after);
  }
  EXPECT_EQ(first_flushes.size(), 8u);
}

TEST(rocksdb_memory_budget, one_budget_is_charged_by_every_database) {
  temp_dir root;
  auto budget = small_budget();
  EXPECT_EQ(budget->memtable_usage(), 0u);
  auto first = task_database::open(task_options(root.path() / "0_0", budget));
  auto second = task_database::open(task_options(root.path() / "0_1", budget));
  auto a = first.open_kv_store("counts");
  auto b = second.open_kv_store("counts");
  std::string value(1000, 'v');
  for (int i = 0; i < 200; ++i) {
    a->put("key-" + std::to_string(i), value);
    b->put("key-" + std::to_string(i), value);
  }
  a->commit({1});
  auto after_first = budget->memtable_usage();
  EXPECT_GT(after_first, 0u);
  b->commit({1});
  EXPECT_GT(budget->memtable_usage(), after_first);  // the second database's memtable counts too
  // Memtables are charged to the block cache, so the cache's usage covers them.
  EXPECT_GE(budget->usage(), budget->memtable_usage());
  EXPECT_LE(budget->usage(), budget->config().total_bytes);
}

}  // namespace
}  // namespace sluice::state::test
