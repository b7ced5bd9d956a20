#pragma once

// The `sluice` commands as one table: each row says a command's name, what it takes before its
// options, its summary for the usage text, its options, the validation that turns the parsed
// options into its args, and the function that runs it. parse_command_line(), usage(), every
// command's --help and run() are all driven by this table, so a command is added or changed in
// one row (and the functions it names), never in a chain of name comparisons.
// Internal to pipelines/cli.

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>
#include <cstdint>
#include <istream>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pipelines/cli/command_line.hpp"

namespace sluice::cli {

// What a command takes before its options.
enum class file_arguments : std::uint8_t {
  none,
  one,   // a pipeline file: `sluice validate FILE`
  many,  // one or more pipeline files: `sluice run FILE...`
};

// Where usage() lists the command.
enum class command_section : std::uint8_t { cluster, pipelines };

// A command's options as parsed, with what validation needs to check them.
struct parsed_options {
  std::string command;  // "topics create"
  boost::program_options::variables_map values;
  std::vector<std::string> files;  // the pipeline files, for commands that take them
  // The connection (commands that connect: checked and complete; offline ones: only `json`).
  connection_settings connection;

  // Whether the option was given on the command line (a bool switch only when set).
  bool given(const char* option) const;
  // Throws usage_error unless the option was given.
  void require(const char* option) const;
  // Throws usage_error when more than one of the options was given, or, with one_required, none.
  void exclusive(const std::vector<const char*>& options, bool one_required) const;
  // The option's value, or `fallback` when it was not given.
  template <typename T>
  T get(const char* option, T fallback) const {
    auto it = values.find(option);
    return it == values.end() || it->second.empty() ? fallback : it->second.as<T>();
  }
};

struct command_spec {
  std::string_view name;  // one word, or a group and a word: "topics create"
  file_arguments files;
  std::string_view summary;  // for usage(); a second line may follow a '\n'
  command_section section;
  // false: offline; the connection options are accepted (one shell alias fits every command) and
  // ignored, and its --help leaves them out.
  bool connects;
  // Declares the command's own options (the connection options are added for every command).
  void (*options)(boost::program_options::options_description& options);
  // Checks the parsed options and builds the command's args; throws usage_error naming the option.
  command_args (*validate)(const parsed_options& parsed);
  // Runs the parsed command; returns the exit status. Throws usage_error for bad input found late.
  int (*run)(const command_line& command, std::istream& in, std::ostream& out, std::ostream& err);
};

// Every command, in the order usage() lists them.
std::span<const command_spec> command_table();
// The row named `name` ("topics create"), or nullptr.
const command_spec* find_command(std::string_view name);
// Whether `word` is the first word of two-word commands ("topics", "groups").
bool is_command_group(std::string_view word);

}  // namespace sluice::cli
