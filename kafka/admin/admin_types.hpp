#pragma once

// The plain structs the admin client takes and returns. They hold no connection state and are
// cheap to copy, print or serialise; `kafka/admin/admin_client.hpp` fills them from the generated
// protocol messages.
//
// Per-item outcomes: a request that names several topics, groups or partitions may succeed for
// some and fail for others. Each item then carries Kafka's error code and message
// (`item_error`), so that one bad topic never hides what happened to the rest; `throw_if_failed`
// turns an item's error into a kafka_error naming the item.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kafka/client/cluster_metadata.hpp"
#include "kafka/client/isolation_level.hpp"
#include "kafka/client/topic_partition.hpp"
#include "kafka/protocol/error_code.hpp"
#include "kafka/protocol/wire.hpp"

namespace sluice::kafka {

// Kafka's error code and message for one item of a batched request.
struct item_error {
  error_code code = error_code::none;
  std::string message;  // the broker's message, or the code's description when it sent none

  bool ok() const { return code == error_code::none; }
  // Throws kafka_error("<what>: <message>") when the item failed.
  void throw_if_failed(const std::string& what) const;
};

// An item's error from a response's code and (nullable) message; the code's description stands in
// for a missing message.
item_error make_item_error(std::int16_t code,
                           const std::optional<std::string>& message = std::nullopt);

// ---- topics ----------------------------------------------------------------------------------

struct new_topic {
  std::string name;
  // -1 for both takes the broker's num.partitions / default.replication.factor (KIP-464).
  std::int32_t partitions = -1;
  std::int16_t replication_factor = -1;
  std::map<std::string, std::string> configs;
  // Explicit replica placement, partition -> broker ids; when given, partitions and
  // replication_factor must stay -1 (Kafka rejects both together).
  std::map<std::int32_t, std::vector<std::int32_t>> replica_assignment;
};

enum class config_source : std::int8_t {
  unknown = 0,
  dynamic_topic_config = 1,
  dynamic_broker_config = 2,
  dynamic_default_broker_config = 3,
  static_broker_config = 4,
  default_config = 5,
  dynamic_broker_logger_config = 6,
  client_metrics_config = 7,
  group_config = 8,
};
const char* to_string(config_source source) noexcept;

struct config_entry {
  std::string name;
  std::optional<std::string> value;  // nullopt for sensitive values and unset ones
  config_source source = config_source::unknown;
  bool read_only = false;
  bool sensitive = false;
  bool is_default() const { return source == config_source::default_config; }
};

struct create_topic_result {
  std::string name;
  protocol::uuid id;
  item_error error;
  // What the broker created (v5+, KIP-525): the resolved partition count, replication factor
  // and the topic's effective configs.
  std::int32_t partitions = -1;
  std::int16_t replication_factor = -1;
  std::vector<config_entry> configs;
};

struct topic_result {
  std::string name;
  item_error error;
};

struct topic_listing {
  std::string name;
  protocol::uuid id;
  bool internal = false;
  std::int32_t partitions = 0;
};

struct topic_description {
  std::string name;
  protocol::uuid id;
  bool internal = false;
  std::vector<partition_info> partitions;  // ordered by partition index
  item_error error;
};

// ---- the cluster -----------------------------------------------------------------------------

struct cluster_description {
  std::string cluster_id;
  std::int32_t controller_id = -1;
  std::vector<broker_info> brokers;  // ordered by node id
};

// One API as the broker offers it and as this build negotiates it with that broker.
struct api_version_info {
  std::int16_t api_key = 0;
  std::string name;
  std::int16_t broker_min = 0;
  std::int16_t broker_max = 0;
  std::optional<std::int16_t> sluice_min;  // nullopt: this build does not use the API
  std::optional<std::int16_t> sluice_max;
  std::optional<std::int16_t> negotiated;  // nullopt: unsupported here, or no common version
};

struct broker_api_versions {
  std::int32_t node_id = -1;
  std::string address;
  std::vector<api_version_info> apis;  // ordered by API key
};

// ---- configs ---------------------------------------------------------------------------------

enum class config_resource_type : std::int8_t {
  unknown = 0,
  topic = 2,
  broker = 4,
  broker_logger = 8,
  client_metrics = 16,  // KIP-714
  group = 32,           // KIP-848
};
const char* to_string(config_resource_type type) noexcept;

struct config_resource {
  config_resource_type type = config_resource_type::topic;
  std::string name;  // topic name, broker id ("" for the cluster-wide broker default), group id

  auto operator<=>(const config_resource&) const = default;
};

struct config_description {
  config_resource resource;
  item_error error;
  std::vector<config_entry> entries;

  const config_entry* find(const std::string& name) const;
};

// IncrementalAlterConfigs operations (KIP-339).
enum class alter_config_op : std::int8_t { set = 0, remove = 1, append = 2, subtract = 3 };

struct config_alteration {
  std::string name;
  alter_config_op op = alter_config_op::set;
  std::optional<std::string> value;  // ignored for remove
};

struct alter_configs_result {
  config_resource resource;
  item_error error;
};

// ---- groups ----------------------------------------------------------------------------------

struct group_listing {
  std::string group_id;
  std::string protocol_type;  // "consumer" for consumer groups, "" for groups with only offsets
  std::string state;          // "Empty", "Stable", ... (ListGroups v4+)
  std::string type;           // "classic" or "consumer" (ListGroups v5+, KIP-848)
};

struct group_member {
  std::string member_id;
  std::optional<std::string> group_instance_id;  // static membership (KIP-345)
  std::string client_id;
  std::string client_host;
  // Decoded from the consumer protocol (empty for other protocol types).
  std::vector<std::string> subscribed_topics;
  std::vector<topic_partition> assignment;
};

struct group_description {
  std::string group_id;
  item_error error;
  std::string state;
  std::string protocol_type;
  std::string protocol;  // the assignor ("range", "cooperative-sticky", "uniform")
  std::string type;      // "classic", or "consumer" for the KIP-848 protocol
  std::int32_t coordinator_id = -1;
  std::vector<group_member> members;
};

struct group_result {
  std::string group_id;
  item_error error;
};

struct committed_offset {
  std::int64_t offset = -1;  // -1: nothing committed
  std::int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  item_error error;
};

// ---- offsets and records ---------------------------------------------------------------------

// Which offset ListOffsets looks up (KIP-734 adds max_timestamp).
struct offset_spec {
  enum class kind : std::uint8_t { earliest, latest, max_timestamp, timestamp };
  kind what = kind::latest;
  std::int64_t timestamp_ms = 0;  // for kind::timestamp: the first offset with a timestamp >= it

  static offset_spec earliest() { return {kind::earliest, 0}; }
  static offset_spec latest() { return {kind::latest, 0}; }
  static offset_spec max_timestamp() { return {kind::max_timestamp, 0}; }
  static offset_spec at(std::int64_t timestamp_ms) { return {kind::timestamp, timestamp_ms}; }
  // The special timestamp ListOffsets sends for this spec (-2 earliest, -1 latest, -3 max).
  std::int64_t wire_timestamp() const;
};

struct listed_offset {
  std::int64_t offset = -1;     // -1 when no record matches a timestamp query
  std::int64_t timestamp = -1;  // the record's timestamp for timestamp / max_timestamp queries
  std::int32_t leader_epoch = -1;
  item_error error;
};

struct deleted_records {
  std::int64_t low_watermark = -1;  // the partition's new earliest offset
  item_error error;
};

}  // namespace sluice::kafka
