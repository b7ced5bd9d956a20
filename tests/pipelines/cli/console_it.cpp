// `sluice produce` and `sluice consume` against the real broker: through the built binary with
// real pipes (stdin, stdout, exit statuses), and in-process through cli::run with streams.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "pipelines/cli/commands.hpp"
#include "tests/support/test_cluster.hpp"

namespace sluice::cli {
namespace {

struct result {
  int status;
  std::string out;
  std::string err;
};

std::string binary_path() {
  auto self = std::filesystem::read_symlink("/proc/self/exe");
  return (self.parent_path().parent_path() / "sluice").string();
}

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Runs `sluice ARGS --bootstrap-server ...` with `input` on stdin; `timeout` only guards the
// suite against a hang.
result sluice_binary(const std::string& args, const std::string& input = "") {
  const auto base = ::testing::TempDir() + "/sluice-console-it-" + test::unique_topic("run");
  {
    std::ofstream in(base + ".in");
    in << input;
  }
  const auto command = "timeout 120 " + binary_path() + " " + args + " --bootstrap-server " +
                       test::bootstrap_servers() + " < " + base + ".in > " + base + ".out 2> " +
                       base + ".err";
  const int status = std::system(command.c_str());
  result r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(base + ".out"),
           read_file(base + ".err")};
  for (const char* suffix : {".in", ".out", ".err"}) std::filesystem::remove(base + suffix);
  return r;
}

result sluice_in_process(std::vector<std::string> args, const std::string& input = "") {
  args.push_back("--bootstrap-server");
  args.push_back(test::bootstrap_servers());
  std::istringstream in(input);
  std::ostringstream out, err;
  const int status = run(args, in, out, err);
  return {status, out.str(), err.str()};
}

std::string create_topic(const std::string& prefix, int partitions) {
  const auto topic = test::unique_topic(prefix);
  auto created = sluice_in_process(
      {"topics", "create", "--topic", topic, "--partitions", std::to_string(partitions)});
  EXPECT_EQ(created.status, 0) << created.err;
  return topic;
}

TEST(console, produce_keys_and_headers_then_consume_them_with_formats) {
  const auto topic = create_topic("console-fmt", 2);
  auto produced =
      sluice_binary("produce --topic " + topic +
                        " --key-separator '::' --partition 1 --header source=cli --header flag -v",
                    "alice::1\nbob::two::2\r\n::keyless\ncarol::last");
  ASSERT_EQ(produced.status, 0) << produced.err;
  EXPECT_NE(produced.err.find("4 record(s) written"), std::string::npos) << produced.err;

  auto consumed = sluice_binary("consume --topic " + topic +
                                " --from-beginning --max-messages 4 --format '%t|%p|%o|%k|%v|%h'");
  ASSERT_EQ(consumed.status, 0) << consumed.err;
  const auto prefix = topic + "|1|";
  EXPECT_EQ(consumed.out, prefix + "0|alice|1|source=cli,flag\n" + prefix +
                              "1|bob|two::2|source=cli,flag\n" + prefix +
                              "2||keyless|source=cli,flag\n" + prefix +
                              "3|carol|last|source=cli,flag\n");

  // The default format is the value; --offset starts there; \t and %% are understood.
  auto values =
      sluice_binary("consume --topic " + topic + " --partition 1 --offset 2 --max-messages 2");
  EXPECT_EQ(values.status, 0) << values.err;
  EXPECT_EQ(values.out, "keyless\nlast\n");
  auto escaped = sluice_binary("consume --topic " + topic +
                               " --partition 1 --offset 3 --max-messages 1 --format '%o\\t100%%'");
  EXPECT_EQ(escaped.out, "3\t100%\n");

  // Timestamps are the producer's (now); --from-timestamp after them finds nothing, and
  // --timeout-ms ends the wait.
  auto stamped = sluice_binary("consume --topic " + topic +
                               " --partition 1 --offset 0 --max-messages 1 --format '%T'");
  const auto timestamp = std::stoll(stamped.out);
  EXPECT_GT(timestamp, 1'600'000'000'000);
  auto from_time = sluice_binary("consume --topic " + topic + " --from-timestamp " +
                                 std::to_string(timestamp) + " --max-messages 4 --format '%o'");
  EXPECT_EQ(from_time.out, "0\n1\n2\n3\n");
  auto later = sluice_binary("consume --topic " + topic + " --from-timestamp " +
                             std::to_string(timestamp + 3'600'000) + " --timeout-ms 1500 -v");
  EXPECT_EQ(later.status, 0) << later.err;
  EXPECT_EQ(later.out, "");
  EXPECT_NE(later.err.find("Processed a total of 0 messages"), std::string::npos) << later.err;
}

TEST(console, in_process_produce_reads_the_given_stream_in_order) {
  const auto topic = create_topic("console-stream", 1);
  std::string input;
  constexpr int count = 20'000;  // several input chunks and producer batches
  for (int i = 0; i < count; ++i)
    input += "k" + std::to_string(i % 7) + "\t" + std::to_string(i) + "\n";
  auto produced = sluice_in_process(
      {"produce", "--topic", topic, "--key-separator", "\t", "--compression", "zstd"}, input);
  ASSERT_EQ(produced.status, 0) << produced.err;
  EXPECT_EQ(produced.err, "");
  EXPECT_EQ(produced.out, "");

  auto consumed =
      sluice_in_process({"consume", "--topic", topic, "--from-beginning", "--max-messages",
                         std::to_string(count), "--format", "%k\\t%v"});
  ASSERT_EQ(consumed.status, 0) << consumed.err;
  EXPECT_EQ(consumed.out, input);
}

TEST(console, transactional_produce_commits_at_the_end_or_aborts_everything) {
  const auto topic = create_topic("console-txn", 1);
  const auto id = test::unique_topic("console-txn-id");
  auto committed = sluice_binary("produce --topic " + topic + " --transactional-id " + id + " -v",
                                 "one\ntwo\nthree\n");
  ASSERT_EQ(committed.status, 0) << committed.err;
  EXPECT_NE(committed.err.find("3 record(s) written to " + topic + " in one transaction"),
            std::string::npos)
      << committed.err;

  // A bad line aborts the transaction: nothing of it is visible to read_committed.
  auto aborted =
      sluice_binary("produce --topic " + topic + " --transactional-id " + id + " --key-separator :",
                    "k:four\nno separator\nk:five\n");
  EXPECT_EQ(aborted.status, 1);
  EXPECT_NE(aborted.err.find("line 2: no key separator ':'"), std::string::npos) << aborted.err;
  EXPECT_NE(aborted.err.find("transaction was aborted"), std::string::npos) << aborted.err;

  auto more = sluice_binary("produce --topic " + topic + " --transactional-id " + id, "six\n");
  ASSERT_EQ(more.status, 0) << more.err;
  auto read = sluice_binary("consume --topic " + topic +
                            " --from-beginning --isolation-level read_committed --max-messages 4");
  EXPECT_EQ(read.status, 0) << read.err;
  EXPECT_EQ(read.out, "one\ntwo\nthree\nsix\n");
}

TEST(console, a_group_commits_what_it_printed) {
  const auto topic = create_topic("console-group", 2);
  const auto group = test::unique_topic("console-group-id");
  std::string input;
  for (int i = 0; i < 10; ++i) input += "key" + std::to_string(i) + ":v" + std::to_string(i) + "\n";
  ASSERT_EQ(sluice_binary("produce --topic " + topic + " --key-separator :", input).status, 0);

  auto first = sluice_binary("consume --topic " + topic + " --group " + group +
                             " --from-beginning --max-messages 4 --format '%k'");
  ASSERT_EQ(first.status, 0) << first.err;
  auto rest = sluice_binary("consume --topic " + topic + " --group " + group +
                            " --from-beginning --max-messages 6 --format '%k'");
  ASSERT_EQ(rest.status, 0) << rest.err;
  // Together: every key exactly once (the second run starts at the first one's commits).
  std::multiset<std::string> seen;
  std::istringstream lines(first.out + rest.out);
  for (std::string line; std::getline(lines, line);) seen.insert(line);
  ASSERT_EQ(seen.size(), 10u) << first.out << "--\n" << rest.out;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(seen.count("key" + std::to_string(i)), 1u) << i;

  auto nothing_left =
      sluice_binary("consume --topic " + topic + " --group " + group + " --timeout-ms 2000");
  EXPECT_EQ(nothing_left.status, 0) << nothing_left.err;
  EXPECT_EQ(nothing_left.out, "");
}

// An aiokafka member (its default assignor, roundrobin) holds the group. `sluice consume` with
// its defaults (range, cooperative-sticky) cannot join it (INCONSISTENT_GROUP_PROTOCOL); with
// -X partition.assignment.strategy=roundrobin it joins and reads the partition it gets.
constexpr const char* aiokafka_member = R"(
import asyncio, os, sys
from aiokafka import AIOKafkaConsumer
bootstrap, topic, group, joined, stop = sys.argv[1:6]
async def main():
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        for _ in range(1200):
            await consumer.getmany(timeout_ms=100)
            mine = sorted(tp.partition for tp in consumer.assignment())
            with open(joined + ".tmp", "w") as out:
                out.write(" ".join(map(str, mine)))
            os.replace(joined + ".tmp", joined)
            if os.path.exists(stop):
                break
    finally:
        await consumer.stop()
asyncio.run(main())
)";

