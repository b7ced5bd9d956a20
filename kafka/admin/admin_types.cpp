#include "kafka/admin/admin_types.hpp"

namespace sluice::kafka {

void item_error::throw_if_failed(const std::string& what) const {
  if (ok()) return;
  throw kafka_error(code, what + (message.empty() ? "" : ": " + message));
}

item_error make_item_error(std::int16_t code, const std::optional<std::string>& message) {
  item_error error;
  error.code = static_cast<error_code>(code);
  if (code == 0) return error;
  if (message && !message->empty()) {
    error.message = *message;
  } else {
    error.message = error_name(error.code) + ": " + std::string(error_description(error.code));
  }
  return error;
}

const char* to_string(config_source source) noexcept {
  switch (source) {
    case config_source::unknown:
      return "UNKNOWN";
    case config_source::dynamic_topic_config:
      return "DYNAMIC_TOPIC_CONFIG";
    case config_source::dynamic_broker_config:
      return "DYNAMIC_BROKER_CONFIG";
    case config_source::dynamic_default_broker_config:
      return "DYNAMIC_DEFAULT_BROKER_CONFIG";
    case config_source::static_broker_config:
      return "STATIC_BROKER_CONFIG";
    case config_source::default_config:
      return "DEFAULT_CONFIG";
    case config_source::dynamic_broker_logger_config:
      return "DYNAMIC_BROKER_LOGGER_CONFIG";
    case config_source::client_metrics_config:
      return "CLIENT_METRICS_CONFIG";
    case config_source::group_config:
      return "GROUP_CONFIG";
  }
  return "UNKNOWN";
}

const char* to_string(config_resource_type type) noexcept {
  switch (type) {
    case config_resource_type::unknown:
      return "unknown";
    case config_resource_type::topic:
      return "topic";
    case config_resource_type::broker:
      return "broker";
    case config_resource_type::broker_logger:
      return "broker-logger";
    case config_resource_type::client_metrics:
      return "client-metrics";
    case config_resource_type::group:
      return "group";
  }
  return "unknown";
}

const config_entry* config_description::find(const std::string& name) const {
  for (const auto& entry : entries) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

std::int64_t offset_spec::wire_timestamp() const {
  // ListOffsets' special timestamps (ListOffsetsRequest.EARLIEST_TIMESTAMP etc.).
  switch (what) {
    case kind::earliest:
      return -2;
    case kind::latest:
      return -1;
    case kind::max_timestamp:
      return -3;  // KIP-734
    case kind::timestamp:
      return timestamp_ms;
  }
  return -1;
}

}  // namespace sluice::kafka
