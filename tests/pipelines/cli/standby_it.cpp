// Standby replicas and the task assignor (issue 15) with real `sluice run` processes: an
// exactly-once table count per key with `standby_replicas: 1`, its instances killed, added and
// stopped while input arrives. kafka-python, an independent client, produces the input, reads
// the changelogs' end offsets and reads the output back (read_committed): every key's counts
// must be exactly 1..n, n its input count. What each instance did comes from its log lines
// ("task X running (restored N records ...)", "task X: standby becomes active at offset sum N",
// the leader's "task assignor: ..." line).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pipelines/cli/commands.hpp"
#include "tests/pipelines/cli/sluice_process.hpp"
#include "tests/support/test_cluster.hpp"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using test_support::sluice_process;

constexpr int key_count = 1000;
constexpr int partition_count = 4;

// Produces records first..first+count-1, record i keyed "key-<i % keys>", at `rate` records a
// second (0: as fast as it can), idempotent (kafka-python's default) and acknowledged by all.
constexpr const char* producer_script = R"(import sys, time
from kafka import KafkaProducer
bootstrap, topic = sys.argv[1], sys.argv[2]
first, count, rate, keys = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
started = time.time()
futures = []
for i in range(first, first + count):
    futures.append(producer.send(topic, key=("key-%d" % (i % keys)).encode(), value=b"{}"))
    if rate > 0 and (i - first) % 20 == 19:
        ahead = (i - first + 1) / rate - (time.time() - started)
        if ahead > 0:
            time.sleep(ahead)
producer.flush()
for f in futures:
    f.get(timeout=60)
producer.close()
print("produced %d in %.1f s" % (count, time.time() - started))
)";

// Reads a topic from the beginning, read_committed, until it has `expected` records (then one
// more second, for any duplicate beyond them) or 120 s passed; one "key<TAB>value" line each.
constexpr const char* reader_script = R"(import sys, time
from kafka import KafkaConsumer
bootstrap, topic, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                         enable_auto_commit=False, isolation_level="read_committed")
consumer.subscribe([topic])
lines = []
deadline = time.time() + 120
while len(lines) < expected and time.time() < deadline:
    for records in consumer.poll(timeout_ms=500).values():
        lines += ["%s\t%s" % (r.key.decode(), r.value.decode()) for r in records]
extra_until = time.time() + 1
while time.time() < extra_until:
    for records in consumer.poll(timeout_ms=200).values():
        lines += ["%s\t%s" % (r.key.decode(), r.value.decode()) for r in records]
consumer.close()
print("\n".join(lines))
)";

// Each input partition's changelog end offsets, summed over the app's changelog topics: what a
// restore without local state would read. One "partition<TAB>end offsets" line each.
constexpr const char* changelog_ends_script = R"(import sys
from kafka import KafkaConsumer, TopicPartition
bootstrap, app = sys.argv[1], sys.argv[2]
consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
changelogs = [t for t in consumer.topics() if t.startswith(app + "-") and t.endswith("-changelog")]
if not changelogs:
    sys.exit("no changelog topic of " + app)
ends = {}
for topic in changelogs:
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    for tp, end in consumer.end_offsets(partitions).items():
        ends[tp.partition] = ends.get(tp.partition, 0) + end
consumer.close()
print("\n".join("%d\t%d" % item for item in sorted(ends.items())))
)";

struct python_result {
  int status = -1;
  std::string output;
};

python_result run_python(const fs::path& script, const std::vector<std::string>& args) {
  std::string command = test::python() + " " + script.string();
  for (const auto& arg : args) command += " " + arg;
  python_result result;
  auto* python = ::popen((command + " 2>&1").c_str(), "r");
  if (python == nullptr) return result;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, python) != nullptr) result.output += buffer;
  result.status = ::pclose(python);
  return result;
}

// What a log says an app's instance did to its tasks, in the order it did it.
struct task_history {
  std::set<std::string> running;                   // open now: "running" and not "closed" since
  std::map<std::string, std::int64_t> restored;    // the last "running (restored N records" of each
  std::map<std::string, std::int64_t> taken_over;  // "standby becomes active at offset sum N"
};