TEST(console, x_flags_let_consume_join_an_aiokafka_group) {
  const auto topic = create_topic("console-aiokafka", 2);
  const auto group = test::unique_topic("console-aiokafka-group");
  for (int partition = 0; partition < 2; ++partition) {
    std::string input;
    for (int i = 0; i < 5; ++i)
      input += "p" + std::to_string(partition) + "-" + std::to_string(i) + "\n";
    ASSERT_EQ(sluice_binary(
                  "produce --topic " + topic + " --partition " + std::to_string(partition), input)
                  .status,
              0);
  }
  const auto base = ::testing::TempDir() + "/sluice-aiokafka-" + group;
  const auto script = base + ".py", joined = base + ".joined", stop = base + ".stop";
  {
    std::ofstream file(script);
    file << aiokafka_member;
  }
  auto* python = ::popen((test::python() + " " + script + " " + test::bootstrap_servers() + " " +
                          topic + " " + group + " " + joined + " " + stop + " 2>&1")
                             .c_str(),
                         "r");
  ASSERT_NE(python, nullptr);
  for (int i = 0; i < 300 && read_file(joined) != "0 1"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(read_file(joined), "0 1") << "the aiokafka member did not join";

  auto refused =
      sluice_binary("consume --topic " + topic + " --group " + group + " --timeout-ms 10000");
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.err.find("INCONSISTENT_GROUP_PROTOCOL"), std::string::npos) << refused.err;

  auto joined_with_x = sluice_binary("consume --topic " + topic + " --group " + group +
                                     " -X partition.assignment.strategy=roundrobin "
                                     "--from-beginning --max-messages 5 --timeout-ms 60000");
  EXPECT_EQ(joined_with_x.status, 0) << joined_with_x.err;
  EXPECT_EQ(joined_with_x.err.find("INCONSISTENT_GROUP_PROTOCOL"), std::string::npos)
      << joined_with_x.err;
  // Roundrobin over two members and two partitions: one each, so Sluice read one whole partition.
  std::istringstream lines(joined_with_x.out);
  std::set<std::string> partitions_read;
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count)
    partitions_read.insert(line.substr(0, 2));
  EXPECT_EQ(count, 5) << joined_with_x.out;
  EXPECT_EQ(partitions_read.size(), 1u) << joined_with_x.out;

  std::ofstream(stop) << "stop\n";
  std::string python_output;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, python) != nullptr) python_output += buffer;
  EXPECT_EQ(::pclose(python), 0) << python_output;
  for (const auto& file : {script, joined, stop}) std::filesystem::remove(file);
}

