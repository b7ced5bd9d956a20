// Restore against the real broker: a crash between the Kafka commit and the RocksDB apply (only the
// gap is restored, and the stores end with exactly the committed changelogs), an aborted
// transaction (no trace in the stores nor, for read_committed, in the changelogs), partitions
// moving between two processes of one application (the new owner restores, the old one keeps its
// state on disk and later restores only what the other wrote), and damaged or foreign state
// directories (wiped with a log line saying why, then restored fully).
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <numeric>

#include "kafka/protocol/messages/api_key.hpp"
#include "tests/runtime/app_test_support.hpp"
#include "tests/support/tcp_proxy.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;
namespace fs = std::filesystem;
using kafka::isolation_level;

constexpr std::int32_t partitions = 2;
const std::vector<std::string> task_ids{"0_0", "0_1"};

class injected_crash : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One application over a fresh two-partition input: user-a's orders go to partition 0 (task 0_0),
// user-b's to partition 1 (task 0_1).
struct fixture {
  std::string input = test::unique_topic("orders");
  std::string output = test::unique_topic("order-counts");
  std::string app = test::unique_topic("restore-app");
  operators::topology topology;
  runtime_config config;

  explicit fixture(
      operators::delivery_guarantee delivery = operators::delivery_guarantee::exactly_once,
      bool table = false)
      : topology(table ? table_counting_pipeline(app, input, output, delivery)
                       : counting_pipeline(app, input, output, delivery)) {
    run_coroutine(
        [&](asio::any_io_executor executor) { return create_topic(executor, input, partitions); });
    config.client = client();
    config.state_dir = state_dir("");
    fs::remove_all(config.state_dir);
  }
  ~fixture() {
    for (const auto* suffix : {"", "-b"}) fs::remove_all(state_dir(suffix));
  }

  fs::path state_dir(const std::string& suffix) const {
    return fs::temp_directory_path() / ("sluice-it-" + app + suffix);
  }

  // user-a's amounts are 0.., user-b's 100..; `first` counts from there.
  void produce(int first_a, int first_b, int count) const {
    run_coroutine([&](asio::any_io_executor executor) {
      return produce_orders(executor, input, 0, "user-a", first_a, count);
    });
    run_coroutine([&](asio::any_io_executor executor) {
      return produce_orders(executor, input, 1, "user-b", 100 + first_b, count);
    });
  }

  // What the changelogs of task `partition` hold, per store.
  std::map<std::string, changelog_read> changelogs(std::int32_t partition,
                                                   isolation_level isolation) const {
    std::map<std::string, changelog_read> reads;
    for (const auto& [store, topic] : changelog_topics(topology)) {
      reads[store] = read_changelog({topic, partition}, isolation);
    }
    return reads;
  }

  std::size_t changelog_records(isolation_level isolation) const {
    std::size_t total = 0;
    for (std::int32_t p = 0; p < partitions; ++p) {
      for (const auto& [store, read] : changelogs(p, isolation)) total += read.records;
    }
    return total;
  }

  // Every store of every task in `dir` holds exactly what its changelog holds (read_committed).
  void expect_stores_match_changelogs(const fs::path& dir) const {
    for (std::int32_t p = 0; p < partitions; ++p) {
      auto stores = read_task_stores(dir, topology, task_ids[p]);
      for (const auto& [store, read] : changelogs(p, isolation_level::read_committed)) {
        EXPECT_FALSE(read.latest.empty()) << store << " of task " << task_ids[p];
        EXPECT_EQ(stores.at(store).content, read.latest) << store << " of task " << task_ids[p];
      }
    }
  }

  void expect_totals(double user_a, double user_b) const {
    auto latest = latest_outputs(output, partitions);
    EXPECT_EQ(latest["user-a"].at("total").to_number<double>(), user_a);
    EXPECT_EQ(latest["user-b"].at("total").to_number<double>(), user_b);
  }
};

// Sum of first..first+count-1.
double sum(int first, int count) {
  return count * (2.0 * first + count - 1) / 2;
}

