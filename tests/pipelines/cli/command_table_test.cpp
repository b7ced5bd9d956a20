// The command table drives parsing, usage, --help and dispatch: every row must be reachable by its
// name, listed in the usage text, and answer --help with its own options; anything else is an
// unknown command that names itself.
#include "pipelines/cli/command_table.hpp"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "pipelines/cli/commands.hpp"

namespace sluice::cli {
namespace {

namespace po = boost::program_options;

// The words a person types for a command: "topics create" is two.
std::vector<std::string> words_of(std::string_view name) {
  std::vector<std::string> words;
  std::istringstream in{std::string(name)};
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

std::string usage_message(const std::vector<std::string>& args) {
  try {
    parse_command_line(args);
  } catch (const usage_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no usage error";
  return {};
}

TEST(command_table, names_are_unique_and_found) {
  std::set<std::string_view> names;
  for (const auto& spec : command_table()) {
    EXPECT_TRUE(names.insert(spec.name).second) << spec.name;
    EXPECT_EQ(find_command(spec.name), &spec) << spec.name;
  }
  EXPECT_EQ(find_command("topics"), nullptr);
  EXPECT_EQ(find_command("frobnicate"), nullptr);
  EXPECT_TRUE(is_command_group("topics"));
  EXPECT_TRUE(is_command_group("groups"));
  EXPECT_FALSE(is_command_group("produce"));
}

TEST(command_table, usage_lists_every_command_with_its_summary) {
  const auto text = usage();
  for (const auto& spec : command_table()) {
    EXPECT_NE(text.find("  " + std::string(spec.name)), std::string::npos) << spec.name;
    const auto first_line = spec.summary.substr(0, spec.summary.find('\n'));
    EXPECT_NE(text.find(std::string(first_line)), std::string::npos) << spec.name;
  }
  // Cluster commands before the pipeline section, pipeline commands after its heading.
  const auto pipelines_heading = text.find("Pipelines (");
  ASSERT_NE(pipelines_heading, std::string::npos);
  EXPECT_LT(text.find("  topics create"), pipelines_heading);
  EXPECT_GT(text.find("  run FILE..."), pipelines_heading);
  EXPECT_GT(text.find("  validate FILE"), pipelines_heading);
}

TEST(command_table, every_row_answers_help_with_its_own_options) {
  for (const auto& spec : command_table()) {
    auto args = words_of(spec.name);
    args.push_back("--help");
    const auto command = parse_command_line(args);
    EXPECT_EQ(command.help.rfind("Usage: sluice " + std::string(spec.name), 0), 0u)
        << spec.name << ":\n"
        << command.help;
    po::options_description own;
    spec.options(own);
    for (const auto& option : own.options()) {
      EXPECT_NE(command.help.find("--" + option->long_name()), std::string::npos)
          << spec.name << " --" << option->long_name();
    }
    // Commands that connect show the connection options; offline ones say they ignore them.
    EXPECT_EQ(command.help.find("--bootstrap-server") != std::string::npos, spec.connects)
        << spec.name;
  }
}

TEST(command_table, help_shows_the_files_a_command_takes) {
  EXPECT_NE(parse_command_line({"run", "--help"}).help.find("Usage: sluice run FILE... [options]"),
            std::string::npos);
  EXPECT_NE(parse_command_line({"validate", "--help"}).help.find("Usage: sluice validate FILE"),
            std::string::npos);
  EXPECT_NE(parse_command_line({"cluster", "--help"}).help.find("Usage: sluice cluster [options]"),
            std::string::npos);
}

TEST(command_table, unknown_commands_name_themselves_and_list_the_table) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"frobnicate"}, {"topics", "frobnicate"}, {"groups", "rename"}, {"Topics", "list"}}) {
    std::string name = args[0];
    if (args[0] != "Topics" && args.size() > 1) name += " " + args[1];
    const auto message = usage_message(args);
    EXPECT_NE(message.find("unknown command '" + name + "'"), std::string::npos) << message;
    EXPECT_NE(message.find("  topics create"), std::string::npos) << message;
  }
}

