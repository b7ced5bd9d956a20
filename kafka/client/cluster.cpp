#include "kafka/client/cluster.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "kafka/protocol/messages/find_coordinator.hpp"
#include "kafka/protocol/messages/metadata.hpp"

namespace sluice::kafka {

namespace {

using clock = std::chrono::steady_clock;

kafka_error not_found(const std::string& what) {
  return kafka_error(make_error_code(net_error::connect_failed), what, true);
}

// Exponential backoff with +-20% jitter, so many clients that lost a broker together do not all
// reconnect in the same millisecond.
std::chrono::milliseconds backoff(const client_config& config, int failures) {
  static thread_local std::mt19937 random{std::random_device{}()};
  auto base = config.reconnect_backoff.count() << std::min(failures, 16);
  auto capped = std::min<std::int64_t>(base, config.reconnect_backoff_max.count());
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(capped) * jitter(random)));
}

void merge(cluster_metadata& cache, protocol::metadata_response& response, bool all_topics) {
  cache.brokers.clear();
  for (auto& broker : response.brokers) {
    cache.brokers[broker.node_id] = {broker.node_id, std::move(broker.host), broker.port,
                                     std::move(broker.rack)};
  }
  if (response.cluster_id) cache.cluster_id = *response.cluster_id;
  cache.controller_id = response.controller_id;
  if (all_topics) cache.topics.clear();
  for (auto& topic : response.topics) {
    if (!topic.name) continue;
    topic_info info;
    info.name = *topic.name;
    info.id = topic.topic_id;
    info.internal = topic.is_internal;
    info.error = static_cast<error_code>(topic.error_code);
    for (auto& partition : topic.partitions) {
      info.partitions.push_back(
          {partition.partition_index, partition.leader_id, partition.leader_epoch,
           std::move(partition.replica_nodes), std::move(partition.isr_nodes),
           std::move(partition.offline_replicas), static_cast<error_code>(partition.error_code)});
    }
    std::sort(info.partitions.begin(), info.partitions.end(),
              [](const auto& a, const auto& b) { return a.partition < b.partition; });
    if (info.error == error_code::unknown_topic_or_partition) {
      cache.topics.erase(info.name);
    } else {
      cache.topics[info.name] = std::move(info);
    }
  }
  cache.fetched_at = clock::now();
}

}  // namespace

cluster::cluster(asio::any_io_executor executor, client_config config)
    : executor_(std::move(executor)), config_(std::move(config)) {}

cluster::~cluster() {
  close();
}

void cluster::close() {
  closed_ = true;
  if (bootstrap_) bootstrap_->close();
  for (auto& [id, node] : nodes_) {
    if (node.open) node.open->close();
  }
}