TEST(runtime_restore, a_crash_after_the_kafka_commit_restores_only_the_gap) {
  fixture f;

  // 1. Five orders per user, a clean stop: the stores are flushed and up to date.
  f.produce(0, 0, 5);
  {
    running_app first(f.topology, f.config);
    first.start();
    ASSERT_TRUE(wait_for_counts(first, f.output, partitions, {{"user-a", 5}, {"user-b", 5}}));
    first.stop();
    EXPECT_EQ(first.metrics().restored_records.load(), 0u);
  }

  // 2. Two more per user; the first commit dies after the transaction committed (changelog records
  // and input offsets are in Kafka) and before the stores applied their writes.
  f.produce(5, 5, 2);
  std::uint64_t gap = 0;
  std::uint64_t processed = 0;
  {
    auto crashing = f.config;
    crashing.hooks.after_kafka_commit = [] {
      throw injected_crash("injected: crash after the Kafka commit");
    };
    running_app second(f.topology, crashing);
    second.start();
    ASSERT_TRUE(eventually([&] { return second.finished(); }, std::chrono::seconds(90)));
    EXPECT_THROW(second.join(), injected_crash);
    EXPECT_EQ(second.metrics().restored_records.load(), 0u);
    gap = second.metrics().changelog_records.load();
    processed = second.metrics().records_in.load();
  }
  ASSERT_GT(gap, 0u);
  ASSERT_GE(processed, 1u);
  ASSERT_LE(processed, 4u);

  // RocksDB is one commit behind: some store lacks what its changelog committed.
  int behind = 0;
  for (std::int32_t p = 0; p < partitions; ++p) {
    auto stores = read_task_stores(f.config.state_dir, f.topology, task_ids[p]);
    for (const auto& [store, read] : f.changelogs(p, isolation_level::read_committed)) {
      if (stores.at(store).content != read.latest) ++behind;
    }
  }
  EXPECT_GT(behind, 0) << "the injected crash left every store up to date";

  // 3. A restart on the same state directory restores exactly the crashed commit's changelog
  // records, reads only the input that commit did not cover, and counts on from the right state.
  f.produce(7, 7, 1);
  {
    running_app third(f.topology, f.config);
    third.start();
    ASSERT_TRUE(wait_for_counts(third, f.output, partitions, {{"user-a", 8}, {"user-b", 8}}));
    third.stop();
    EXPECT_EQ(third.metrics().restored_records.load(), gap);
    EXPECT_EQ(third.metrics().records_in.load(), 4 - processed + 2);
  }
  f.expect_totals(sum(0, 8), sum(100, 8));
  f.expect_stores_match_changelogs(f.config.state_dir);
}

TEST(runtime_restore, an_aborted_transaction_leaves_no_trace) {
  fixture f;
  f.produce(0, 0, 5);

  // The first commit fails just before commit_transaction with a retriable error: the app aborts,
  // drops the stores' writes and reprocesses from the committed offsets (none yet: the start).
  struct probe {
    std::atomic<const runtime_metrics*> metrics{nullptr};
    std::atomic<int> calls{0};
    std::atomic<std::uint64_t> aborted_changelog_records{0};
  } p;
  auto config = f.config;
  config.hooks.before_transaction_commit = [&p] {
    if (p.calls++ != 0) return;
    p.aborted_changelog_records = p.metrics.load()->changelog_records.load();
    throw kafka::kafka_error(std::make_error_code(std::errc::timed_out), "injected: commit failed",
                             true);
  };
  std::uint64_t written = 0;
  {
    running_app app(f.topology, config);
    p.metrics = &app.metrics();
    app.start();
    ASSERT_TRUE(wait_for_counts(app, f.output, partitions, {{"user-a", 5}, {"user-b", 5}}));
    app.stop();
    EXPECT_EQ(app.metrics().aborted_transactions.load(), 1u);
    EXPECT_GT(app.metrics().records_in.load(),
              10u);  // some records twice: before and after the abort
    written = app.metrics().changelog_records.load();
  }
  ASSERT_GT(p.aborted_changelog_records.load(), 0u);

  // read_committed (what the restore reads) sees exactly the records of the committed transactions.
  // Whether the aborted ones reached the log at all depends on how far the producer had sent them.
  const auto committed = f.changelog_records(isolation_level::read_committed);
  EXPECT_EQ(committed, written - p.aborted_changelog_records.load());
  const auto in_log = f.changelog_records(isolation_level::read_uncommitted);
  EXPECT_GE(in_log, committed);
  EXPECT_LE(in_log, written);
  // The stores did not keep the aborted writes: counts and sums are those of one pass.
  f.expect_totals(sum(0, 5), sum(100, 5));
  f.expect_stores_match_changelogs(f.config.state_dir);
}

std::map<std::string, std::vector<std::int64_t>> emitted_counts(const std::string& topic);

void expect_counts_once_in_order(const std::string& topic, int produced) {
  const auto counts = emitted_counts(topic);
  std::vector<std::int64_t> exact(static_cast<std::size_t>(produced));
  std::iota(exact.begin(), exact.end(), 1);
  for (const auto* key : {"user-a", "user-b"}) {
    ASSERT_TRUE(counts.contains(key)) << key;
    EXPECT_EQ(counts.at(key), exact) << key << ": every count 1.." << produced << " once, in order";
  }
}

