#include "pipelines/cli/command_line.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "pipelines/cli/commands.hpp"
#include "pipelines/cli/reset_plan.hpp"
#include "pipelines/cli/table.hpp"

namespace sluice::cli {
namespace {

command_line parse(std::vector<std::string> args) {
  return parse_command_line(args);
}

std::string usage_message(std::vector<std::string> args) {
  try {
    parse_command_line(args);
  } catch (const usage_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no usage error";
  return {};
}

TEST(command_line, parses_topics_create) {
  auto command =
      parse({"topics", "create", "--bootstrap-server", "k1:9092,k2:9093", "--topic", "orders",
             "--partitions", "6", "--replication-factor", "3", "--config", "cleanup.policy=compact",
             "--config", "min.insync.replicas=2", "--timeout-ms", "2500", "--json"});
  EXPECT_EQ(command.command, "topics create");
  EXPECT_TRUE(command.help.empty());
  const auto& args = std::get<topics_create_args>(command.args);
  EXPECT_EQ(args.topic, "orders");
  EXPECT_EQ(args.partitions, 6);
  EXPECT_EQ(args.replication_factor, 3);
  EXPECT_EQ(args.configs.at("cleanup.policy"), "compact");
  EXPECT_EQ(args.configs.at("min.insync.replicas"), "2");
  EXPECT_EQ(command.connection.client.bootstrap_servers.size(), 2u);
  EXPECT_EQ(command.connection.client.bootstrap_servers[1].port, 9093);
  EXPECT_EQ(command.connection.timeout, std::chrono::milliseconds(2500));
  // No connection attempt or request may outlast the command.
  EXPECT_LE(command.connection.client.connect_timeout, std::chrono::milliseconds(2500));
  EXPECT_LE(command.connection.client.request_timeout, std::chrono::milliseconds(2500));
  EXPECT_TRUE(command.connection.json);
}

TEST(command_line, defaults_leave_partitions_to_the_broker) {
  auto command = parse({"topics", "create", "--bootstrap-server", "k:9092", "--topic", "t"});
  const auto& args = std::get<topics_create_args>(command.args);
  EXPECT_EQ(args.partitions, -1);
  EXPECT_EQ(args.replication_factor, -1);
  EXPECT_EQ(command.connection.timeout, std::chrono::milliseconds(15'000));
  EXPECT_FALSE(command.connection.json);
}

TEST(command_line, x_flags_carry_java_settings_over_the_command_config) {
  const auto file = ::testing::TempDir() + "/x-flags-" + std::to_string(::getpid()) + ".properties";
  std::ofstream(file) << "linger.ms=5\nclient.id=from-file\nmax.poll.records=10\n";
  auto command = parse({"produce", "--topic", "t", "--bootstrap-server", "k:9092",
                        "--command-config", file, "-X", "linger.ms=20", "-Xclient.id=from-x"});
  const auto& properties = command.connection.properties;
  EXPECT_EQ(properties.at("linger.ms"), "20") << "-X wins over the file";
  EXPECT_EQ(properties.at("max.poll.records"), "10");
  EXPECT_EQ(command.connection.client.client_id, "from-x") << "connection settings apply at once";
  EXPECT_NE(usage_message({"topics", "list", "--bootstrap-server", "k:9092", "-X", "lingerms=1"})
                .find("did you mean 'linger.ms'?"),
            std::string::npos);
  std::filesystem::remove(file);
}

TEST(command_line, run_is_a_static_member_by_default_and_takes_membership_flags) {
  auto defaults = parse({"run", "pipeline.yaml", "--bootstrap-server", "k:9092"});
  const auto& plain = std::get<run_args>(defaults.args);
  EXPECT_FALSE(plain.dynamic_membership);
  EXPECT_FALSE(plain.stay_in_group_on_stop);
  EXPECT_EQ(plain.session_timeout_ms, 0);
  EXPECT_EQ(plain.replication_factor, -1);
  EXPECT_EQ(plain.group_protocol, "consumer");

  auto command =
      parse({"run", "pipeline.yaml", "--bootstrap-server", "k:9092", "--dynamic-membership",
             "--session-timeout-ms", "10000", "--stay-in-group-on-stop", "--replication-factor",
             "3", "--group-protocol", "classic"});
  const auto& args = std::get<run_args>(command.args);
  EXPECT_TRUE(args.dynamic_membership);
  EXPECT_TRUE(args.stay_in_group_on_stop);
  EXPECT_EQ(args.session_timeout_ms, 10'000);
  EXPECT_EQ(args.replication_factor, 3);
  EXPECT_EQ(args.group_protocol, "classic");
  EXPECT_NE(usage_message({"run", "pipeline.yaml", "--bootstrap-server", "k:9092",
                           "--group-protocol", "eager"})
                .find("--group-protocol: 'eager'"),
            std::string::npos);
  // Kept for scripts written when static membership was opt-in.
  EXPECT_NO_THROW(
      parse({"run", "pipeline.yaml", "--bootstrap-server", "k:9092", "--static-membership"}));
  EXPECT_NE(usage_message({"run", "pipeline.yaml", "--bootstrap-server", "k:9092",
                           "--session-timeout-ms", "-5"})
                .find("--session-timeout-ms"),
            std::string::npos);
}

TEST(command_line, run_takes_several_pipeline_files) {
  auto command =
      parse({"run", "a.yaml", "b.yaml", "--bootstrap-server", "k:9092", "--memory-mb", "64"});
  EXPECT_EQ(std::get<run_args>(command.args).files, (std::vector<std::string>{"a.yaml", "b.yaml"}));
  EXPECT_EQ(std::get<run_args>(parse({"run", "a.yaml", "--bootstrap-server", "k:9092"}).args).files,
            std::vector<std::string>{"a.yaml"});
}

TEST(command_line, describe_draws_the_graph_in_the_format_asked) {
  using pipelines::describe_format;
  EXPECT_EQ(std::get<pipeline_file_args>(parse({"describe", "p.yaml"}).args).format,
            describe_format::text);
  EXPECT_EQ(
      std::get<pipeline_file_args>(parse({"describe", "p.yaml", "--format", "dot"}).args).format,
      describe_format::dot);
  EXPECT_EQ(std::get<pipeline_file_args>(parse({"describe", "p.yaml", "--json"}).args).format,
            describe_format::json);
  EXPECT_NE(
      usage_message({"describe", "p.yaml", "--format", "svg"}).find("--format svg: unknown format"),
      std::string::npos);
  EXPECT_NE(usage_message({"validate", "p.yaml", "--format", "dot"})
                .find("unrecognised option '--format'"),
            std::string::npos);
}

TEST(command_line, run_takes_a_number_of_stream_threads) {
  EXPECT_EQ(
      std::get<run_args>(parse({"run", "p.yaml", "--bootstrap-server", "k:9092"}).args).threads, 1);
  EXPECT_EQ(std::get<run_args>(
                parse({"run", "p.yaml", "--bootstrap-server", "k:9092", "--threads", "4"}).args)
                .threads,
            4);
  EXPECT_NE(usage_message({"run", "p.yaml", "--bootstrap-server", "k:9092", "--threads", "0"})
                .find("--threads must be from 1 to 256, not 0"),
            std::string::npos);
}

TEST(command_line, run_serves_metrics_only_when_asked) {
  EXPECT_EQ(std::get<run_args>(parse({"run", "p.yaml", "--bootstrap-server", "k:9092"}).args)
                .metrics_port,
            -1);
  auto command = parse({"run", "p.yaml", "--bootstrap-server", "k:9092", "--metrics-port", "9464",
                        "--metrics-address", "127.0.0.1"});
  const auto& args = std::get<run_args>(command.args);
  EXPECT_EQ(args.metrics_port, 9464);
  EXPECT_EQ(args.metrics_address, "127.0.0.1");
  EXPECT_NE(
      usage_message({"run", "p.yaml", "--bootstrap-server", "k:9092", "--metrics-port", "70000"})
          .find("--metrics-port must be from 0 to 65535"),
      std::string::npos);
}

TEST(command_line, every_command_has_help) {
  for (auto words : std::vector<std::vector<std::string>>{{"cluster"},
                                                          {"topics", "create"},
                                                          {"topics", "list"},
                                                          {"topics", "describe"},
                                                          {"topics", "alter"},
                                                          {"topics", "delete"},
                                                          {"groups", "list"},
                                                          {"groups", "describe"},
                                                          {"groups", "delete"},
                                                          {"groups", "reset-offsets"}}) {
    words.push_back("--help");
    auto command = parse(words);
    EXPECT_NE(command.help.find("--bootstrap-server"), std::string::npos) << words[0];
    EXPECT_NE(command.help.find("--timeout-ms"), std::string::npos) << words[0];
  }
  EXPECT_NE(parse({}).help.find("Commands:"), std::string::npos);
  EXPECT_NE(parse({"topics"}).help.find("topics create"), std::string::npos);
  EXPECT_NE(parse({"topics", "create", "--help"}).help.find("--replication-factor"),
            std::string::npos);
}

TEST(command_line, bad_input_names_the_option) {
  EXPECT_NE(
      usage_message({"topics", "create", "--topic", "t"}).find("--bootstrap-server is required"),
      std::string::npos);
  EXPECT_NE(
      usage_message({"topics", "create", "--bootstrap-server", "k:1"}).find("--topic is required"),
      std::string::npos);
  EXPECT_NE(usage_message({"topics", "create", "--bootstrap-server", "k:1", "--topic", "t",
                           "--partitions", "x"})
                .find("--partitions"),
            std::string::npos);
  EXPECT_NE(usage_message({"topics", "create", "--bootstrap-server", "k:1", "--topic", "t",
                           "--partitions", "0"})
                .find("--partitions must be at least 1"),
            std::string::npos);
  EXPECT_NE(usage_message({"topics", "create", "--bootstrap-server", "k:1", "--topic", "t",
                           "--config", "novalue"})
                .find("KEY=VALUE"),
            std::string::npos);
  EXPECT_NE(
      usage_message({"topics", "create", "--bootstrap-server", "k:1", "--topic", "t", "--bogus"})
          .find("bogus"),
      std::string::npos);
  EXPECT_NE(usage_message({"topics", "list", "--bootstrap-server", "nohostport"})
                .find("--bootstrap-server"),
            std::string::npos);
  EXPECT_NE(usage_message({"topics", "list", "--bootstrap-server", "k:1", "--timeout-ms", "0"})
                .find("--timeout-ms"),
            std::string::npos);
  EXPECT_NE(
      usage_message({"topics", "frobnicate", "--bootstrap-server", "k:1"}).find("unknown command"),
      std::string::npos);
  EXPECT_NE(usage_message({"nonsense"}).find("unknown command 'nonsense'"), std::string::npos);
  EXPECT_NE(usage_message({"topics", "list", "--bootstrap-server", "k:1", "--command-config",
                           "/no/such/file"})
                .find("/no/such/file"),
            std::string::npos);
  EXPECT_NE(usage_message(
                {"topics", "list", "--bootstrap-server", "k:1", "--security-protocol", "SASL_SSL"})
                .find("--sasl-username"),
            std::string::npos);
  EXPECT_NE(
      usage_message({"topics", "list", "--bootstrap-server", "k:1", "--sasl-mechanism", "GSSAPI"})
          .find("GSSAPI"),
      std::string::npos);
}

TEST(command_line, explicit_security_flags_apply) {
  auto command =
      parse({"cluster", "--bootstrap-server", "k:9093", "--security-protocol", "SASL_SSL",
             "--sasl-mechanism", "SCRAM-SHA-256", "--sasl-username", "u", "--sasl-password", "p",
             "--tls-ca-file", "/ca.pem", "--no-hostname-verification", "--client-id", "ops"});
  const auto& client = command.connection.client;
  EXPECT_EQ(client.security.protocol, kafka::security_protocol::sasl_ssl);
  EXPECT_EQ(client.security.sasl.mechanism, kafka::sasl_mechanism::scram_sha_256);
  EXPECT_EQ(client.security.sasl.username, "u");
  EXPECT_EQ(client.security.tls.ca_file, "/ca.pem");
  EXPECT_FALSE(client.security.tls.verify_hostname);
  EXPECT_EQ(client.client_id, "ops");
}

// A dedicated flag wins over the file wherever the properties are applied again: every command
// and the runtime apply connection_settings::properties to the clients they make.
TEST(command_line, dedicated_flags_win_over_the_command_config) {
  const auto file =
      ::testing::TempDir() + "/flags-over-file-" + std::to_string(::getpid()) + ".properties";
  std::ofstream(file)
      << "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
      << "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
         "username=\"file-user\" password=\"file-password\";\n"
      << "ssl.truststore.type=PEM\nssl.truststore.location=/file-ca.pem\n";
  auto command = parse({"topics", "list", "--bootstrap-server", "k:9093", "--command-config", file,
                        "--sasl-password", "flag-password", "--tls-ca-file", "/flag-ca.pem"});
  for (const auto* properties_applied : {"at parse", "again"}) {
    kafka::client_config client = command.connection.client;
    if (std::string(properties_applied) == "again")
      apply_properties(command.connection.properties, client, "test");
    EXPECT_EQ(client.security.sasl.username, "file-user") << properties_applied;
    EXPECT_EQ(client.security.sasl.password, "flag-password") << properties_applied;
    EXPECT_EQ(client.security.tls.ca_file, "/flag-ca.pem") << properties_applied;
  }
  std::filesystem::remove(file);
}

TEST(command_line, topics_alter_needs_a_change) {
  EXPECT_NE(usage_message({"topics", "alter", "--bootstrap-server", "k:1", "--topic", "t"})
                .find("nothing to change"),
            std::string::npos);
  EXPECT_NE(usage_message({"topics", "alter", "--bootstrap-server", "k:1", "--topic", "t",
                           "--config", "a=1", "--delete-config", "a"})
                .find("both set"),
            std::string::npos);
  auto command = parse({"topics", "alter", "--bootstrap-server", "k:1", "--topic", "t",
                        "--partitions", "4", "--delete-config", "retention.ms"});
  const auto& args = std::get<topics_alter_args>(command.args);
  EXPECT_EQ(args.partitions, 4);
  EXPECT_EQ(args.delete_configs, std::vector<std::string>{"retention.ms"});
}

TEST(command_line, reset_offsets_takes_exactly_one_scenario) {
  const std::vector<std::string> base{"groups", "reset-offsets", "--bootstrap-server",
                                      "k:1",    "--group",       "g"};
  auto with = [&](std::vector<std::string> more) {
    auto args = base;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  EXPECT_NE(usage_message(with({"--topic", "t"})).find("one of --to-earliest"), std::string::npos);
  EXPECT_NE(usage_message(with({"--topic", "t", "--to-earliest", "--to-offset", "3"}))
                .find("cannot be used together"),
            std::string::npos);
  EXPECT_NE(usage_message(with({"--to-earliest"})).find("--topic, --all-topics"),
            std::string::npos);
  EXPECT_NE(usage_message(with({"--topic", "t", "--all-topics", "--to-earliest"}))
                .find("cannot be used together"),
            std::string::npos);
  EXPECT_NE(usage_message(with({"--topic", "t", "--to-earliest", "--execute", "--dry-run"}))
                .find("cannot be used"),
            std::string::npos);
  EXPECT_NE(
      usage_message(with({"--topic", "t", "--to-datetime", "yesterday"})).find("--to-datetime"),
      std::string::npos);

  auto command =
      parse(with({"--topic", "a", "--topic", "b:0,2", "--to-offset", "42", "--execute"}));
  const auto& args = std::get<groups_reset_offsets_args>(command.args);
  EXPECT_EQ(args.group, "g");
  ASSERT_EQ(args.topics.size(), 2u);
  EXPECT_TRUE(args.topics[0].partitions.empty());
  EXPECT_EQ(args.topics[1].partitions, (std::vector<std::int32_t>{0, 2}));
  EXPECT_EQ(args.target.what, reset_target::kind::offset);
  EXPECT_EQ(args.target.value, 42);
  EXPECT_TRUE(args.execute);
  auto dry = parse(with({"--all-topics", "--shift-by", "-5"}));
  EXPECT_FALSE(std::get<groups_reset_offsets_args>(dry.args).execute);
  EXPECT_EQ(std::get<groups_reset_offsets_args>(dry.args).target.value, -5);
}

TEST(command_line, topic_selections) {
  EXPECT_EQ(parse_topic_selection("orders").topic, "orders");
  EXPECT_EQ(parse_topic_selection("orders:3").partitions, std::vector<std::int32_t>{3});
  EXPECT_THROW(parse_topic_selection("orders:"), usage_error);
  EXPECT_THROW(parse_topic_selection("orders:a"), usage_error);
  EXPECT_THROW(parse_topic_selection("orders:1,-2"), usage_error);
  EXPECT_THROW(parse_topic_selection(":1"), usage_error);
}

TEST(command_line, datetimes) {
  EXPECT_EQ(parse_datetime("1970-01-01T00:00:00"), 0);
  EXPECT_EQ(parse_datetime("1970-01-01T00:00:00.5Z"), 500);
  EXPECT_EQ(parse_datetime("2023-11-14T22:13:20.000Z"), 1'700'000'000'000);
  EXPECT_EQ(parse_datetime("2023-11-15T00:13:20+02:00"), 1'700'000'000'000);
  EXPECT_EQ(parse_datetime("2023-11-14T20:13:20.123-02:00"), 1'700'000'000'123);
  EXPECT_EQ(parse_datetime("2024-02-29T12:00:00Z"), 1'709'208'000'000);
  EXPECT_THROW(parse_datetime("2024-02-29"), usage_error);
  EXPECT_THROW(parse_datetime("2024-13-01T00:00:00"), usage_error);
  EXPECT_THROW(parse_datetime("2024-01-01T00:00:00+0200"), usage_error);
  EXPECT_THROW(parse_datetime("2024-01-01T00:00:00Zjunk"), usage_error);
}

TEST(reset_plan, follows_kafka_consumer_groups) {
  const partition_position position{10, 50, 30, std::nullopt};
  EXPECT_EQ(plan_reset({reset_target::kind::earliest, 0}, position, "t-0"), 10);
  EXPECT_EQ(plan_reset({reset_target::kind::latest, 0}, position, "t-0"), 50);
  EXPECT_EQ(plan_reset({reset_target::kind::offset, 20}, position, "t-0"), 20);
  EXPECT_EQ(plan_reset({reset_target::kind::offset, 5}, position, "t-0"), 10);    // below earliest
  EXPECT_EQ(plan_reset({reset_target::kind::offset, 500}, position, "t-0"), 50);  // past the end
  EXPECT_EQ(plan_reset({reset_target::kind::shift_by, -5}, position, "t-0"), 25);
  EXPECT_EQ(plan_reset({reset_target::kind::shift_by, -100}, position, "t-0"), 10);
  EXPECT_EQ(plan_reset({reset_target::kind::shift_by, 100}, position, "t-0"), 50);
  EXPECT_EQ(plan_reset({reset_target::kind::datetime, 0}, position, "t-0"),
            50);  // no record that late
  partition_position timed = position;
  timed.at_time = 42;
  EXPECT_EQ(plan_reset({reset_target::kind::datetime, 0}, timed, "t-0"), 42);
  partition_position uncommitted = position;
  uncommitted.committed.reset();
  EXPECT_THROW(plan_reset({reset_target::kind::shift_by, 1}, uncommitted, "t-0"), usage_error);
}

TEST(table, aligns_columns) {
  table rows({"A", "LONGER"});
  rows.add({"wide-cell", "x"});
  rows.add({"b", ""});
  std::ostringstream out;
  rows.print(out);
  EXPECT_EQ(out.str(), "A          LONGER\nwide-cell  x\nb\n");
  EXPECT_THROW(rows.add({"only-one"}), std::invalid_argument);
}

TEST(format_uuid, matches_kafkas_base64_form) {
  kafka::protocol::uuid id;
  EXPECT_EQ(format_uuid(id), "AAAAAAAAAAAAAAAAAAAAAA");
  for (std::size_t i = 0; i < 16; ++i) id.value[i] = static_cast<std::uint8_t>(0xff);
  EXPECT_EQ(format_uuid(id), "_____________________w");
}

TEST(run, prints_usage_errors_and_exits_2) {
  std::ostringstream out, err;
  EXPECT_EQ(run({"topics", "create", "--topic", "t"}, out, err), 2);
  EXPECT_NE(err.str().find("--bootstrap-server is required"), std::string::npos) << err.str();
  EXPECT_TRUE(out.str().empty());
  std::ostringstream help, none;
  EXPECT_EQ(run({"groups", "reset-offsets", "--help"}, help, none), 0);
  EXPECT_NE(help.str().find("--to-datetime"), std::string::npos);
}

}  // namespace
}  // namespace sluice::cli
