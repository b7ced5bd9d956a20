#pragma once

// The pipeline commands of `sluice`: validate, describe and test (offline, no broker), run (a
// pipeline against the cluster until SIGINT/SIGTERM) and reset (drop a pipeline's group, internal
// topics and local state, so that it starts over).

#include <boost/asio/awaitable.hpp>
#include <ostream>

#include "pipelines/cli/command_line.hpp"
#include "pipelines/cli/command_runners.hpp"
#include "pipelines/cli/commands.hpp"

namespace sluice::kafka {
class admin_client;
}

namespace sluice::cli {

// validate | describe | test FILE, offline: each prints its result and returns the exit status.
int run_validate_pipeline(const command_line& command, std::ostream& out, std::ostream& err);
int run_describe_pipeline(const command_line& command, std::ostream& out, std::ostream& err);
int run_pipeline_file_tests(const command_line& command, std::ostream& out, std::ostream& err);
// run FILE: blocks until the pipeline stops (a signal, or a fatal error: status 1).
int run_pipeline(const command_line& command, std::ostream& out, std::ostream& err);
// reset FILE: prints what it deletes; deletes only with --execute.
boost::asio::awaitable<int> run_reset(kafka::admin_client* admin, reset_args args, printer print);

}  // namespace sluice::cli
