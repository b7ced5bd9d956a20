#pragma once

// The `sluice` commands as functions: parse, connect, run, print. main() only forwards argv, so
// every command is testable in-process (tests/pipelines/cli) as well as through the binary. Which
// commands there are, and what runs each, is the command table (command_table.hpp).

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "pipelines/cli/command_line.hpp"

namespace sluice::cli {

// Exit statuses, as Kafka's tools and the shell expect them.
enum class exit_status : int { ok = 0, failed = 1, usage = 2 };

// Runs `sluice <args>` (argv without the program name). Results go to `out`, errors and warnings
// to `err`.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// The same, reading `sluice produce`'s input from `in` instead of std::cin.
int run(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
        std::ostream& err);

// Kafka's text form of a topic id: URL-safe base64 without padding (Uuid.toString()).
std::string format_uuid(const kafka::protocol::uuid& id);

}  // namespace sluice::cli