TEST(console, json_logs_are_one_object_per_line) {
  const auto topic = create_topic("console-json-log", 1);
  const auto group = test::unique_topic("console-json-log-group");
  auto run = sluice_binary("consume --topic " + topic + " --group " + group +
                           " --timeout-ms 3000 --log-format json --log-level debug");
  EXPECT_EQ(run.status, 0) << run.err;
  std::istringstream lines(run.err);
  int objects = 0;
  bool joined = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("warning: ", 0) == 0) continue;  // the tool's own notes, not log lines
    boost::system::error_code error;
    auto value = boost::json::parse(line, error);
    ASSERT_FALSE(error) << "not JSON: " << line;
    const auto& object = value.as_object();
    EXPECT_TRUE(object.contains("time") && object.contains("level") && object.contains("message"))
        << line;
    ++objects;
    if (object.at("message").as_string().find("joined group") != boost::json::string::npos)
      joined = true;
  }
  EXPECT_GT(objects, 0) << run.err;
  EXPECT_TRUE(joined) << run.err;
  EXPECT_EQ(sluice_binary("consume --topic " + topic + " --log-level loud").status, 2);
}

TEST(console, x_flags_are_checked_against_the_java_names) {
  auto misspelt = sluice_binary("consume --topic t -X fetch.max.byte=10");
  EXPECT_EQ(misspelt.status, 2);
  EXPECT_NE(misspelt.err.find(
                "unknown client property 'fetch.max.byte'; did you mean 'fetch.max.bytes'?"),
            std::string::npos)
      << misspelt.err;
  auto bad_value = sluice_binary("consume --topic t -X max.poll.records=many");
  EXPECT_EQ(bad_value.status, 2);
  EXPECT_NE(bad_value.err.find("max.poll.records: 'many' is not a whole number"), std::string::npos)
      << bad_value.err;
  auto no_equals = sluice_binary("consume --topic t -X linger.ms");
  EXPECT_EQ(no_equals.status, 2);
  EXPECT_NE(no_equals.err.find("expected KEY=VALUE"), std::string::npos) << no_equals.err;
}

