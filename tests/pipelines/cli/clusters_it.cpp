// Several clusters in one process: one `sluice run` (the real binary) runs a migration pipeline
// that reads `orders` on cluster A and writes `orders` on cluster B (two independent brokers:
// SLUICE_BOOTSTRAP and SLUICE_BOOTSTRAP_2) at least once, and a second pipeline on cluster A.
// Cluster B's output is read back by kafka-python, an independent client, and must hold every
// input record; the migration's consumer group must be on A, not on B.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "pipelines/cli/commands.hpp"
#include "tests/pipelines/cli/sluice_process.hpp"
#include "tests/support/test_cluster.hpp"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;
using test_support::run_on_cluster;
using test_support::sluice_process;

// Reads a topic from the beginning with kafka-python (no group) until it has seen `expected`
// distinct records or 120 s passed; prints one "key<TAB>value" line per record it read.
constexpr const char* kafka_python_reader = R"(import sys, time
from kafka import KafkaConsumer
bootstrap, topic, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                         enable_auto_commit=False)
consumer.subscribe([topic])
seen, lines = set(), []
deadline = time.time() + 120
while len(seen) < expected and time.time() < deadline:
    for records in consumer.poll(timeout_ms=1000).values():
        for r in records:
            line = "%s\t%s" % (r.key.decode(), r.value.decode())
            seen.add(line)
            lines.append(line)
consumer.close()
print("\n".join(lines))
)";

std::string read_with_kafka_python(const std::string& bootstrap, const std::string& topic,
                                   int expected, const fs::path& dir) {
  const auto script = dir / "reader.py";
  std::ofstream(script) << kafka_python_reader;
  auto* python = ::popen((test::python() + " " + script.string() + " " + bootstrap + " " + topic +
                          " " + std::to_string(expected) + " 2>&1")
                             .c_str(),
                         "r");
  EXPECT_NE(python, nullptr);
  if (python == nullptr) return {};
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, python) != nullptr) output += buffer;
  EXPECT_EQ(::pclose(python), 0) << output;
  return output;
}

bool wait_for_log(const sluice_process& sluice, const std::string& text) {
  for (int i = 0; i < 600; ++i) {
    if (sluice.log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST(sluice_run_clusters,
     a_migration_reads_one_cluster_and_writes_another_next_to_a_second_pipeline) {
  const auto cluster_a = test::bootstrap_servers();
  const auto cluster_b = test::second_bootstrap_servers();
  ASSERT_FALSE(cluster_a.empty() || cluster_b.empty());
  ASSERT_NE(cluster_a, cluster_b) << "two independent clusters";
  const auto dir =
      fs::temp_directory_path() / ("sluice-clusters-it-" + test::unique_topic("migration"));
  fs::create_directories(dir);
  const auto orders = test::unique_topic("orders");  // the same name on both clusters
  const auto clicks = test::unique_topic("clicks");
  const auto migration = test::unique_topic("migration");
  const auto cleaner = test::unique_topic("cleaner");
  run_on_cluster(cluster_a, {"topics", "create", "--topic", orders, "--partitions", "2"});
  run_on_cluster(cluster_a, {"topics", "create", "--topic", clicks, "--partitions", "1"});
  std::ofstream(dir / "migration.yaml")
      << "name: " << migration << "\ndelivery: at_least_once\n"
      << "commit_interval: 100ms\n"
      << "clusters:\n"
      << "  old: { bootstrap_servers: \"" << cluster_a << "\" }\n"
      << "  new:\n    bootstrap_servers: \"" << cluster_b << "\"\n"
      << "    kafka: { producer: { linger.ms: 5 } }\n"
      << "sources:\n  - { topic: " << orders << ", cluster: old, value_format: string }\n"
      << "sink: { topic: " << orders << ", cluster: new, value_format: string }\n";
  // The second pipeline uses the default cluster (the command line's), which is A.
  std::ofstream(dir / "cleaner.yaml") << "name: " << cleaner << "\ndelivery: exactly_once\n"
                                      << "sources:\n  - topic: " << clicks << "\n"
                                      << "steps:\n  - filter: value.n > 0\n"
                                      << "sink: { topic: " << clicks << "-clean }\n";

  sluice_process sluice({"run", (dir / "migration.yaml").string(), (dir / "cleaner.yaml").string(),
                         "--bootstrap-server", cluster_a, "--state-dir", (dir / "state").string(),
                         "--memory-mb", "64"},
                        dir / "sluice.log");
  // Both started: the sink topic exists on B (created with the input's 2 partitions).
  ASSERT_TRUE(wait_for_log(sluice, migration + ": running")) << sluice.log();
  ASSERT_TRUE(wait_for_log(sluice, cleaner + ": running")) << sluice.log();

  constexpr int order_count = 300;
  std::string order_lines;
  std::set<std::string> expected;
  for (int i = 0; i < order_count; ++i) {
    const auto key = "customer-" + std::to_string(i % 17);
    const auto value = "order-" + std::to_string(i);
    order_lines += key + ":" + value + "\n";
    expected.insert(key + "\t" + value);
  }
  run_on_cluster(cluster_a, {"produce", "--topic", orders, "--key-separator", ":"}, order_lines);
  run_on_cluster(cluster_a, {"produce", "--topic", clicks}, "{\"n\": 1}\n{\"n\": 0}\n{\"n\": 2}\n");

  const auto output = read_with_kafka_python(cluster_b, orders, order_count, dir);
  std::set<std::string> migrated;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) migrated.insert(line);
  }
  EXPECT_EQ(migrated, expected) << "every input record on cluster B: " << output << sluice.log();

  std::string topics_on_b;
  run_on_cluster(cluster_b, {"topics", "describe", "--topic", orders}, "", &topics_on_b);
  EXPECT_NE(topics_on_b.find("PartitionCount: 2"), std::string::npos) << topics_on_b;
  std::string clean;
  for (int i = 0; i < 100 && std::count(clean.begin(), clean.end(), '\n') < 2; ++i) {
    run_on_cluster(cluster_a,
                   {"consume", "--topic", clicks + "-clean", "--from-beginning",
                    "--isolation-level", "read_committed", "--timeout-ms", "2000"},
                   "", &clean);
  }
  EXPECT_EQ(clean, "{\"n\":1}\n{\"n\":2}\n");
  EXPECT_EQ(sluice.stop(), 0) << sluice.log();

  // The group and its offsets live on the sources' cluster, A; B has only the output.
  std::string groups_on_a, groups_on_b;
  run_on_cluster(cluster_a, {"groups", "list"}, "", &groups_on_a);
  run_on_cluster(cluster_b, {"groups", "list"}, "", &groups_on_b);
  EXPECT_NE(groups_on_a.find(migration), std::string::npos) << groups_on_a;
  EXPECT_EQ(groups_on_b.find(migration), std::string::npos) << groups_on_b;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sluice::cli