task_history history_of(const std::string& log, const std::string& app) {
  static const std::regex event(
      R"(^ ([0-9]+_[0-9]+)(?: running \(restored ([0-9]+) records| closed|: standby becomes active at offset sum ([0-9]+)))");
  task_history history;
  const auto marker = app + ": task";
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find(marker);
    if (at == std::string::npos) continue;
    std::smatch match;
    const auto rest = line.substr(at + marker.size());
    if (!std::regex_search(rest, match, event)) continue;
    const auto task = match[1].str();
    if (match[2].matched) {
      history.running.insert(task);
      history.restored[task] = std::stoll(match[2]);
    } else if (match[3].matched) {
      history.taken_over[task] = std::stoll(match[3]);
    } else {
      history.running.erase(task);
    }
  }
  return history;
}

std::string joined(const std::set<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// One table-count pipeline, its input topic, and the `sluice run` instances of it the test
// starts, each with a state directory and instance id of its own. With a customers table, every
// input record is first joined (left) with the table `<input>-customers`, restored from its own
// topic, whose rows are keyed like the input: the task then also keeps a store without a
// changelog, which its standby reads from that topic up to the group's committed offset.
class standby_pipeline {
 public:
  enum class table_join : std::uint8_t { none, customers_from_their_topic };

  explicit standby_pipeline(const std::string& name, table_join join = table_join::none)
      : dir_(fs::temp_directory_path() / ("sluice-standby-it-" + test::unique_topic(name))),
        input_(test::unique_topic(name + "-in")),
        output_(input_ + "-counts"),
        customers_(join == table_join::none ? std::string() : input_ + "-customers"),
        app_(test::unique_topic(name)) {
    fs::create_directories(dir_);
    std::ofstream(dir_ / "producer.py") << producer_script;
    std::ofstream(dir_ / "reader.py") << reader_script;
    std::ofstream(dir_ / "changelog_ends.py") << changelog_ends_script;
    for (const auto& topic : {input_, customers_}) {
      if (topic.empty()) continue;
      test_support::run_on_cluster(
          test::bootstrap_servers(),
          {"topics", "create", "--topic", topic, "--partitions", std::to_string(partition_count)});
    }
    std::ofstream yaml(dir_ / "counter.yaml");
    yaml << "name: " << app_ << "\ndelivery: exactly_once\ncommit_interval: 100ms\n"
         << "standby_replicas: 1\n"
         << "sources:\n  - topic: " << input_ << "\n    value_format: json\n";
    if (!customers_.empty()) {
      yaml << "tables:\n  - { name: customers, topic: " << customers_
           << ", value_format: json, restore_from: source }\n"
           << "steps:\n  - join: { table: customers, type: left, into: customer }\n";
    }
    yaml << "table:\n  name: per-key\n  aggregate:\n    - { name: n, function: count }\n"
         << "sink:\n  topic: " << output_ << "\n";
  }
  ~standby_pipeline() {
    instances_.clear();  // killed first: they hold files in dir_
    if (!::testing::Test::HasFailure()) fs::remove_all(dir_);
  }
  standby_pipeline(const standby_pipeline&) = delete;
  standby_pipeline& operator=(const standby_pipeline&) = delete;

  const std::string& app() const { return app_; }

  sluice_process& start(const std::string& instance, std::vector<std::string> extra_args = {}) {
    std::vector<std::string> args{"run",
                                  (dir_ / "counter.yaml").string(),
                                  "--bootstrap-server",
                                  test::bootstrap_servers(),
                                  "--state-dir",
                                  (dir_ / ("state-" + instance)).string(),
                                  "--instance-id",
                                  instance,
                                  "--session-timeout-ms",
                                  "6000",
                                  "--memory-mb",
                                  "64"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    instances_.push_back(
        std::make_unique<sluice_process>(args, dir_ / ("sluice-" + instance + ".log")));
    return *instances_.back();
  }

  task_history history(const sluice_process& instance) const {
    return history_of(instance.log(), app_);
  }

  // `count` more records, at `rate` a second (0: at once); done when the future is ready. With a
  // customers table, as many rows of it alongside, at the same rate (updates of the same keys).
  std::future<python_result> produce(int count, int rate) {
    auto args_for = [&](const std::string& topic) {
      return std::vector<std::string>{test::bootstrap_servers(), topic,
                                      std::to_string(produced_), std::to_string(count),
                                      std::to_string(rate),      std::to_string(key_count)};
    };
    const auto input_args = args_for(input_);
    const auto table_args = customers_.empty() ? std::vector<std::string>() : args_for(customers_);
    produced_ += count;
    return std::async(std::launch::async, [script = dir_ / "producer.py", input_args, table_args] {
      auto rows = std::async(std::launch::async, [&] {
        return table_args.empty() ? python_result{0, ""} : run_python(script, table_args);
      });
      auto result = run_python(script, input_args);
      const auto table = rows.get();
      if (result.status == 0) result.status = table.status;
      result.output += table.output;
      return result;
    });
  }

  // The output, read_committed, once it has an update for every record produced.
  python_result read_output() const {
    return run_python(dir_ / "reader.py",
                      {test::bootstrap_servers(), output_, std::to_string(produced_)});
  }

  // Every key's counts in the output are exactly 1..n, each once, n the records produced with
  // that key: nothing lost, nothing counted twice, no update emitted twice.
  void expect_exact_counts(const std::string& output) const {
    std::map<std::string, std::vector<int>> counts;
    const std::regex count_field(R"("n":([0-9]+))");
    std::istringstream lines(output);
    std::size_t updates = 0;
    for (std::string line; std::getline(lines, line);) {
      std::smatch match;
      const auto tab = line.find('\t');
      if (tab == std::string::npos || !std::regex_search(line, match, count_field)) continue;
      counts[line.substr(0, tab)].push_back(std::stoi(match[1]));
      ++updates;
    }
    EXPECT_EQ(updates, static_cast<std::size_t>(produced_)) << "one update per input record";
    ASSERT_EQ(counts.size(), static_cast<std::size_t>(key_count));
    int wrong = 0;
    for (int k = 0; k < key_count; ++k) {
      const auto key = "key-" + std::to_string(k);
      const int n = produced_ / key_count + (k < produced_ % key_count ? 1 : 0);
      auto seen = counts[key];
      std::sort(seen.begin(), seen.end());
      std::vector<int> expected(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) expected[static_cast<std::size_t>(i)] = i + 1;
      if (seen != expected && ++wrong <= 3) {
        ADD_FAILURE() << key << ": " << seen.size() << " updates, expected 1.." << n
                      << (seen.empty() ? ""
                                       : ", from " + std::to_string(seen.front()) + " to " +
                                             std::to_string(seen.back()));
      }
    }
    EXPECT_EQ(wrong, 0) << "keys whose counts are not exactly 1..n";
  }

  // Each input partition's changelog end offsets (summed over the app's changelogs).
  std::map<std::string, std::int64_t> changelog_ends_by_task() const {
    const auto result = run_python(dir_ / "changelog_ends.py", {test::bootstrap_servers(), app_});
    EXPECT_EQ(result.status, 0) << result.output;
    std::map<std::string, std::int64_t> ends;
    std::istringstream lines(result.output);
    for (std::int64_t partition = 0, end = 0; lines >> partition >> end;)
      ends["0_" + std::to_string(partition)] = end;
    return ends;
  }

 private:
  fs::path dir_;
  std::string input_;
  std::string output_;
  std::string customers_;  // the table's topic; empty without one
  std::string app_;
  int produced_ = 0;
  std::vector<std::unique_ptr<sluice_process>> instances_;
};

// Polls `done` every 200 ms for at most `limit`; true once it holds.
template <typename Condition>
bool wait_until(Condition done, std::chrono::seconds limit = std::chrono::seconds(90)) {
  const auto deadline = clock_type::now() + limit;
  while (!done()) {
    if (clock_type::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return true;
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// Two instances, each task active on one and a standby on the other; one is killed for good
// while input arrives. Its tasks go to the survivor's standbys, which followed the changelogs:
// the restore reads almost nothing of them (a restore without a standby reads all, and with a
// customers table restored from its topic, all of the table's partition too: as many records as
// the changelog has).
void fail_over_while_input_arrives(standby_pipeline& pipeline) {
  auto& survivor = pipeline.start("survivor");
  auto& victim = pipeline.start("victim");
  ASSERT_TRUE(wait_until([&] {
    return !pipeline.history(survivor).running.empty() && !pipeline.history(victim).running.empty();
  })) << "both instances run tasks\n"
      << survivor.log() << victim.log();

  auto first_batch = pipeline.produce(20'000, 0);
  const auto produced = first_batch.get();
  ASSERT_EQ(produced.status, 0) << produced.output;
  const auto processed = pipeline.read_output();
  ASSERT_EQ(processed.status, 0) << processed.output;
  const auto victim_tasks = pipeline.history(victim).running;
  ASSERT_FALSE(victim_tasks.empty()) << victim.log();

  auto more_input = pipeline.produce(12'000, 1000);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const auto survivor_log_before = survivor.log().size();
  victim.kill();
  const auto killed_at = clock_type::now();
  const bool took_over = wait_until([&] {
    const auto running = pipeline.history(survivor).running;
    for (const auto& task : victim_tasks)
      if (!running.contains(task)) return false;
    return true;
  });
  const double failover_seconds = seconds_since(killed_at);
  ASSERT_TRUE(took_over) << "the survivor runs the victim's tasks " << joined(victim_tasks) << "\n"
                         << survivor.log();
  std::cout << "failover: the survivor ran " << joined(victim_tasks) << " " << failover_seconds
            << " s after the kill\n";
  ::testing::Test::RecordProperty("failover_seconds", std::to_string(failover_seconds));

  const auto more = more_input.get();
  ASSERT_EQ(more.status, 0) << more.output;
  const auto output = pipeline.read_output();
  ASSERT_EQ(output.status, 0) << output.output;
  pipeline.expect_exact_counts(output.output);

  const auto taken_over = history_of(survivor.log().substr(survivor_log_before), pipeline.app());
  const auto ends = pipeline.changelog_ends_by_task();
  for (const auto& task : victim_tasks) {
    ASSERT_TRUE(taken_over.taken_over.contains(task))
        << "task " << task << " taken over from a standby\n"
        << survivor.log();
    ASSERT_TRUE(taken_over.restored.contains(task)) << survivor.log();
    const auto restored = taken_over.restored.at(task);
    const auto end = ends.contains(task) ? ends.at(task) : 0;
    std::cout << "task " << task << ": standby at offset sum " << taken_over.taken_over.at(task)
              << ", restored " << restored << " records; its changelogs end at " << end << "\n";
    // A restore from nothing would read (nearly) all of the changelog: that must be large for
    // the comparison to say anything.
    EXPECT_GT(end, 1000) << task;
    EXPECT_GT(taken_over.taken_over.at(task), 0) << "task " << task << "'s standby followed";
    EXPECT_LT(restored * 10, end) << "task " << task
                                  << " restored more than a tenth of its changelog";
  }
  EXPECT_EQ(survivor.stop(), 0) << survivor.log();
}

TEST(sluice_run_standbys, failover_to_a_standby_restores_almost_nothing) {
  standby_pipeline pipeline("failover");
  fail_over_while_input_arrives(pipeline);
}

// The same with a table restored from its own topic in the task: its standby followed that topic
// up to the committed offsets, so the takeover restores almost nothing of it either.
TEST(sluice_run_standbys, failover_with_a_table_restored_from_its_topic_restores_almost_nothing) {
  standby_pipeline pipeline("failover-table",
                            standby_pipeline::table_join::customers_from_their_topic);
  fail_over_while_input_arrives(pipeline);
}

// One instance holds all four tasks; two more join while input arrives. A new instance has no
// state, so with an acceptable recovery lag of 100 offsets it first warms its tasks up as
// standbys while the old owner keeps processing, and takes them over from there; then two stop,
// and the last one runs all four tasks again.
TEST(sluice_run_standbys, scaling_one_to_three_to_one_warms_up_before_moving) {
  standby_pipeline pipeline("scaling");
  const std::vector<std::string> lag_100{"--acceptable-recovery-lag", "100"};
  auto& first = pipeline.start("first", lag_100);
  ASSERT_TRUE(wait_until([&] { return pipeline.history(first).running.size() == 4; }))
      << first.log();
  auto first_batch = pipeline.produce(20'000, 0);
  const auto produced = first_batch.get();
  ASSERT_EQ(produced.status, 0) << produced.output;
  const auto processed = pipeline.read_output();
  ASSERT_EQ(processed.status, 0) << processed.output;

  auto more_input = pipeline.produce(15'000, 1000);
  auto& second = pipeline.start("second", lag_100);
  auto& third = pipeline.start("third", lag_100);
  const auto joined_at = clock_type::now();
  const bool spread = wait_until([&] {
    return !pipeline.history(second).running.empty() && !pipeline.history(third).running.empty() &&
           !pipeline.history(first).running.empty();
  });
  const double spread_seconds = seconds_since(joined_at);
  ASSERT_TRUE(spread) << "each of the three runs a task\n"
                      << first.log() << second.log() << third.log();
  std::cout << "scaling out: each of 3 instances ran a task " << spread_seconds
            << " s after the two new ones started\n";
  const auto more = more_input.get();
  ASSERT_EQ(more.status, 0) << more.output;

  // The leader (any of them, after the joins) gave warm-ups.
  const std::regex warming_up(
      R"(task assignor: [0-9]+ tasks over 3 members, [0-9]+ standbys \(([0-9]+) warming up\))");
  int most_warming_up = 0;
  for (const auto* instance : {&first, &second, &third}) {
    const auto log = instance->log();
    for (auto it = std::sregex_iterator(log.begin(), log.end(), warming_up);
         it != std::sregex_iterator(); ++it)
      most_warming_up = std::max(most_warming_up, std::stoi((*it)[1]));
  }
  EXPECT_GT(most_warming_up, 0) << "the new instances warm up before a task moves\n"
                                << first.log() << second.log() << third.log();
  // Each task that moved to a new instance was taken over from its standby there, far along
  // the changelog, and restored only a little.
  const auto ends = pipeline.changelog_ends_by_task();
  for (const auto* instance : {&second, &third}) {
    const auto history = pipeline.history(*instance);
    for (const auto& task : history.running) {
      ASSERT_TRUE(history.taken_over.contains(task))
          << "task " << task << " taken over from a standby\n"
          << instance->log();
      const auto end = ends.contains(task) ? ends.at(task) : 0;
      std::cout << "task " << task << " moved: standby at offset sum "
                << history.taken_over.at(task) << ", restored " << history.restored.at(task)
                << " records; its changelogs end at " << end << "\n";
      EXPECT_GT(history.taken_over.at(task), 0) << "task " << task << " was not restored from 0";
      EXPECT_LT(history.restored.at(task) * 10, end)
          << "task " << task << " restored more than a tenth of its changelog";
    }
  }

  EXPECT_EQ(third.stop(), 0) << third.log();
  EXPECT_EQ(second.stop(), 0) << second.log();
  auto last_batch = pipeline.produce(2'000, 0);
  const auto last = last_batch.get();
  ASSERT_EQ(last.status, 0) << last.output;
  const auto output = pipeline.read_output();
  ASSERT_EQ(output.status, 0) << output.output;
  pipeline.expect_exact_counts(output.output);
  EXPECT_EQ(pipeline.history(first).running, (std::set<std::string>{"0_0", "0_1", "0_2", "0_3"}))
      << first.log();
  EXPECT_EQ(first.stop(), 0) << first.log();
}

}  // namespace
}  // namespace sluice::cli
