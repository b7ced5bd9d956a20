// The `sluice` admin commands against the real broker: in-process through cli::run (the same
// function main() calls), and through the built binary for exit statuses.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "pipelines/cli/commands.hpp"
#include "tests/support/test_cluster.hpp"

namespace sluice::cli {
namespace {

namespace json = boost::json;

struct result {
  int status;
  std::string out;
  std::string err;
};

result sluice(std::vector<std::string> args) {
  args.push_back("--bootstrap-server");
  args.push_back(test::bootstrap_servers());
  args.push_back("--timeout-ms");
  args.push_back("60000");
  std::ostringstream out, err;
  const int status = run(args, out, err);
  return {status, out.str(), err.str()};
}

json::value sluice_json(std::vector<std::string> args) {
  args.push_back("--json");
  auto r = sluice(args);
  EXPECT_EQ(r.status, 0) << r.err;
  boost::system::error_code error;
  auto value = json::parse(r.out, error);
  EXPECT_FALSE(error) << "not JSON: " << r.out;
  return value;
}

// Runs a shell command; its exit status.
int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void produce_with_kcat(const std::string& topic, int partition, int count) {
  std::string lines;
  for (int i = 0; i < count; ++i) lines += "record-" + std::to_string(i) + "\\n";
  const auto command = "printf '" + lines + "' | kcat -P -b " + test::bootstrap_servers() + " -t " +
                       topic + " -p " + std::to_string(partition);
  ASSERT_EQ(shell(command), 0) << command;
}

// The binary sits at the top of the build tree, the test executables in tests/.
std::string binary_path() {
  auto self = std::filesystem::read_symlink("/proc/self/exe");
  return (self.parent_path().parent_path() / "sluice").string();
}

TEST(cli, cluster_shows_brokers_controller_and_api_versions) {
  auto value = sluice_json({"cluster"});
  const auto& root = value.as_object();
  EXPECT_FALSE(root.at("cluster_id").as_string().empty());
  const auto& brokers = root.at("brokers").as_array();
  ASSERT_FALSE(brokers.empty());
  const auto controller = root.at("controller_id").as_int64();
  EXPECT_TRUE(std::any_of(brokers.begin(), brokers.end(), [&](const json::value& b) {
    return b.at("id").as_int64() == controller;
  }));
  const auto& versions = root.at("api_versions").as_array();
  ASSERT_EQ(versions.size(), brokers.size());
  bool saw_metadata = false;
  for (const auto& api : versions[0].at("apis").as_array()) {
    if (api.at("name").as_string() != "Metadata") continue;
    saw_metadata = true;
    const auto negotiated = api.at("negotiated").as_int64();
    EXPECT_EQ(negotiated,
              std::min(api.at("broker_max").as_int64(), api.at("sluice_max").as_int64()));
  }
  EXPECT_TRUE(saw_metadata);

  auto human = sluice({"cluster"});
  EXPECT_EQ(human.status, 0) << human.err;
  EXPECT_NE(human.out.find("Controller:"), std::string::npos);
  EXPECT_NE(human.out.find("NEGOTIATED"), std::string::npos);
}

TEST(cli, topics_create_list_describe_alter_delete) {
  const auto topic = test::unique_topic("cli-topic");
  auto created = sluice({"topics", "create", "--topic", topic, "--partitions", "2",
                         "--replication-factor", "1", "--config", "cleanup.policy=compact"});
  EXPECT_EQ(created.status, 0) << created.err;
  EXPECT_NE(created.out.find("Created topic " + topic), std::string::npos) << created.out;

  // Creating it again fails with the broker's reason, unless --if-not-exists.
  auto again = sluice({"topics", "create", "--topic", topic, "--partitions", "2"});
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.err.find("TOPIC_ALREADY_EXISTS"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find(topic), std::string::npos) << again.err;
  EXPECT_EQ(sluice({"topics", "create", "--topic", topic, "--if-not-exists"}).status, 0);

  auto listed = sluice({"topics", "list"});
  EXPECT_EQ(listed.status, 0) << listed.err;
  EXPECT_NE(listed.out.find(topic + "\n"), std::string::npos);

  auto described = sluice_json({"topics", "describe", "--topic", topic});
  const auto& description = described.as_array().at(0).as_object();
  EXPECT_EQ(description.at("name").as_string(), topic);
  EXPECT_EQ(description.at("partitions").as_array().size(), 2u);
  EXPECT_EQ(description.at("configs").at("cleanup.policy").as_string(), "compact");
  auto human = sluice({"topics", "describe", "--topic", topic});
  EXPECT_NE(human.out.find("PartitionCount: 2"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("cleanup.policy=compact"), std::string::npos) << human.out;

  auto altered = sluice({"topics", "alter", "--topic", topic, "--partitions", "3", "--config",
                         "retention.ms=86400000", "--delete-config", "cleanup.policy"});
  EXPECT_EQ(altered.status, 0) << altered.err;
  json::value after;
  for (int attempt = 0; attempt < 50; ++attempt) {
    after = sluice_json({"topics", "describe", "--topic", topic});
    const auto& configs = after.as_array().at(0).at("configs").as_object();
    if (after.as_array().at(0).at("partitions").as_array().size() == 3 &&
        configs.contains("retention.ms") && !configs.contains("cleanup.policy")) {
      break;
    }
    // Config changes reach the broker through the metadata log, a moment later.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(after.as_array().at(0).at("partitions").as_array().size(), 3u);
  EXPECT_EQ(after.as_array().at(0).at("configs").at("retention.ms").as_string(), "86400000");
  EXPECT_FALSE(after.as_array().at(0).at("configs").as_object().contains("cleanup.policy"));

  // Shrinking is refused with the broker's reason.
  auto shrink = sluice({"topics", "alter", "--topic", topic, "--partitions", "1"});
  EXPECT_EQ(shrink.status, 1);
  EXPECT_NE(shrink.err.find("INVALID_PARTITIONS"), std::string::npos) << shrink.err;

  auto deleted = sluice({"topics", "delete", "--topic", topic});
  EXPECT_EQ(deleted.status, 0) << deleted.err;
  EXPECT_NE(deleted.out.find("Deleted topic " + topic), std::string::npos);
  auto missing = sluice({"topics", "describe", "--topic", topic});
  // The deletion reaches the broker's metadata cache through the metadata log, a moment later.
  for (int attempt = 0; attempt < 50 && missing.status == 0; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    missing = sluice({"topics", "describe", "--topic", topic});
  }
  EXPECT_EQ(missing.status, 1) << missing.out;
  EXPECT_NE(missing.err.find("UNKNOWN_TOPIC_OR_PARTITION"), std::string::npos) << missing.err;
  EXPECT_EQ(sluice({"topics", "delete", "--topic", topic, "--if-exists"}).status, 0);
}

// The committed offset of partition `partition` in `groups describe --json`.
std::int64_t committed(const json::value& described, const std::string& topic, int partition) {
  for (const auto& row : described.as_array().at(0).at("partitions").as_array()) {
    if (row.at("topic").as_string() == topic && row.at("partition").as_int64() == partition) {
      const auto& offset = row.at("committed_offset");
      return offset.is_null() ? -1 : offset.as_int64();
    }
  }
  return -1;
}

TEST(cli, groups_reset_offsets_dry_run_then_execute) {
  const auto topic = test::unique_topic("cli-group-topic");
  const auto group = test::unique_topic("cli-group");
  ASSERT_EQ(sluice({"topics", "create", "--topic", topic, "--partitions", "2"}).status, 0);
  produce_with_kcat(topic, 0, 5);

  // Execute creates the (empty) group with committed offsets.
  auto first = sluice({"groups", "reset-offsets", "--group", group, "--topic", topic, "--to-offset",
                       "1", "--execute"});
  EXPECT_EQ(first.status, 0) << first.err;
  auto described = sluice_json({"groups", "describe", "--group", group});
  EXPECT_EQ(committed(described, topic, 0), 1);
  const auto& row = described.as_array().at(0).at("partitions").as_array().at(0);
  EXPECT_EQ(row.at("log_end_offset").as_int64(), 5);
  EXPECT_EQ(row.at("lag").as_int64(), 4);

  auto listed = sluice_json({"groups", "list"});
  EXPECT_TRUE(
      std::any_of(listed.as_array().begin(), listed.as_array().end(),
                  [&](const json::value& g) { return g.at("group").as_string() == group; }));

  // A dry run prints the plan and commits nothing.
  auto dry = sluice_json(
      {"groups", "reset-offsets", "--group", group, "--topic", topic + ":0", "--to-latest"});
  EXPECT_FALSE(dry.at("executed").as_bool());
  EXPECT_EQ(dry.at("partitions").as_array().at(0).at("new_offset").as_int64(), 5);
  EXPECT_EQ(committed(sluice_json({"groups", "describe", "--group", group}), topic, 0), 1);
  auto human_dry =
      sluice({"groups", "reset-offsets", "--group", group, "--all-topics", "--to-earliest"});
  EXPECT_NE(human_dry.out.find("dry run"), std::string::npos) << human_dry.out;

  // Execute commits it.
  auto executed = sluice_json({"groups", "reset-offsets", "--group", group, "--topic", topic + ":0",
                               "--to-latest", "--execute"});
  EXPECT_TRUE(executed.at("executed").as_bool());
  EXPECT_EQ(committed(sluice_json({"groups", "describe", "--group", group}), topic, 0), 5);
  sluice_json({"groups", "reset-offsets", "--group", group, "--all-topics", "--shift-by", "-2",
               "--execute"});
  EXPECT_EQ(committed(sluice_json({"groups", "describe", "--group", group}), topic, 0), 3);
  // A time before every record: the earliest offset.
  sluice_json({"groups", "reset-offsets", "--group", group, "--topic", topic + ":0",
               "--to-datetime", "2000-01-01T00:00:00Z", "--execute"});
  EXPECT_EQ(committed(sluice_json({"groups", "describe", "--group", group}), topic, 0), 0);

  auto deleted = sluice({"groups", "delete", "--group", group});
  EXPECT_EQ(deleted.status, 0) << deleted.err;
  auto gone = sluice({"groups", "delete", "--group", group});
  EXPECT_EQ(gone.status, 1);
  EXPECT_NE(gone.err.find("GROUP_ID_NOT_FOUND"), std::string::npos) << gone.err;
  sluice({"topics", "delete", "--topic", topic});
}

TEST(cli, command_config_reaches_a_sasl_ssl_listener) {
  const auto path =
      ::testing::TempDir() + "/sluice-cli-it-" + test::unique_topic("sasl") + ".properties";
  {
    std::ofstream file(path);
    file << "security.protocol=SASL_SSL\n"
         << "sasl.mechanism=SCRAM-SHA-512\n"
         << "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n"
         << "    username=\"" << test::required_env("SLUICE_SCRAM_USER") << "\" password=\""
         << test::required_env("SLUICE_SCRAM_PASSWORD") << "\";\n"
         << "ssl.truststore.type=PEM\n"
         << "ssl.truststore.location=" << test::required_env("SLUICE_CA_FILE") << "\n";
  }
  std::ostringstream out, err;
  const int status =
      run({"topics", "list", "--bootstrap-server", test::required_env("SLUICE_SASL_SSL_BOOTSTRAP"),
           "--command-config", path, "--timeout-ms", "60000"},
          out, err);
  EXPECT_EQ(status, 0) << err.str();
  EXPECT_TRUE(err.str().empty()) << err.str();

  // A wrong password is an authentication error, not a retry until the timeout.
  std::ostringstream out2, err2;
  const int refused =
      run({"topics", "list", "--bootstrap-server", test::required_env("SLUICE_SASL_SSL_BOOTSTRAP"),
           "--command-config", path, "--sasl-password", "wrong", "--timeout-ms", "60000"},
          out2, err2);
  EXPECT_EQ(refused, 1);
  EXPECT_NE(err2.str().find("uthentication"), std::string::npos) << err2.str();
  std::filesystem::remove(path);
}

TEST(cli, an_unreachable_cluster_fails_within_the_timeout) {
  std::ostringstream out, err;
  // Nothing listens on port 1: every attempt is refused until --timeout-ms.
  const int status = run(
      {"topics", "list", "--bootstrap-server", "127.0.0.1:1", "--timeout-ms", "1500"}, out, err);
  EXPECT_EQ(status, 1);
  EXPECT_NE(err.str().find("127.0.0.1:1"), std::string::npos) << err.str();
  EXPECT_TRUE(out.str().empty());
}

TEST(cli, the_binary_exits_non_zero_on_bad_arguments_and_an_unreachable_cluster) {
  const auto binary = binary_path();
  ASSERT_TRUE(std::filesystem::exists(binary))
      << binary << " is missing: build the `sluice` target too";
  EXPECT_EQ(shell(binary + " --help > /dev/null"), 0);
  EXPECT_EQ(shell(binary + " topics create --topic t 2> /dev/null"), 2);
  EXPECT_EQ(shell(binary + " topics frobnicate --bootstrap-server 127.0.0.1:1 2> /dev/null"), 2);
  // `timeout` only guards the suite against a hang; the command gives up after 1.5 s by itself.
  EXPECT_EQ(shell("timeout 60 " + binary +
                  " cluster --bootstrap-server 127.0.0.1:1 --timeout-ms 1500 2> /dev/null"),
            1);
  EXPECT_EQ(shell("timeout 60 " + binary + " topics list --bootstrap-server " +
                  test::bootstrap_servers() + " > /dev/null"),
            0);
}

}  // namespace
}  // namespace sluice::cli