// A joins alone, B joins (one task moves and is restored there), B leaves (it moves back and A
// restores only what B wrote); every count is emitted once and the stores end as their changelogs.
void move_between_processes(fixture& f) {
  auto config_b = f.config;
  config_b.state_dir = f.state_dir("-b");
  fs::remove_all(config_b.state_dir);

  // 1. Process A alone owns both tasks.
  f.produce(0, 0, 3);
  running_app a(f.topology, f.config);
  a.start();
  ASSERT_TRUE(wait_for_counts(a, f.output, partitions, {{"user-a", 3}, {"user-b", 3}}));
  ASSERT_TRUE(eventually([&] { return a.metrics().assigned_tasks.load() == 2; }));

  // 2. Process B joins: one task moves to B, which restores its stores fully from the changelogs.
  std::string moved;
  std::uint64_t written_by_b = 0;
  {
    running_app b(f.topology, config_b);
    b.start();
    ASSERT_TRUE(eventually(
        [&] {
          return a.metrics().assigned_tasks.load() == 1 && b.metrics().assigned_tasks.load() == 1;
        },
        std::chrono::seconds(90)));
    for (const auto& id : task_ids) {
      if (fs::exists(config_b.state_dir / f.app / id)) moved = id;
    }
    ASSERT_FALSE(moved.empty()) << "B opened no task directory";
    const std::int32_t moved_partition = moved == "0_0" ? 0 : 1;
    std::size_t moved_records = 0;
    for (const auto& [store, read] :
         f.changelogs(moved_partition, isolation_level::read_committed)) {
      moved_records += read.records;
    }
    EXPECT_GT(moved_records, 0u);
    EXPECT_EQ(b.metrics().restored_records.load(), moved_records);
    EXPECT_EQ(a.metrics().restored_records.load(), 0u);  // the task A kept had nothing to restore
    // A closed the revoked task and kept its state on disk.
    EXPECT_TRUE(fs::exists(f.config.state_dir / f.app / moved / state::rocksdb::marker_file_name));

    // Both count on from the right state.
    f.produce(3, 3, 2);
    ASSERT_TRUE(wait_for_counts(b, f.output, partitions, {{"user-a", 5}, {"user-b", 5}}));
    b.stop();
    written_by_b = b.metrics().changelog_records.load();
  }
  ASSERT_GT(written_by_b, 0u);

  // 3. B left: its task moves back to A, which restores only what B wrote to the changelogs.
  ASSERT_TRUE(
      eventually([&] { return a.metrics().assigned_tasks.load() == 2; }, std::chrono::seconds(90)));
  EXPECT_EQ(a.metrics().restored_records.load(), written_by_b);
  f.produce(5, 5, 1);
  ASSERT_TRUE(wait_for_counts(a, f.output, partitions, {{"user-a", 6}, {"user-b", 6}}));
  a.stop();
  f.expect_totals(sum(0, 6), sum(100, 6));
  f.expect_stores_match_changelogs(f.config.state_dir);
  expect_counts_once_in_order(f.output, 6);
}

TEST(runtime_restore, partitions_moving_between_processes_restore_from_the_changelog) {
  fixture f;
  move_between_processes(f);
}

TEST(runtime_restore, a_table_aggregation_moves_between_processes_with_its_state) {
  fixture f(operators::delivery_guarantee::exactly_once, true);
  ASSERT_EQ(operators::plan_topology(f.topology).changelog_topics,
            std::vector<std::string>{f.app + "-per-user-store-changelog"});
  move_between_processes(f);
}

// Every output of the topic in log order per key: the counts each key emitted.
std::map<std::string, std::vector<std::int64_t>> emitted_counts(const std::string& topic) {
  std::map<std::string, std::vector<std::int64_t>> counts;
  read_committed_topic(topic, partitions, [&](const kafka::consumer_record& r) {
    counts[std::string(r.key_string())].push_back(
        json::parse(r.value_string()).as_object().at("count").as_int64());
  });
  return counts;
}