TEST(command_table, a_group_alone_prints_the_usage) {
  EXPECT_EQ(parse_command_line({"topics"}).help, usage());
  EXPECT_EQ(parse_command_line({"groups", "--help"}).help, usage());
  EXPECT_EQ(parse_command_line({"help"}).help, usage());
}

TEST(command_table, pipeline_commands_need_their_file) {
  for (const auto& spec : command_table()) {
    if (spec.files == file_arguments::none) continue;
    auto args = words_of(spec.name);
    args.insert(args.end(), {"--bootstrap-server", "k:9092"});
    EXPECT_NE(usage_message(args).find("the pipeline file is missing"), std::string::npos)
        << spec.name;
  }
}

TEST(command_table, run_through_the_table_reports_usage_errors_with_status_2) {
  std::ostringstream out, err;
  EXPECT_EQ(run({"topics", "frobnicate"}, out, err), static_cast<int>(exit_status::usage));
  EXPECT_NE(err.str().find("unknown command 'topics frobnicate'"), std::string::npos);
  std::ostringstream help_out, help_err;
  EXPECT_EQ(run({"consume", "--help"}, help_out, help_err), static_cast<int>(exit_status::ok));
  EXPECT_NE(help_out.str().find("--from-beginning"), std::string::npos);
}

// The flags of issue 15: standby replicas (default: the pipeline file's), failure detection and
// the lag under which a copy of a task counts as caught up.
TEST(command_table, run_takes_standby_replicas_and_failure_detection_flags) {
  const std::vector<std::string> run_pipeline{"run", "p.yaml", "--bootstrap-server", "k:9092"};
  const auto defaults = std::get<run_args>(parse_command_line(run_pipeline).args);
  EXPECT_EQ(defaults.standby_replicas, -1) << "unset: the pipeline file decides";
  EXPECT_EQ(defaults.heartbeat_interval_ms, 0);
  EXPECT_EQ(defaults.acceptable_recovery_lag, 10'000);

  auto given = run_pipeline;
  given.insert(given.end(), {"--standby-replicas", "2", "--heartbeat-interval-ms", "500",
                             "--acceptable-recovery-lag", "0", "--session-timeout-ms", "6000"});
  const auto args = std::get<run_args>(parse_command_line(given).args);
  EXPECT_EQ(args.standby_replicas, 2);
  EXPECT_EQ(args.heartbeat_interval_ms, 500);
  EXPECT_EQ(args.acceptable_recovery_lag, 0);
  EXPECT_EQ(args.session_timeout_ms, 6000);
  auto zero_standbys = run_pipeline;
  zero_standbys.insert(zero_standbys.end(), {"--standby-replicas", "0"});
  EXPECT_EQ(std::get<run_args>(parse_command_line(zero_standbys).args).standby_replicas, 0)
      << "0 given overrides a file's standby_replicas";
}

TEST(command_table, run_refuses_bad_standby_and_failure_detection_values) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused{
      {{"--standby-replicas", "-1"}, "--standby-replicas must be from 0 to 16, not -1"},
      {{"--standby-replicas", "17"}, "--standby-replicas must be from 0 to 16, not 17"},
      {{"--standby-replicas", "one"}, "--standby-replicas"},
      {{"--acceptable-recovery-lag", "-1"}, "--acceptable-recovery-lag must be 0 or more, not -1"},
      {{"--acceptable-recovery-lag", "lots"}, "--acceptable-recovery-lag"},
      {{"--heartbeat-interval-ms", "-100"}, "--heartbeat-interval-ms must be positive, not -100"},
  };
  for (const auto& [flag, message] : refused) {
    std::vector<std::string> args{"run", "p.yaml", "--bootstrap-server", "k:9092"};
    args.insert(args.end(), flag.begin(), flag.end());
    const auto error = usage_message(args);
    EXPECT_NE(error.find(message), std::string::npos) << flag[0] << " " << flag[1] << ": " << error;
  }
}

}  // namespace
}  // namespace sluice::cli
