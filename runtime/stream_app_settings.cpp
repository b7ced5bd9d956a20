#include <spdlog/spdlog.h>

#include <set>
#include <stdexcept>

#include "kafka/properties/client_properties.hpp"
#include "operators/topology_validation.hpp"
#include "runtime/stream_app_impl.hpp"

namespace sluice::runtime {

stream_app::impl::impl(stream_app& owner, asio::any_io_executor executor,
                       operators::topology topology, runtime_config config,
                       const operators::function_registry& registry)
    : owner(owner),
      executor(executor),
      topology(std::move(topology)),
      config(std::move(config)),
      registry(registry) {
  auto problems = operators::validate_topology(this->topology, registry);
  if (!problems.empty()) {
    std::string message = "pipeline '" + this->topology.name + "' is not valid:";
    for (const auto& problem : problems) message += "\n  " + problem.path + ": " + problem.message;
    throw std::invalid_argument(message);
  }
  check_clusters();
  take_client_properties(connection_of(this->topology.home_cluster()).properties);
  choose_group_protocol();
  plan = operators::plan_topology(this->topology);
  if (this->config.dead_letter_topic.empty())
    this->config.dead_letter_topic = this->topology.name + "-dead-letter";
  app_dir = this->config.state_dir / this->topology.name;
}

// The connection of a cluster the topology names; "" is the default one (config.client).
runtime_config::cluster_connection& stream_app::impl::connection_of(const std::string& cluster) {
  if (cluster.empty()) {
    if (!default_connection)
      default_connection = runtime_config::cluster_connection{config.client, config.properties};
    return *default_connection;
  }
  return config.clusters.at(cluster);
}

// Every cluster the sources, tables and sinks name has a connection, whose settings are checked.
void stream_app::impl::check_clusters() {
  std::set<std::string> named;
  for (const auto& source : topology.sources) named.insert(source.cluster);
  for (const auto& table : topology.tables) named.insert(table.cluster);
  for (const auto* sink : topology.every_sink()) named.insert(sink->cluster);
  named.erase("");
  for (const auto& name : named) {
    auto found = config.clusters.find(name);
    if (found == config.clusters.end()) {
      throw std::invalid_argument("pipeline '" + topology.name + "': cluster '" + name +
                                  "' has no connection settings (runtime_config::clusters)");
    }
    check_client_properties(found->second.properties);
  }
  check_client_properties(config.properties);
}

void stream_app::impl::check_client_properties(const runtime_config::client_properties& p) {
  static const std::set<std::string> owned = {"group.id", "group.instance.id", "enable.auto.commit",
                                              "isolation.level", "transactional.id"};
  for (const auto* part : {&p.all, &p.consumer, &p.producer, &p.admin}) {
    for (const auto& [name, value] : *part) {
      if (owned.contains(name)) {
        throw std::invalid_argument(
            "client property '" + name +
            "' is set by the runtime (the group is the pipeline's name; the "
            "instance id and the delivery guarantee decide the rest); remove it");
      }
      kafka::check_property_name(name);
    }
  }
}

// Standbys need the runtime's task assignor, which only the classic protocol lets a client run.
void stream_app::impl::choose_group_protocol() {
  if (config.standby_replicas < 0) {
    throw std::invalid_argument("pipeline '" + topology.name +
                                "': standby replicas must be 0 or more, not " +
                                std::to_string(config.standby_replicas));
  }
  if (config.standby_replicas > 0 &&
      config.group_protocol == kafka::group_protocol_type::consumer) {
    spdlog::info(
        "{}: {} standby replica(s): using the classic group protocol, whose assignment the "
        "runtime's "
        "task assignor decides (the consumer protocol's coordinator assigns by itself)",
        topology.name, config.standby_replicas);
    config.group_protocol = kafka::group_protocol_type::classic;
  }
}

// Moves the two settings the runtime itself acts on from the home cluster's properties into
// config.
void stream_app::impl::take_client_properties(runtime_config::client_properties& p) {
  kafka::consumer_config probe;
  for (auto* part : {&p.all, &p.consumer}) {
    for (const auto* name : {"group.protocol", "session.timeout.ms"}) {
      auto it = part->find(name);
      if (it == part->end()) continue;
      kafka::apply_property({.consumer = &probe}, it->first, it->second);
      if (it->first == "group.protocol") config.group_protocol = probe.group_protocol;
      if (it->first == "session.timeout.ms") config.session_timeout = probe.session_timeout;
      part->erase(it);
    }
  }
}

// The user's settings over the runtime's defaults; one that no client of its part uses is logged.
void stream_app::impl::apply_client_properties(const runtime_config::client_properties& p,
                                               kafka::consumer_config& consumer_config,
                                               kafka::producer_config& producer_config) {
  for (const auto& [name, value] : p.consumer)
    kafka::apply_property({.consumer = &consumer_config}, name, value);
  for (const auto& [name, value] : p.producer)
    kafka::apply_property({.producer = &producer_config}, name, value);
  for (const auto& [name, value] : p.all) {  // last: the command line wins over the pipeline file
    const bool consumer_took = kafka::apply_property({.consumer = &consumer_config}, name, value);
    const bool producer_took = kafka::apply_property({.producer = &producer_config}, name, value);
    if (!consumer_took && !producer_took)
      spdlog::warn("{}: client property '{}' is not used; ignored", topology.name, name);
  }
}

kafka::client_config stream_app::impl::admin_config_of(
    const runtime_config::cluster_connection& connection) const {
  auto admin_config = connection.client;
  for (const auto* part : {&connection.properties.admin, &connection.properties.all}) {
    for (const auto& [name, value] : *part)
      kafka::apply_property({.client = &admin_config}, name, value);
  }
  return admin_config;
}

}  // namespace sluice::runtime
