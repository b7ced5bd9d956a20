#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "kafka/net/broker_address.hpp"
#include "kafka/net/connection.hpp"
#include "kafka/net/security_config.hpp"

namespace sluice::kafka {

// Settings every Kafka client (admin, producer, consumer) shares. Defaults are the Java client's.
struct client_config {
  std::vector<broker_address> bootstrap_servers;
  std::string client_id = "sluice";
  security_config security;
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds metadata_max_age{300'000};
  std::chrono::milliseconds reconnect_backoff{50};
  std::chrono::milliseconds reconnect_backoff_max{1'000};
  std::chrono::milliseconds retry_backoff{100};

  connection_options connection() const {
    return {client_id, security, connect_timeout, request_timeout};
  }
};

}  // namespace sluice::kafka