asio::awaitable<void> cluster::start() {
  if (config_.bootstrap_servers.empty()) {
    throw kafka_error(make_error_code(net_error::bad_configuration), "no bootstrap servers given",
                      false);
  }
  closed_ = false;
  std::string failures;
  for (const auto& address : config_.bootstrap_servers) {
    try {
      bootstrap_ = co_await connection::open(executor_, address, config_.connection());
      break;
    } catch (const kafka_error& e) {
      // Authentication and version problems will not get better on another bootstrap server.
      if (!e.retriable()) throw;
      failures += (failures.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  if (!bootstrap_) throw not_found("cannot reach any bootstrap server (" + failures + ")");
  co_await refresh_brokers();
}

asio::awaitable<const cluster_metadata*> cluster::refresh_metadata(
    std::optional<std::vector<std::string>> topics) {
  protocol::metadata_request request;
  request.allow_auto_topic_creation = false;
  const bool all_topics = !topics.has_value();
  if (topics) {
    auto& requested = request.topics.emplace();
    for (auto& name : *topics) requested.push_back({.name = std::move(name)});
  }
  // Metadata is safe to repeat: a broker that dies under the request (connection closed) costs a
  // retry on another one, not the caller's start-up. Every known broker and bootstrap server gets
  // its chance; the failed connection is closed, so any_connection() moves on.
  const std::size_t attempts = 2 + metadata_.brokers.size() + config_.bootstrap_servers.size();
  for (std::size_t attempt = 1;; ++attempt) {
    std::optional<kafka_error> failure;
    try {
      auto response = co_await send_to_any(request);
      merge(metadata_, response, all_topics);
      co_return &metadata_;
    } catch (const kafka_error& e) {
      if (!e.retriable() || closed_ || attempt >= attempts) throw;
      failure = e;
    }
    spdlog::debug("cluster: Metadata failed ({}); trying another broker", failure->what());
    asio::steady_timer pause(executor_, config_.retry_backoff);
    co_await pause.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> cluster::refresh_brokers() {
  std::optional<std::vector<std::string>> no_topics(std::in_place);
  co_await refresh_metadata(std::move(no_topics));
}

asio::awaitable<void> cluster::refresh_if_stale() {
  if (clock::now() - metadata_.fetched_at > config_.metadata_max_age) {
    std::vector<std::string> known;
    for (const auto& [name, topic] : metadata_.topics) known.push_back(name);
    co_await refresh_metadata(std::move(known));
  }
}

asio::awaitable<const topic_info*> cluster::topic(std::string name) {
  co_await refresh_if_stale();
  if (const auto* cached = metadata_.topic(name)) co_return cached;
  // (A named vector: GCC 12 miscompiles an initializer list inside a co_await expression.)
  std::vector<std::string> wanted(1, name);
  co_await refresh_metadata(std::move(wanted));
  co_return metadata_.topic(name);
}

void cluster::refuse_if_closed(const std::shared_ptr<connection>& opened) const {
  if (!closed_) return;
  if (opened) opened->close();
  throw kafka_error(make_error_code(net_error::connection_closed), "the client was closed", false);
}

asio::awaitable<std::shared_ptr<connection>> cluster::open_connection(broker_address address,
                                                                      node_connection& slot) {
  refuse_if_closed(nullptr);
  if (auto wait = slot.next_attempt - clock::now(); wait > clock::duration::zero()) {
    asio::steady_timer timer(executor_, wait);
    co_await timer.async_wait(asio::use_awaitable);
  }
  try {
    auto opened = co_await connection::open(executor_, address, config_.connection());
    refuse_if_closed(opened);
    slot.failures = 0;
    // Two callers may have opened a connection to this node at the same time: keep the first and
    // close the other, so that no connection (and its read loop) outlives close().
    if (slot.open && slot.open->is_open()) {
      opened->close();
      co_return slot.open;
    }
    slot.open = opened;
    co_return slot.open;
  } catch (const kafka_error&) {
    slot.next_attempt = clock::now() + backoff(config_, slot.failures++);
    throw;
  }
}

asio::awaitable<std::shared_ptr<connection>> cluster::connection_to(kafka::node_id broker_id) {
  const auto node_id = broker_id.value();
  auto& slot = nodes_[node_id];
  if (slot.open && slot.open->is_open()) co_return slot.open;
  auto broker = metadata_.brokers.find(node_id);
  if (broker == metadata_.brokers.end()) {
    co_await refresh_brokers();
    broker = metadata_.brokers.find(node_id);
    if (broker == metadata_.brokers.end()) {
      throw not_found("broker " + std::to_string(node_id) + " is not in the cluster's metadata");
    }
  }
  broker_address address{broker->second.host, static_cast<std::uint16_t>(broker->second.port),
                         node_id};
  co_return co_await open_connection(std::move(address), nodes_[node_id]);
}

asio::awaitable<std::shared_ptr<connection>> cluster::any_connection() {
  for (auto& [id, slot] : nodes_) {
    if (slot.open && slot.open->is_open()) co_return slot.open;
  }
  if (bootstrap_ && bootstrap_->is_open()) co_return bootstrap_;
  std::string failures;
  for (const auto& [id, broker] : metadata_.brokers) {
    try {
      co_return co_await connection_to(node_id{id});
    } catch (const kafka_error& e) {
      if (!e.retriable()) throw;
      failures += (failures.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  // Every known broker is gone: start over from the bootstrap list.
  refuse_if_closed(nullptr);
  for (const auto& address : config_.bootstrap_servers) {
    try {
      auto opened = co_await connection::open(executor_, address, config_.connection());
      refuse_if_closed(opened);
      bootstrap_ = std::move(opened);
      co_return bootstrap_;
    } catch (const kafka_error& e) {
      if (!e.retriable()) throw;
      failures += (failures.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  throw not_found("cannot reach any broker (" + failures + ")");
}

asio::awaitable<std::shared_ptr<connection>> cluster::controller_connection() {
  co_await refresh_if_stale();
  if (metadata_.controller_id < 0) co_await refresh_brokers();
  if (metadata_.controller_id < 0) co_return co_await any_connection();
  co_return co_await connection_to(node_id{metadata_.controller_id});
}

asio::awaitable<node_id> cluster::find_coordinator(coordinator_type type, std::string key) {
  auto target = co_await any_connection();
  protocol::find_coordinator_request request;
  request.key_type = static_cast<std::int8_t>(type);
  const auto version = target->required_version(protocol::api_key::find_coordinator);
  // From v4 the request carries a batch of keys (KIP-699); before, a single key.
  if (version >= 4) {
    request.coordinator_keys.push_back(key);
  } else {
    request.key_ = key;
  }
  auto response = co_await target->send(std::move(request), version);
  auto code = response.error_code;
  auto node = response.node_id;
  std::optional<std::string> message = response.error_message;
  if (version >= 4) {
    if (response.coordinators.empty()) {
      throw kafka_error(make_error_code(net_error::protocol_violation),
                        "FindCoordinator answered no coordinator", true);
    }
    const auto& coordinator = response.coordinators.front();
    code = coordinator.error_code;
    node = coordinator.node_id;
    message = coordinator.error_message;
    metadata_.brokers.try_emplace(
        node, broker_info{node, coordinator.host, coordinator.port, std::nullopt});
  } else {
    metadata_.brokers.try_emplace(node,
                                  broker_info{node, response.host, response.port, std::nullopt});
  }
  if (code != 0) {
    throw kafka_error(static_cast<error_code>(code),
                      std::string("find the ") +
                          (type == coordinator_type::group ? "group" : "transaction") +
                          " coordinator for '" + key + "'" + (message ? ": " + *message : ""));
  }
  co_return node_id{node};
}

}  // namespace sluice::kafka