// The collision the chaos runs first showed: a member joins while the other is committing. Here the
// commits are slowed down on purpose (the proxy holds EndTxn and TxnOffsetCommit responses), so
// every rebalance meets a commit in flight; the loop must still finish the commit before it hands
// partitions over, and every count must be emitted exactly once.
TEST(runtime_restore, rebalances_meeting_slow_commits_keep_every_count_exactly_once) {
  fixture f;
  test::tcp_proxy proxy(test::bootstrap_servers());
  proxy.delay_responses(static_cast<std::int16_t>(kafka::protocol::api_key::end_txn),
                        std::chrono::milliseconds(300));
  proxy.delay_responses(static_cast<std::int16_t>(kafka::protocol::api_key::txn_offset_commit),
                        std::chrono::milliseconds(300));
  auto config_a = f.config;
  config_a.client.bootstrap_servers = kafka::parse_bootstrap_servers(proxy.bootstrap_servers());
  auto config_b = f.config;
  config_b.state_dir = f.state_dir("-b");
  fs::remove_all(config_b.state_dir);

  int produced = 0;
  f.produce(0, 0, 10);
  produced += 10;
  running_app a(f.topology, config_a);
  a.start();
  ASSERT_TRUE(
      wait_for_counts(a, f.output, partitions, {{"user-a", produced}, {"user-b", produced}}));
  for (int round = 0; round < 3; ++round) {
    running_app b(f.topology, config_b);
    b.start();
    f.produce(produced, produced, 5);  // arrives while the group rebalances
    produced += 5;
    ASSERT_TRUE(eventually(
        [&] {
          return a.metrics().assigned_tasks.load() == 1 && b.metrics().assigned_tasks.load() == 1;
        },
        std::chrono::seconds(90)))
        << "round " << round;
    f.produce(produced, produced, 5);
    produced += 5;
    b.stop();  // leaves: its task moves back to A, committing on the way
    ASSERT_TRUE(eventually([&] { return a.metrics().assigned_tasks.load() == 2; },
                           std::chrono::seconds(90)))
        << "round " << round;
  }
  ASSERT_TRUE(
      wait_for_counts(a, f.output, partitions, {{"user-a", produced}, {"user-b", produced}}));
  a.stop();

  expect_counts_once_in_order(f.output, produced);
  f.expect_totals(sum(0, produced), sum(100, produced));
  EXPECT_GT(proxy.rewritten_responses(), 0u) << "A's traffic did not go through the proxy";
}

// Captures the default logger's lines while alive.
class log_capture {
 public:
  log_capture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(512)) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~log_capture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  bool contains(const std::vector<std::string>& parts) const {
    for (const auto& line : sink_->last_formatted()) {
      if (std::all_of(parts.begin(), parts.end(),
                      [&](const auto& part) { return line.find(part) != line.npos; })) {
        return true;
      }
    }
    return false;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

TEST(runtime_restore, damaged_or_foreign_state_is_wiped_and_restored_fully) {
  fixture f;
  f.produce(0, 0, 4);
  {
    running_app first(f.topology, f.config);
    first.start();
    ASSERT_TRUE(wait_for_counts(first, f.output, partitions, {{"user-a", 4}, {"user-b", 4}}));
    first.stop();
  }
  const auto app_dir = f.config.state_dir / f.app;

  // Task 0_0: garbage over every table file RocksDB wrote (the stores' flushed data).
  int damaged = 0;
  for (const auto& entry : fs::directory_iterator(app_dir / "0_0")) {
    if (entry.path().extension() != ".sst") continue;
    const auto size = fs::file_size(entry.path());
    std::ofstream(entry.path(), std::ios::binary | std::ios::trunc) << std::string(size, '\x5a');
    ++damaged;
  }
  ASSERT_GT(damaged, 0) << "no table file to damage in " << (app_dir / "0_0");
  // Task 0_1: another task's directory in its place (the marker names task 0_0).
  fs::remove_all(app_dir / "0_1");
  fs::copy(app_dir / "0_0", app_dir / "0_1", fs::copy_options::recursive);

  const auto committed = f.changelog_records(isolation_level::read_committed);
  f.produce(4, 4, 1);
  log_capture logs;
  {
    running_app second(f.topology, f.config);
    second.start();
    ASSERT_TRUE(wait_for_counts(second, f.output, partitions, {{"user-a", 5}, {"user-b", 5}}));
    second.stop();
    EXPECT_EQ(second.metrics().restored_records.load(), committed);  // everything, from the start
    EXPECT_EQ(second.metrics().records_in.load(), 2u);
  }
  EXPECT_TRUE(logs.contains({"0_0", "wiped", "RocksDB"})) << "no log line says why 0_0 was wiped";
  EXPECT_TRUE(logs.contains({"0_1", "wiped", "foreign state"}))
      << "no log line says why 0_1 was wiped";
  f.expect_totals(sum(0, 5), sum(100, 5));
  f.expect_stores_match_changelogs(f.config.state_dir);
}

// A changelog topic that exists with another partition count than the input would map task N to
// the wrong changelog partition: the app refuses to start, naming the topic and both counts.
TEST(runtime_restore, a_changelog_with_the_wrong_partition_count_is_refused) {
  fixture f;
  const auto changelogs = changelog_topics(f.topology);
  ASSERT_FALSE(changelogs.empty());
  const auto& wrong = changelogs.begin()->second;
  run_coroutine([&](asio::any_io_executor executor) { return create_topic(executor, wrong, 1); });
  f.produce(0, 0, 3);
  running_app app(f.topology, f.config);
  app.start();
  try {
    app.join();
    ADD_FAILURE() << "the app started over a changelog with the wrong partition count";
  } catch (const std::exception& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'" + wrong + "'"), std::string::npos) << message;
    EXPECT_NE(message.find("has 1 partitions but the input has 2"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace sluice::runtime
