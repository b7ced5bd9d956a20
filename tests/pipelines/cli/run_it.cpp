// `sluice run` as a process: two pipelines in one process, one exactly-once and one windowed
// at-least-once, each its own consumer group and state, one /metrics endpoint for both, a SIGTERM
// stopping both with a final commit. The outputs are read back from the topics.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "pipelines/cli/commands.hpp"
#include "tests/pipelines/cli/sluice_process.hpp"
#include "tests/runtime/http_client.hpp"
#include "tests/support/test_cluster.hpp"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;
using runtime::test_support::http_request;
using runtime::test_support::metric_value;
using test_support::sluice_process;

int in_process(std::vector<std::string> args, const std::string& input = "",
               std::string* out_text = nullptr) {
  return test_support::run_on_cluster(test::bootstrap_servers(), std::move(args), input, out_text);
}

// Whether the app logged that it runs within about 30 s: its sink topics exist from then on (it
// creates them before it joins the group).
bool wait_until_running(const sluice_process& sluice) {
  for (int i = 0; i < 300 && sluice.log().find(": running (") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return sluice.log().find(": running (") != std::string::npos;
}

// The keys of a topic's committed records (sorted), once there are `want` of them or after about
// a minute, and the records as `sluice consume` printed them (key, value, headers).
std::pair<std::vector<std::string>, std::string> read_keys(const std::string& topic,
                                                           std::size_t want) {
  std::string out;
  for (int i = 0;
       i < 60 && static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n')) < want; ++i) {
    out.clear();
    in_process({"consume", "--topic", topic, "--from-beginning", "--isolation-level",
                "read_committed", "--timeout-ms", "1000", "--format", "%k %v %h"},
               "", &out);
  }
  std::vector<std::string> keys;
  std::istringstream rows(out);
  for (std::string line; std::getline(rows, line);) keys.push_back(line.substr(0, line.find(' ')));
  std::sort(keys.begin(), keys.end());
  return std::make_pair(keys, out);
}

// The port the endpoint logged ("serving ... <what> on 127.0.0.1:PORT"), 0 when it never did.
std::uint16_t endpoint_port(const sluice_process& sluice, const std::string& what) {
  const std::regex serving(what + " on 127\\.0\\.0\\.1:([0-9]+)");
  for (int i = 0; i < 300; ++i) {
    std::smatch match;
    const auto log = sluice.log();
    if (std::regex_search(log, match, serving))
      return static_cast<std::uint16_t>(std::stoi(match[1]));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return 0;
}

TEST(sluice_run, two_pipelines_share_one_process_and_one_endpoint) {
  const auto dir = fs::temp_directory_path() / ("sluice-run-it-" + test::unique_topic("two"));
  fs::create_directories(dir);
  const auto orders = test::unique_topic("two-orders");
  const auto clicks = test::unique_topic("two-clicks");
  const auto cleaned = orders + "-clean";
  const auto counted = clicks + "-counts";
  const auto cleaner = test::unique_topic("two-cleaner");
  const auto counter = test::unique_topic("two-counter");
  for (const auto& topic : {orders, clicks})
    in_process({"topics", "create", "--topic", topic, "--partitions", "2"});
  std::ofstream(dir / "cleaner.yaml")
      << "name: " << cleaner << "\ndelivery: exactly_once\ncommit_interval: 100ms\n"
      << "sources:\n  - topic: " << orders << "\n    value_format: json\n"
      << "steps:\n  - filter: value.amount > 0\n"
      << "sink:\n  topic: " << cleaned << "\n  value_format: json\n";
  std::ofstream(dir / "counter.yaml")
      << "name: " << counter << "\ndelivery: at_least_once\ncommit_interval: 100ms\n"
      << "sources:\n  - topic: " << clicks << "\n    key_format: string\n"
      << "    value_format: json\n"
      << "window:\n  name: per-hour\n  type: tumbling\n  size: 1h\n"
      << "  emit: every_update\n  aggregate:\n    - { name: clicks, function: count }\n"
      << "sink:\n  topic: " << counted << "\n  key_format: string\n"
      << "  value_format: json\n";

  sluice_process sluice(
      {"run", (dir / "cleaner.yaml").string(), (dir / "counter.yaml").string(),
       "--bootstrap-server", test::bootstrap_servers(), "--state-dir", (dir / "state").string(),
       "--metrics-port", "0", "--metrics-address", "127.0.0.1", "--memory-mb", "64"},
      dir / "sluice.log");
  const auto port = endpoint_port(sluice, "of 2 pipelines");
  ASSERT_NE(port, 0) << sluice.log();

  std::string order_lines, click_lines;
  for (int i = 0; i < 40; ++i)
    order_lines += "{\"amount\": " + std::to_string(i % 4) + "}\n";  // 10 of 40 are 0
  for (int i = 0; i < 30; ++i)
    click_lines += "user-" + std::to_string(i % 3) + "\t{\"page\": \"/\"}\n";
  in_process({"produce", "--topic", orders}, order_lines);
  in_process({"produce", "--topic", clicks, "--key-separator", "\t"}, click_lines);

  std::string text;
  auto total_in = [&](const std::string& pipeline) {
    return metric_value(text, "sluice_records_in_total",
                        {"pipeline=\"" + pipeline + "\"", "partition=\"0\""})
               .value_or(0) +
           metric_value(text, "sluice_records_in_total",
                        {"pipeline=\"" + pipeline + "\"", "partition=\"1\""})
               .value_or(0);
  };
  bool processed = false;
  for (int i = 0; i < 600 && !processed; ++i) {
    text = http_request(port, "/metrics").body;
    processed = total_in(cleaner) == 40 && total_in(counter) == 30 &&
                http_request(port, "/ready").status == 200;
    if (!processed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(processed) << text << sluice.log();
  EXPECT_EQ(metric_value(text, "sluice_records_filtered_total", {"pipeline=\"" + cleaner + "\""}),
            10)
      << text;
  EXPECT_EQ(http_request(port, "/health").status, 200u);
  EXPECT_EQ(sluice.stop(), 0) << sluice.log();
  const auto log = sluice.log();
  EXPECT_NE(log.find("stopped " + cleaner + "; 40 records in, 30 out"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped " + counter + "; 30 records in, 30 out"), std::string::npos) << log;

  // Each output, committed: 30 cleaned orders; 30 count updates, the last of each user 10.
  std::string out;
  in_process({"consume", "--topic", cleaned, "--from-beginning", "--isolation-level",
              "read_committed", "--timeout-ms", "3000"},
             "", &out);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 30) << out;
  in_process({"consume", "--topic", counted, "--from-beginning", "--timeout-ms", "3000", "--format",
              "%k %v"},
             "", &out);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 30) << out;
  std::size_t tenth_clicks = 0;
  for (std::size_t at = out.find("\"clicks\":10"); at != std::string::npos;
       at = out.find("\"clicks\":10", at + 1))
    ++tenth_clicks;
  EXPECT_EQ(tenth_clicks, 3u) << "each user's last update counts 10: " << out;
  fs::remove_all(dir);
}

TEST(sluice_run, two_files_with_one_name_are_refused) {
  const auto dir = fs::temp_directory_path() / ("sluice-run-it-" + test::unique_topic("same"));
  fs::create_directories(dir);
  for (const auto* file : {"a.yaml", "b.yaml"}) {
    std::ofstream(dir / file) << "name: same\nsources:\n  - topic: in\nsink:\n  topic: out\n";
  }
  std::ostringstream out, err;
  EXPECT_EQ(run({"run", (dir / "a.yaml").string(), (dir / "b.yaml").string(), "--bootstrap-server",
                 test::bootstrap_servers()},
                out, err),
            2);
  EXPECT_NE(err.str().find("b.yaml: a second pipeline named 'same'"), std::string::npos)
      << err.str();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sluice::cli

namespace sluice::cli {
namespace {

// --threads 2: two members of the pipeline's group in one process, each with tasks; exactly-once
// counts per key come out exactly as with one thread (every count 1..n once, read_committed).
TEST(sluice_run, two_stream_threads_share_the_partitions_of_one_pipeline) {
  const auto dir = fs::temp_directory_path() / ("sluice-run-it-" + test::unique_topic("threads"));
  fs::create_directories(dir);
  const auto clicks = test::unique_topic("threads-clicks");
  const auto counted = clicks + "-counts";
  const auto app = test::unique_topic("threads-counter");
  in_process({"topics", "create", "--topic", clicks, "--partitions", "4"});
  std::ofstream(dir / "counter.yaml")
      << "name: " << app << "\ndelivery: exactly_once\ncommit_interval: 100ms\n"
      << "sources:\n  - topic: " << clicks << "\n    value_format: json\n"
      << "table:\n  name: per-user\n  aggregate:\n    - { name: n, function: count }\n"
      << "sink:\n  topic: " << counted << "\n";
  sluice_process sluice(
      {"run", (dir / "counter.yaml").string(), "--threads", "2", "--bootstrap-server",
       test::bootstrap_servers(), "--state-dir", (dir / "state").string(), "--memory-mb", "64",
       "--metrics-port", "0", "--metrics-address", "127.0.0.1"},
      dir / "sluice.log");
  const auto port = endpoint_port(sluice, "of 1 pipeline");
  ASSERT_NE(port, 0) << sluice.log();
  // In waves while the two members join and split the partitions: the later waves go to both.
  for (int wave = 0; wave < 10; ++wave) {
    std::string lines;
    for (int i = 0; i < 8; ++i) lines += "user-" + std::to_string(i) + "\t{}\n";
    in_process({"produce", "--topic", clicks, "--key-separator", "\t"}, lines);
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
  }
  std::string out;
  for (int i = 0; i < 120 && std::count(out.begin(), out.end(), '\n') < 80; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    in_process({"consume", "--topic", counted, "--from-beginning", "--isolation-level",
                "read_committed", "--timeout-ms", "1000", "--format", "%k %v"},
               "", &out);
  }
  // One exposition for both threads, told apart by their `thread` label.
  const auto metrics = http_request(port, "/metrics").body;
  double in_total = 0;
  for (const auto* thread : {"thread=\"0\"", "thread=\"1\""}) {
    for (int p = 0; p < 4; ++p) {
      in_total += metric_value(metrics, "sluice_records_in_total",
                               {thread, "partition=\"" + std::to_string(p) + "\""})
                      .value_or(0);
    }
  }
  EXPECT_EQ(in_total, 80) << metrics;
  EXPECT_EQ(http_request(port, "/ready").status, 200u);
  EXPECT_EQ(sluice.stop(), 0) << sluice.log();
  const auto log = sluice.log();
  EXPECT_NE(log.find("on 2 threads"), std::string::npos) << log;
  const std::regex stopped("stopped " + app + " \\(thread ([01])\\); ([0-9]+) records in");
  int threads_that_worked = 0;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), stopped);
       it != std::sregex_iterator(); ++it) {
    if (std::stoi((*it)[2]) > 0) ++threads_that_worked;
  }
  EXPECT_EQ(threads_that_worked, 2) << "both threads own partitions: " << log;
  EXPECT_TRUE(fs::exists(dir / "state" / "thread-1" / app))
      << "each thread has its own state directory";
  // Every user's counts 1..10, each once.
  std::map<std::string, std::vector<int>> counts;
  std::istringstream rows(out);
  for (std::string key, value; rows >> key >> value;) {
    counts[key].push_back(std::stoi(value.substr(value.find(':') + 1)));
  }
  ASSERT_EQ(counts.size(), 8u) << out;
  for (auto& [key, seen] : counts) {
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})) << key;
  }
  fs::remove_all(dir);
}

// A sink that picks its topic per record (topic_from): every declared topic is created at start
// and gets its records, and a record whose expression gives an undeclared topic goes to the
// dead-letter topic with the reason instead of anywhere else.
TEST(sluice_run, a_topic_per_record_sink_routes_each_record_and_dead_letters_an_undeclared_topic) {
  const auto dir = fs::temp_directory_path() / ("sluice-run-it-" + test::unique_topic("routed"));
  fs::create_directories(dir);
  const auto orders = test::unique_topic("routed-orders");
  const auto app = test::unique_topic("routed-app");
  in_process({"topics", "create", "--topic", orders, "--partitions", "2"});
  std::ofstream(dir / "routed.yaml")
      << "name: " << app << "\ndelivery: exactly_once\ncommit_interval: 100ms\n"
      << "sources:\n  - topic: " << orders << "\n    value_format: json\n"
      << "sink:\n  topic_from: concat(\"" << orders << "-\", value.region)\n"
      << "  topics: [" << orders << "-eu, " << orders << "-us]\n";
  sluice_process sluice(
      {"run", (dir / "routed.yaml").string(), "--bootstrap-server", test::bootstrap_servers(),
       "--state-dir", (dir / "state").string(), "--memory-mb", "64", "--on-error", "dead-letter"},
      dir / "sluice.log");
  ASSERT_TRUE(wait_until_running(sluice)) << sluice.log();
  in_process({"produce", "--topic", orders, "--key-separator", "\t"},
             "o1\t{\"region\":\"eu\"}\no2\t{\"region\":\"us\"}\no3\t{\"region\":\"apac\"}\n"
             "o4\t{\"region\":\"eu\"}\n");
  const auto eu = read_keys(orders + "-eu", 2);
  const auto us = read_keys(orders + "-us", 1);
  const auto dead = read_keys(app + "-dead-letter", 1);
  EXPECT_EQ(eu.first, (std::vector<std::string>{"o1", "o4"})) << eu.second << sluice.log();
  EXPECT_EQ(us.first, (std::vector<std::string>{"o2"})) << us.second;
  EXPECT_EQ(dead.first, (std::vector<std::string>{"o3"})) << dead.second;
  EXPECT_NE(dead.second.find("which is not one of the sink's topics"), std::string::npos)
      << dead.second;
  EXPECT_EQ(sluice.stop(), 0) << sluice.log();
  fs::remove_all(dir);
}

// Malformed records in the middle of large batches (the whole input is there before the app
// starts, so its polls return hundreds of records): with the decode thread (the default) the
// helper leaves them to the loop, which dead-letters them with the reason, exactly as without it;
// every other record comes out once, in both modes.
TEST(sluice_run,
     malformed_records_among_many_are_dead_lettered_with_and_without_the_decode_thread) {
  const auto dir = fs::temp_directory_path() / ("sluice-run-it-" + test::unique_topic("decode"));
  fs::create_directories(dir);
  const auto orders = test::unique_topic("decode-orders");
  in_process({"topics", "create", "--topic", orders, "--partitions", "2"});
  std::string input;
  std::vector<std::string> good, bad;
  for (int i = 0; i < 600; ++i) {
    const auto key = "o" + std::to_string(1000 + i);
    const bool malformed = i == 7 || i == 300 || i == 599;
    input += key + "\t" + (malformed ? "{\"seq\":" : "{\"seq\":" + std::to_string(i) + "}") + "\n";
    (malformed ? bad : good).push_back(key);
  }
  in_process({"produce", "--topic", orders, "--key-separator", "\t"}, input);
  for (const bool decode_thread : {true, false}) {
    SCOPED_TRACE(decode_thread ? "with the decode thread" : "--no-decode-thread");
    const auto app = test::unique_topic("decode-app");
    const auto file = dir / (app + ".yaml");
    std::ofstream(file) << "name: " << app << "\ndelivery: exactly_once\ncommit_interval: 100ms\n"
                        << "sources:\n  - topic: " << orders << "\n    value_format: json\n"
                        << "steps:\n  - map:\n      seq: value.seq\n      twice: value.seq * 2\n"
                        << "sink:\n  topic: " << app << "-out\n";
    std::vector<std::string> args{
        "run",         file.string(),        "--bootstrap-server", test::bootstrap_servers(),
        "--state-dir", (dir / app).string(), "--memory-mb",        "64",
        "--on-error",  "dead-letter"};
    if (!decode_thread) args.emplace_back("--no-decode-thread");
    sluice_process sluice(args, dir / (app + ".log"));
    ASSERT_TRUE(wait_until_running(sluice)) << sluice.log();
    const auto out = read_keys(app + "-out", good.size());
    const auto dead = read_keys(app + "-dead-letter", bad.size());
    EXPECT_EQ(out.first, good) << sluice.log();
    EXPECT_EQ(dead.first, bad) << dead.second;
    EXPECT_NE(dead.second.find("is not valid JSON"), std::string::npos) << dead.second;
    EXPECT_EQ(sluice.stop(), 0) << sluice.log();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sluice::cli
