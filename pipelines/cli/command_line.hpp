#pragma once

// `sluice` command lines, parsed into plain structs (no I/O), so that parsing and bad input are
// unit-tested without a broker. Commands and options follow Kafka's own tools (kafka-topics,
// kafka-consumer-groups): --bootstrap-server, --command-config, --topic, --group, --partitions,
// --replication-factor, --config, --to-earliest, --execute, ...

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "kafka/admin/admin_types.hpp"
#include "kafka/client/client_config.hpp"
#include "kafka/records/record.hpp"
#include "pipelines/cli/logging.hpp"
#include "pipelines/cli/properties.hpp"
#include "pipelines/spec/describe_graph.hpp"

namespace sluice::cli {

// How to reach the cluster, and how to print.
struct connection_settings {
  kafka::client_config client;
  // Bounds each admin call, retries included, and connecting to an unreachable cluster.
  std::chrono::milliseconds timeout{15'000};
  bool json = false;
  // Every client setting by its Java name, from --command-config and -X (-X wins); the connection
  // ones are in `client` already, each command applies the rest to the clients it makes
  // (apply_command_properties).
  std::map<std::string, std::string> properties;
  logging_settings logging;
};

struct cluster_args {
  std::optional<std::int32_t> broker;  // API versions of this broker only (default: every broker)
};

struct topics_create_args {
  std::string topic;
  std::int32_t partitions = -1;          // -1: the broker's num.partitions
  std::int16_t replication_factor = -1;  // -1: the broker's default.replication.factor
  std::map<std::string, std::string> configs;
  bool validate_only = false;
  bool if_not_exists = false;
};

struct topics_list_args {
  bool exclude_internal = false;
};

struct topics_describe_args {
  std::vector<std::string> topics;  // empty: every topic
  bool exclude_internal = false;
};

struct topics_delete_args {
  std::vector<std::string> topics;
  bool if_exists = false;
};

struct topics_alter_args {
  std::string topic;
  std::optional<std::int32_t> partitions;
  std::map<std::string, std::string> set_configs;
  std::vector<std::string> delete_configs;
  bool validate_only = false;
};

struct groups_list_args {};

struct groups_describe_args {
  std::vector<std::string> groups;
};

struct groups_delete_args {
  std::vector<std::string> groups;
};

// Where reset-offsets moves each partition (kafka-consumer-groups' scenarios).
struct reset_target {
  enum class kind : std::uint8_t { earliest, latest, offset, datetime, shift_by };
  kind what = kind::earliest;
  std::int64_t value = 0;  // the offset, the timestamp (ms since the epoch) or the shift
};

// A --topic argument: "orders" (every partition) or "orders:0,2".
struct topic_selection {
  std::string topic;
  std::vector<std::int32_t> partitions;  // empty: every partition
};

struct groups_reset_offsets_args {
  std::string group;
  std::vector<topic_selection> topics;
  bool all_topics = false;
  reset_target target;
  bool execute = false;  // false: dry run, print the plan only
};

// validate | describe | test FILE: offline, no connection.
struct pipeline_file_args {
  std::string file;
  pipelines::describe_format format = pipelines::describe_format::text;  // describe only
};

struct run_args {
  std::vector<std::string> files;  // one or more pipelines, run together in this process
  std::string state_dir = "/tmp/sluice-state";
  std::string instance_id;              // empty: a random id kept in the state directory
  std::string on_error = "stop";        // stop | skip | dead-letter
  bool dynamic_membership = false;      // default static (KIP-345): a restart keeps its partitions
  std::int64_t session_timeout_ms = 0;  // 0: the consumer's default (45 s)
  std::int64_t heartbeat_interval_ms = 0;         // 0: a fifth of the session timeout, at most 3 s
  int standby_replicas = -1;                      // -1: the pipeline file's (default 0)
  std::int64_t acceptable_recovery_lag = 10'000;  // a copy this close to the freshest is caught up
  std::string group_protocol = "consumer";        // consumer (KIP-848) or classic
  bool stay_in_group_on_stop = false;  // a static member keeps its partitions over a clean stop
  std::int64_t memory_mb = 512;        // RocksDB: one block cache + memtables for the whole process
  std::int16_t replication_factor = -1;  // of the topics the pipeline creates; -1: broker default
  std::int32_t metrics_port = -1;        // -1: no HTTP endpoint; 0: any free port
  std::string metrics_address = "0.0.0.0";
  int threads = 1;  // stream threads per pipeline, each its own group member (num.stream.threads)
  bool decode_thread = true;  // each stream thread decodes its input ahead on a helper thread
};

struct reset_args {
  std::string file;
  std::string state_dir = "/tmp/sluice-state";
  bool execute = false;  // false: dry run, print what would be deleted
};

// produce: stdin lines to a topic (Kafka's console producer, kcat -P).
struct produce_args {
  std::string topic;
  std::string key_separator;  // empty: no keys, the whole line is the value
  std::optional<std::int32_t> partition;
  std::vector<kafka::records::record_header> headers;  // on every record
  std::string acks = "all";
  std::string compression = "none";
  std::optional<std::string> transactional_id;  // all of stdin in one transaction
  bool verbose = false;                         // the record count to stderr at the end
};

// Where `sluice consume` starts in each partition when it is not in a group.
struct start_position {
  enum class kind : std::uint8_t { latest, earliest, offset, timestamp };
  kind what = kind::latest;
  std::int64_t value = 0;  // the offset, or the timestamp (ms since the epoch)
};

// consume: records to stdout, one per line (Kafka's console consumer, kcat -C).
struct consume_args {
  std::vector<std::string> topics;
  std::string pattern;  // a regex over topic names, instead of topics
  std::string group;    // empty: assign every partition, commit nothing
  std::optional<std::int32_t> partition;
  start_position start;
  std::optional<std::int64_t> max_messages;
  // Exit after this long without a record; nullopt: run until SIGINT/SIGTERM or max_messages.
  std::optional<std::chrono::milliseconds> idle_timeout;
  std::string isolation_level = "read_uncommitted";
  std::string format = "%v";
  bool verbose = false;  // the record count to stderr at the end
};

using command_args =
    std::variant<cluster_args, topics_create_args, topics_list_args, topics_describe_args,
                 topics_delete_args, topics_alter_args, groups_list_args, groups_describe_args,
                 groups_delete_args, groups_reset_offsets_args, pipeline_file_args, run_args,
                 reset_args, produce_args, consume_args>;

struct command_line {
  std::string command;  // "cluster", "topics create", ...
  std::string help;     // non-empty when --help was asked for (or no command given): print, exit 0
  connection_settings connection;
  command_args args;
};

// Parses argv without the program name. Throws usage_error naming the bad option or value.
// --command-config is read here (its errors are usage errors too).
command_line parse_command_line(const std::vector<std::string>& args);

// The top-level usage text.
std::string usage();

// Parsers for single values, exposed for tests.
topic_selection parse_topic_selection(const std::string& text);
// "YYYY-MM-DDTHH:MM:SS[.sss][Z|+HH:MM|-HH:MM]" to milliseconds since the epoch; no zone means UTC.
std::int64_t parse_datetime(const std::string& text);
// "key=value" (value may contain '='); `option` names the option in errors.
std::pair<std::string, std::string> parse_config_assignment(const std::string& text,
                                                            const std::string& option);

}  // namespace sluice::cli
