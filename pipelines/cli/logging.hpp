#pragma once

// The tool's log lines (the clients' and the runtime's spdlog output): `--log-level` and
// `--log-format text|json`. JSON is one object per line, for log shippers:
//   {"time":"2026-12-03T17:48:53.123Z","level":"info","message":"..."}

#include <string>

namespace sluice::cli {

struct logging_settings {
  std::string level = "info";   // trace, debug, info, warn, error, critical, off
  std::string format = "text";  // text or json
};

// Throws usage_error naming the option for a level or format it does not know.
void check_logging(const logging_settings& settings);

// Sends the log to stderr (commands whose stdout carries records) or stdout, in the format and
// from the level given.
void configure_logging(const logging_settings& settings, bool to_stderr);

}  // namespace sluice::cli
