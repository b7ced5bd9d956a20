#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kafka/client/client_config.hpp"
#include "kafka/client/cluster_metadata.hpp"
#include "kafka/client/identifiers.hpp"
#include "kafka/net/connection.hpp"

namespace sluice::kafka {

enum class coordinator_type : std::int8_t { group = 0, transaction = 1 };

// The client's view of one Kafka cluster: bootstrap, a metadata cache, one connection per broker
// (opened lazily, re-opened with exponential backoff and jitter after a failure), routing to a
// node, a partition's leader, the controller or a coordinator.
//
// Metadata is refreshed on demand (`refresh_metadata`, after errors the classifier sends there)
// and whenever a caller routes with a cache older than metadata_max_age.
//
// Threading: the cluster and its connections run on the executor given to the constructor, which
// must be single-threaded (an io_context run by one thread, or a strand). Lifetime: `close()`
// before destruction closes every connection; requests in flight then fail, and until the next
// `start()` no connection is opened again (a retry still running in some coroutine fails at once
// instead of leaving a connection that nobody closes).
class cluster {
 public:
  cluster(asio::any_io_executor executor, client_config config);
  ~cluster();
  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  // Connects to the first bootstrap server that answers and loads broker metadata. Throws
  // kafka_error(connect_failed) naming every address tried and why it failed.
  asio::awaitable<void> start();
  void close();

  const client_config& config() const { return config_; }
  asio::any_io_executor executor() const { return executor_; }
  const cluster_metadata& metadata() const { return metadata_; }

  // Refreshes brokers and the given topics (nullopt: every topic; empty: brokers only) and merges
  // them into the cache.
  asio::awaitable<const cluster_metadata*> refresh_metadata(
      std::optional<std::vector<std::string>> topics);
  // The cached topic, refreshed first if unknown or stale; nullptr if the cluster lacks it.
  asio::awaitable<const topic_info*> topic(std::string name);

  asio::awaitable<std::shared_ptr<connection>> connection_to(node_id broker);
  // A connection to some live broker (an open one if there is one).
  asio::awaitable<std::shared_ptr<connection>> any_connection();
  asio::awaitable<std::shared_ptr<connection>> controller_connection();
  // The coordinator node for a group id or transactional id (FindCoordinator, KIP-699 batched
  // form when the broker supports it).
  asio::awaitable<node_id> find_coordinator(coordinator_type type, std::string key);

  template <typename Request>
  asio::awaitable<typename Request::response_type> send_to(node_id broker, Request request) {
    auto target = co_await connection_to(broker);
    co_return co_await target->send(std::move(request));
  }
  template <typename Request>
  asio::awaitable<typename Request::response_type> send_to_any(Request request) {
    auto target = co_await any_connection();
    co_return co_await target->send(std::move(request));
  }
  template <typename Request>
  asio::awaitable<typename Request::response_type> send_to_controller(Request request) {
    auto target = co_await controller_connection();
    co_return co_await target->send(std::move(request));
  }

 private:
  struct node_connection {
    std::shared_ptr<connection> open;
    int failures = 0;
    std::chrono::steady_clock::time_point next_attempt{};
  };

  asio::awaitable<std::shared_ptr<connection>> open_connection(broker_address address,
                                                               node_connection& slot);
  asio::awaitable<void> refresh_if_stale();
  asio::awaitable<void> refresh_brokers();
  // Throws when close() came first; keeps `opened` otherwise. Closes `opened` when it throws.
  void refuse_if_closed(const std::shared_ptr<connection>& opened) const;

  asio::any_io_executor executor_;
  client_config config_;
  cluster_metadata metadata_;
  std::shared_ptr<connection> bootstrap_;
  std::map<std::int32_t, node_connection> nodes_;
  bool closed_ = false;
};

}  // namespace sluice::kafka
