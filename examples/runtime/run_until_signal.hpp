#pragma once

// What the runtime examples share: run a pipeline graph as one process of its application until
// SIGINT or SIGTERM, then stop cleanly (the last commit made, the group left). State lives under
// the runtime's default state directory.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_future.hpp>
#include <csignal>
#include <string>

#include "operators/function_registry.hpp"
#include "operators/topology.hpp"
#include "runtime/stream_app.hpp"

namespace examples {

// Throws what stopped the app, if anything did before the signal.
inline void run_until_signal(const std::string& bootstrap, sluice::operators::topology topology,
                             const sluice::operators::function_registry& registry) {
  namespace asio = boost::asio;
  sluice::runtime::runtime_config config;
  config.client.bootstrap_servers = sluice::kafka::parse_bootstrap_servers(bootstrap);
  asio::io_context context;
  sluice::runtime::stream_app stream(context.get_executor(), std::move(topology), config, registry);
  asio::signal_set signals(context, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& error, int) {
    if (!error) stream.request_stop();
  });
  auto done = asio::co_spawn(context, stream.run(), asio::use_future);
  context.run();
  done.get();
}

}  // namespace examples
