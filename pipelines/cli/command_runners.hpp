#pragma once

// Internal to pipelines/cli: the coroutines behind each command, run by execute() in
// commands.cpp on one single-threaded io_context.

#include <boost/asio/awaitable.hpp>
#include <ostream>

#include "kafka/admin/admin_client.hpp"
#include "pipelines/cli/command_line.hpp"

namespace sluice::cli {

// Where a command prints, and in which form.
struct printer {
  std::ostream* out;
  std::ostream* err;
  bool json;
};

boost::asio::awaitable<int> run_cluster(kafka::admin_client* admin, cluster_args args,
                                        printer print);
boost::asio::awaitable<int> run_topics(kafka::admin_client* admin, command_args args,
                                       printer print);
boost::asio::awaitable<int> run_groups(kafka::admin_client* admin, command_args args,
                                       printer print);

}  // namespace sluice::cli