TEST(console, produce_and_consume_over_sasl_ssl_with_a_command_config) {
  const auto topic = create_topic("console-sasl", 1);
  const auto path =
      ::testing::TempDir() + "/sluice-console-it-" + test::unique_topic("sasl") + ".properties";
  {
    std::ofstream file(path);
    file << "bootstrap.servers=" << test::required_env("SLUICE_SASL_SSL_BOOTSTRAP") << "\n"
         << "security.protocol=SASL_SSL\n"
         << "sasl.mechanism=SCRAM-SHA-256\n"
         << "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
         << "username=\"" << test::required_env("SLUICE_SCRAM_USER") << "\" password=\""
         << test::required_env("SLUICE_SCRAM_PASSWORD") << "\";\n"
         << "ssl.truststore.type=PEM\n"
         << "ssl.truststore.location=" << test::required_env("SLUICE_CA_FILE") << "\n";
  }
  // No --bootstrap-server: the file names the SASL_SSL listener.
  const std::vector<std::string> produce{"produce", "--topic", topic, "--command-config", path};
  std::istringstream in("secure-1\nsecure-2\n");
  std::ostringstream out, err;
  ASSERT_EQ(run(produce, in, out, err), 0) << err.str();
  const std::vector<std::string> consume{
      "consume", "--topic",          topic, "--from-beginning", "--max-messages",
      "2",       "--command-config", path};
  std::istringstream none;
  std::ostringstream records, consume_err;
  ASSERT_EQ(run(consume, none, records, consume_err), 0) << consume_err.str();
  EXPECT_EQ(records.str(), "secure-1\nsecure-2\n");
  std::filesystem::remove(path);
}

TEST(console, errors_are_clear_and_exit_non_zero) {
  const auto topic = create_topic("console-errors", 1);
  const auto missing = test::unique_topic("console-missing");

  auto produce_missing = sluice_binary("produce --topic " + missing, "x\n");
  EXPECT_EQ(produce_missing.status, 1);
  EXPECT_NE(produce_missing.err.find("topic '" + missing + "' does not exist"), std::string::npos)
      << produce_missing.err;
  auto consume_missing = sluice_binary("consume --topic " + missing + " --timeout-ms 1000");
  EXPECT_EQ(consume_missing.status, 1);
  EXPECT_NE(consume_missing.err.find("topic '" + missing + "' does not exist"), std::string::npos)
      << consume_missing.err;
  auto bad_partition = sluice_binary("produce --topic " + topic + " --partition 5", "x\n");
  EXPECT_EQ(bad_partition.status, 1);
  EXPECT_NE(bad_partition.err.find("has 1 partition(s)"), std::string::npos) << bad_partition.err;

  auto no_separator =
      sluice_binary("produce --topic " + topic + " --key-separator =", "a=1\nb=2\nthree\n");
  EXPECT_EQ(no_separator.status, 1);
  EXPECT_NE(no_separator.err.find("line 3: no key separator '=' in 'three'"), std::string::npos)
      << no_separator.err;

  auto bad_flag = sluice_binary("consume --topic " + topic + " --frobnicate");
  EXPECT_EQ(bad_flag.status, 2);
  EXPECT_NE(bad_flag.err.find("frobnicate"), std::string::npos) << bad_flag.err;
  auto bad_format = sluice_binary("consume --topic " + topic + " --format '%z'");
  EXPECT_EQ(bad_format.status, 2);
  EXPECT_NE(bad_format.err.find("'%z'"), std::string::npos) << bad_format.err;
  auto bad_acks = sluice_binary("produce --topic " + topic + " --acks some", "x\n");
  EXPECT_EQ(bad_acks.status, 2);
  EXPECT_NE(bad_acks.err.find("--acks"), std::string::npos) << bad_acks.err;
}

}  // namespace
}  // namespace sluice::cli
