#include "pipelines/cli/commands.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <future>
#include <iostream>

#include "kafka/admin/admin_client.hpp"
#include "pipelines/cli/command_runners.hpp"
#include "pipelines/cli/command_table.hpp"
#include "pipelines/cli/logging.hpp"
#include "pipelines/cli/properties.hpp"
#include "pipelines/cli/table.hpp"

namespace sluice::cli {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Time past the command's own timeout before execute() stops waiting: the admin client gives up by
// itself at the timeout; this only guards against a call that would not.
constexpr std::chrono::seconds grace{5};

std::string optional_version(const std::optional<std::int16_t>& version) {
  return version ? std::to_string(*version) : "-";
}

std::string version_range(std::int16_t min, std::int16_t max) {
  return min == max ? std::to_string(min) : std::to_string(min) + "-" + std::to_string(max);
}

asio::awaitable<int> start_and_run(kafka::admin_client* admin, admin_command what,
                                   command_args args, printer print) {
  co_await admin->start();
  co_return co_await what(admin, std::move(args), print);
}

}  // namespace

std::string format_uuid(const kafka::protocol::uuid& id) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (auto byte : id.value) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(buffer >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += alphabet[(buffer << (6 - bits)) & 0x3F];
  return out;
}

asio::awaitable<int> run_cluster(kafka::admin_client* admin, cluster_args args, printer print) {
  auto description = co_await admin->describe_cluster();
  std::vector<kafka::broker_api_versions> versions;
  for (const auto& broker : description.brokers) {
    if (args.broker && *args.broker != broker.node_id) continue;
    versions.push_back(co_await admin->api_versions(kafka::node_id{broker.node_id}));
  }
  if (args.broker && versions.empty()) {
    *print.err << "error: broker " << *args.broker << " is not in the cluster\n";
    co_return static_cast<int>(exit_status::failed);
  }
  if (print.json) {
    json::object root;
    root["cluster_id"] = description.cluster_id;
    root["controller_id"] = description.controller_id;
    json::array brokers;
    for (const auto& broker : description.brokers) {
      json::object b;
      b["id"] = broker.node_id;
      b["host"] = broker.host;
      b["port"] = broker.port;
      b["rack"] = broker.rack ? json::value(*broker.rack) : json::value(nullptr);
      brokers.push_back(std::move(b));
    }
    root["brokers"] = std::move(brokers);
    json::array per_broker;
    for (const auto& broker : versions) {
      json::object entry;
      entry["broker"] = broker.node_id;
      entry["address"] = broker.address;
      json::array apis;
      for (const auto& api : broker.apis) {
        json::object a;
        a["key"] = api.api_key;
        a["name"] = api.name;
        a["broker_min"] = api.broker_min;
        a["broker_max"] = api.broker_max;
        a["sluice_min"] = api.sluice_min ? json::value(*api.sluice_min) : json::value(nullptr);
        a["sluice_max"] = api.sluice_max ? json::value(*api.sluice_max) : json::value(nullptr);
        a["negotiated"] = api.negotiated ? json::value(*api.negotiated) : json::value(nullptr);
        apis.push_back(std::move(a));
      }
      entry["apis"] = std::move(apis);
      per_broker.push_back(std::move(entry));
    }
    root["api_versions"] = std::move(per_broker);
    *print.out << json::serialize(root) << '\n';
    co_return 0;
  }
  auto& out = *print.out;
  out << "Cluster id:  " << description.cluster_id << '\n';
  out << "Controller:  " << description.controller_id << '\n';
  out << "\nBrokers:\n";
  table brokers({"ID", "HOST", "PORT", "RACK"});
  for (const auto& broker : description.brokers) {
    brokers.add({std::to_string(broker.node_id), broker.host, std::to_string(broker.port),
                 broker.rack.value_or("-")});
  }
  brokers.print(out);
  for (const auto& broker : versions) {
    out << "\nAPI versions of broker " << broker.node_id << " (" << broker.address
        << "): offered by the broker, supported by Sluice, negotiated\n";
    table apis({"KEY", "API", "BROKER", "SLUICE", "NEGOTIATED"});
    for (const auto& api : broker.apis) {
      apis.add({std::to_string(api.api_key), api.name,
                version_range(api.broker_min, api.broker_max),
                api.sluice_min ? version_range(*api.sluice_min, *api.sluice_max) : "-",
                optional_version(api.negotiated)});
    }
    apis.print(out);
  }
  co_return 0;
}

int execute_on_cluster(const command_line& command, admin_command what, std::ostream& out,
                       std::ostream& err) {
  for (const auto& warning :
       apply_command_properties(command.connection.properties, {}, command.command))
    err << "warning: " << warning << '\n';
  asio::io_context context;
  kafka::cluster cluster(context.get_executor(), command.connection.client);
  kafka::admin_client admin(cluster, {command.connection.timeout});
  printer print{&out, &err, command.connection.json};
  auto result =
      asio::co_spawn(context, start_and_run(&admin, what, command.args, print), asio::use_future);
  // Run until the command is done (the connections' read loops keep the context busy for ever, so
  // not until it runs out of work), or until the deadline.
  const auto deadline = std::chrono::steady_clock::now() + command.connection.timeout + grace;
  while (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready &&
         context.run_one_until(deadline) > 0) {
  }
  // Closing the connections ends their read loops; let them finish before the context goes.
  const auto shut_down = [&] {
    cluster.close();
    context.run_for(std::chrono::milliseconds(500));
  };
  if (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    err << "error: sluice " << command.command << ": no answer from the cluster within "
        << command.connection.timeout.count() << " ms\n";
    shut_down();
    return static_cast<int>(exit_status::failed);
  }
  int status = static_cast<int>(exit_status::failed);
  try {
    status = result.get();
  } catch (const usage_error& e) {
    err << "error: " << e.what() << '\n';
    status = static_cast<int>(exit_status::usage);
  } catch (const kafka::kafka_error& e) {
    err << "error: " << e.what() << '\n';
  } catch (const std::exception& e) {
    err << "error: sluice " << command.command << ": " << e.what() << '\n';
  }
  shut_down();
  return status;
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return run(args, std::cin, out, err);
}

int run(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
        std::ostream& err) {
  command_line command;
  try {
    command = parse_command_line(args);
  } catch (const usage_error& e) {
    err << "error: " << e.what() << '\n';
    return static_cast<int>(exit_status::usage);
  }
  if (!command.help.empty()) {
    out << command.help;
    return static_cast<int>(exit_status::ok);
  }
  try {
    return find_command(command.command)->run(command, in, out, err);
  } catch (const usage_error& e) {
    err << "error: " << e.what() << '\n';
    return static_cast<int>(exit_status::usage);
  }
}

}  // namespace sluice::cli
