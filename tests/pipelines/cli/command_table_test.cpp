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

}  // namespace
}  // namespace sluice::cli
