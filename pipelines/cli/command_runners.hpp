#pragma once

// Internal to pipelines/cli: the coroutines behind each cluster command, run by
// execute_on_cluster() (commands.cpp) on one single-threaded io_context. The command table
// (command_table.cpp) names one of them in each cluster command's row.

#include <boost/asio/awaitable.hpp>
#include <ostream>

#include "kafka/admin/admin_client.hpp"
#include "pipelines/cli/command_line.hpp"
#include "pipelines/cli/printer.hpp"

namespace sluice::cli {

boost::asio::awaitable<int> run_cluster(kafka::admin_client* admin, cluster_args args,
                                        printer print);

// topics_command.cpp
boost::asio::awaitable<int> run_topics_create(kafka::admin_client* admin, topics_create_args args,
                                              printer print);
boost::asio::awaitable<int> run_topics_list(kafka::admin_client* admin, topics_list_args args,
                                            printer print);
boost::asio::awaitable<int> run_topics_describe(kafka::admin_client* admin,
                                                topics_describe_args args, printer print);
boost::asio::awaitable<int> run_topics_alter(kafka::admin_client* admin, topics_alter_args args,
                                             printer print);
boost::asio::awaitable<int> run_topics_delete(kafka::admin_client* admin, topics_delete_args args,
                                              printer print);

// groups_command.cpp
boost::asio::awaitable<int> run_groups_list(kafka::admin_client* admin, groups_list_args args,
                                            printer print);
boost::asio::awaitable<int> run_groups_describe(kafka::admin_client* admin,
                                                groups_describe_args args, printer print);
boost::asio::awaitable<int> run_groups_delete(kafka::admin_client* admin, groups_delete_args args,
                                              printer print);
boost::asio::awaitable<int> run_groups_reset_offsets(kafka::admin_client* admin,
                                                     groups_reset_offsets_args args, printer print);

// A cluster command's coroutine, given the parsed args.
using admin_command = boost::asio::awaitable<int> (*)(kafka::admin_client* admin, command_args args,
                                                      printer print);

// Connects (the command's settings and properties) and runs `what` against the cluster. Never
// takes longer than the command's timeout plus a short grace period, even when the cluster does
// not answer. Returns the exit status; failures are printed to `err`.
int execute_on_cluster(const command_line& command, admin_command what, std::ostream& out,
                       std::ostream& err);

}  // namespace sluice::cli
