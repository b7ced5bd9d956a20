// The command table (command_table.hpp): every command's options and validation, and the rows
// that tie them to a name, a summary and the function that runs the command.
#include "pipelines/cli/command_table.hpp"

#include <algorithm>
#include <boost/program_options/value_semantic.hpp>
#include <charconv>
#include <regex>

#include "kafka/consumer/consumer_config.hpp"
#include "kafka/producer/producer_config.hpp"
#include "pipelines/cli/command_runners.hpp"
#include "pipelines/cli/console_commands.hpp"
#include "pipelines/cli/console_format.hpp"
#include "pipelines/cli/logging.hpp"
#include "pipelines/cli/pipeline_commands.hpp"

namespace sluice::cli {

namespace po = boost::program_options;

bool parsed_options::given(const char* option) const {
  auto it = values.find(option);
  if (it == values.end() || it->second.defaulted()) return false;
  // A bool_switch is always stored; only a true one counts.
  if (const auto* flag = boost::any_cast<bool>(&it->second.value()); flag != nullptr) return *flag;
  return true;
}

void parsed_options::require(const char* option) const {
  if (!given(option)) {
    throw usage_error("sluice " + command + ": --" + std::string(option) +
                      " is required (see sluice " + command + " --help)");
  }
}

void parsed_options::exclusive(const std::vector<const char*>& options, bool one_required) const {
  std::vector<std::string> named;
  for (const auto* option : options) {
    if (given(option)) named.push_back(std::string("--") + option);
  }
  if (named.size() > 1) {
    throw usage_error("sluice " + command + ": " + named[0] + " and " + named[1] +
                      " cannot be used together");
  }
  if (one_required && named.empty()) {
    std::string names;
    for (const auto* option : options)
      names += (names.empty() ? "--" : ", --") + std::string(option);
    throw usage_error("sluice " + command + ": one of " + names + " is required");
  }
}

namespace {

// ---- values shared by several commands ----

std::int16_t to_replication_factor(std::int32_t value) {
  if (value != -1 && (value < 1 || value > 32767)) {
    throw usage_error("--replication-factor must be at least 1, not " + std::to_string(value));
  }
  return static_cast<std::int16_t>(value);
}

std::map<std::string, std::string> parse_configs(const std::vector<std::string>& assignments) {
  std::map<std::string, std::string> configs;
  for (const auto& text : assignments) {
    auto [key, value] = parse_config_assignment(text, "--config");
    configs[key] = value;
  }
  return configs;
}

// A partition number given with --partition: nullopt when not given.
std::optional<std::int32_t> partition_option(const parsed_options& p) {
  if (!p.given("partition")) return std::nullopt;
  const auto partition = p.get<std::int32_t>("partition", -1);
  if (partition < 0)
    throw usage_error("--partition must not be negative, not " + std::to_string(partition));
  return partition;
}

using strings = std::vector<std::string>;

// ---- cluster ----

void cluster_options(po::options_description& o) {
  o.add_options()("broker", po::value<std::int32_t>()->value_name("ID"),
                  "API versions of this broker only");
}

command_args cluster_validate(const parsed_options& p) {
  cluster_args a;
  if (p.given("broker")) a.broker = p.get<std::int32_t>("broker", -1);
  return a;
}

// ---- topics ----

void topics_create_options(po::options_description& o) {
  o.add_options()("topic", po::value<std::string>()->value_name("NAME"),
                  "the topic to create (required)")(
      "partitions", po::value<std::int32_t>()->value_name("N"),
      "partition count (default: the broker's num.partitions)")(
      "replication-factor", po::value<std::int32_t>()->value_name("N"),
      "replicas per partition (default: the broker's default.replication.factor)")(
      "config", po::value<strings>()->composing()->value_name("KEY=VALUE"),
      "a topic config; repeatable")("validate-only", po::bool_switch(),
                                    "check that the broker would create it, create nothing")(
      "if-not-exists", po::bool_switch(), "succeed when the topic exists already");
}

command_args topics_create_validate(const parsed_options& p) {
  p.require("topic");
  topics_create_args a;
  a.topic = p.get<std::string>("topic", "");
  a.partitions = p.get<std::int32_t>("partitions", -1);
  if (p.given("partitions") && a.partitions < 1) {
    throw usage_error("--partitions must be at least 1, not " + std::to_string(a.partitions));
  }
  a.replication_factor = to_replication_factor(p.get<std::int32_t>("replication-factor", -1));
  a.configs = parse_configs(p.get<strings>("config", {}));
  a.validate_only = p.given("validate-only");
  a.if_not_exists = p.given("if-not-exists");
  return a;
}

void topics_list_options(po::options_description& o) {
  o.add_options()("exclude-internal", po::bool_switch(), "leave out internal topics");
}

command_args topics_list_validate(const parsed_options& p) {
  return topics_list_args{.exclude_internal = p.given("exclude-internal")};
}

void topics_describe_options(po::options_description& o) {
  o.add_options()("topic", po::value<strings>()->composing()->value_name("NAME"),
                  "a topic to describe; repeatable (default: all)")(
      "exclude-internal", po::bool_switch(), "leave out internal topics");
}

command_args topics_describe_validate(const parsed_options& p) {
  return topics_describe_args{.topics = p.get<strings>("topic", {}),
                              .exclude_internal = p.given("exclude-internal")};
}

void topics_delete_options(po::options_description& o) {
  o.add_options()("topic", po::value<strings>()->composing()->value_name("NAME"),
                  "a topic to delete; repeatable (required)")(
      "if-exists", po::bool_switch(), "succeed when the topic does not exist");
}

command_args topics_delete_validate(const parsed_options& p) {
  p.require("topic");
  return topics_delete_args{.topics = p.get<strings>("topic", {}),
                            .if_exists = p.given("if-exists")};
}

void topics_alter_options(po::options_description& o) {
  o.add_options()("topic", po::value<std::string>()->value_name("NAME"),
                  "the topic to alter (required)")(
      "partitions", po::value<std::int32_t>()->value_name("N"), "grow the topic to N partitions")(
      "config", po::value<strings>()->composing()->value_name("KEY=VALUE"),
      "set a topic config; repeatable")(
      "delete-config", po::value<strings>()->composing()->value_name("KEY"),
      "remove a topic config (back to the broker default); repeatable")(
      "validate-only", po::bool_switch(), "check the change, apply nothing");
}

command_args topics_alter_validate(const parsed_options& p) {
  p.require("topic");
  topics_alter_args a;
  a.topic = p.get<std::string>("topic", "");
  if (p.given("partitions")) {
    const auto partitions = p.get<std::int32_t>("partitions", 0);
    if (partitions < 1)
      throw usage_error("--partitions must be at least 1, not " + std::to_string(partitions));
    a.partitions = partitions;
  }
  a.set_configs = parse_configs(p.get<strings>("config", {}));
  a.delete_configs = p.get<strings>("delete-config", {});
  a.validate_only = p.given("validate-only");
  for (const auto& key : a.delete_configs) {
    if (a.set_configs.contains(key)) {
      throw usage_error("sluice topics alter: '" + key +
                        "' is both set (--config) and deleted (--delete-config)");
    }
  }
  if (!a.partitions && a.set_configs.empty() && a.delete_configs.empty()) {
    throw usage_error(
        "sluice topics alter: nothing to change; give --partitions, --config or --delete-config");
  }
  return a;
}

// ---- groups ----

void no_options(po::options_description& /*options*/) {}

command_args groups_list_validate(const parsed_options& /*parsed*/) {
  return groups_list_args{};
}

void group_ids_options(po::options_description& o) {
  o.add_options()("group", po::value<strings>()->composing()->value_name("ID"),
                  "a consumer group; repeatable (required)");
}

command_args groups_describe_validate(const parsed_options& p) {
  p.require("group");
  return groups_describe_args{p.get<strings>("group", {})};
}

command_args groups_delete_validate(const parsed_options& p) {
  p.require("group");
  return groups_delete_args{p.get<strings>("group", {})};
}

void groups_reset_offsets_options(po::options_description& o) {
  o.add_options()("group", po::value<std::string>()->value_name("ID"),
                  "the consumer group (required; it must have no members)")(
      "topic", po::value<strings>()->composing()->value_name("TOPIC[:P,P]"),
      "reset this topic's partitions (all, or the listed ones); repeatable")(
      "all-topics", po::bool_switch(), "reset every topic the group has committed offsets for")(
      "to-earliest", po::bool_switch(), "to each partition's earliest offset")(
      "to-latest", po::bool_switch(), "to each partition's latest offset (the end)")(
      "to-offset", po::value<std::int64_t>()->value_name("N"),
      "to offset N (kept within earliest..latest)")(
      "to-datetime", po::value<std::string>()->value_name("YYYY-MM-DDTHH:MM:SS[.sss][Z|+HH:MM]"),
      "to the first offset with a timestamp at or after this time (no zone: UTC)")(
      "shift-by", po::value<std::int64_t>()->value_name("N"),
      "move the committed offsets by N (may be negative)")("execute", po::bool_switch(),
                                                           "commit the new offsets")(
      "dry-run", po::bool_switch(), "only print the new offsets (the default)");
}

command_args groups_reset_offsets_validate(const parsed_options& p) {
  p.require("group");
  p.exclusive({"to-earliest", "to-latest", "to-offset", "to-datetime", "shift-by"}, true);
  p.exclusive({"execute", "dry-run"}, false);
  p.exclusive({"topic", "all-topics"}, true);
  groups_reset_offsets_args a;
  a.group = p.get<std::string>("group", "");
  for (const auto& topic : p.get<strings>("topic", {}))
    a.topics.push_back(parse_topic_selection(topic));
  a.all_topics = p.given("all-topics");
  a.execute = p.given("execute");
  if (p.given("to-earliest")) a.target = {reset_target::kind::earliest, 0};
  if (p.given("to-latest")) a.target = {reset_target::kind::latest, 0};
  if (p.given("to-offset")) {
    const auto to_offset = p.get<std::int64_t>("to-offset", 0);
    if (to_offset < 0)
      throw usage_error("--to-offset must not be negative, not " + std::to_string(to_offset));
    a.target = {reset_target::kind::offset, to_offset};
  }
  if (p.given("to-datetime")) {
    a.target = {reset_target::kind::datetime,
                parse_datetime(p.get<std::string>("to-datetime", ""))};
  }
  if (p.given("shift-by"))
    a.target = {reset_target::kind::shift_by, p.get<std::int64_t>("shift-by", 0)};
  return a;
}

// ---- produce and consume ----

void produce_options(po::options_description& o) {
  o.add_options()("topic", po::value<std::string>()->value_name("NAME"),
                  "the topic to write to (required)")(
      "key-separator", po::value<std::string>()->value_name("S"),
      "each line is KEY<S>VALUE, split at the first S; a line without S is an error")(
      "partition", po::value<std::int32_t>()->value_name("N"),
      "write every record to partition N (default: by key, or spread)")(
      "header", po::value<strings>()->composing()->value_name("KEY=VALUE"),
      "a header on every record; repeatable (KEY alone: a null value)")(
      "acks", po::value<std::string>()->value_name("0|1|all"),
      "acknowledgements to wait for (default all)")("compression",
                                                    po::value<std::string>()->value_name("CODEC"),
                                                    "none (default), gzip, snappy, lz4 or zstd")(
      "transactional-id", po::value<std::string>()->value_name("ID"),
      "write all of stdin in one transaction, committed at the end (aborted on any error)")(
      "verbose,v", po::bool_switch(), "print the number of records written to stderr");
}

command_args produce_validate(const parsed_options& p) {
  p.require("topic");
  produce_args a;
  a.topic = p.get<std::string>("topic", "");
  a.key_separator = p.get<std::string>("key-separator", "");
  if (p.given("key-separator") && a.key_separator.empty())
    throw usage_error("--key-separator must not be empty");
  a.partition = partition_option(p);
  if (p.given("transactional-id")) {
    a.transactional_id = p.get<std::string>("transactional-id", "");
    if (a.transactional_id->empty()) throw usage_error("--transactional-id must not be empty");
  }
  for (const auto& header : p.get<strings>("header", {})) a.headers.push_back(parse_header(header));
  a.acks = p.get<std::string>("acks", a.acks);
  a.compression = p.get<std::string>("compression", a.compression);
  a.verbose = p.given("verbose");
  if (!kafka::parse_acks(a.acks)) throw usage_error("--acks: '" + a.acks + "' is not 0, 1 or all");
  if (!kafka::parse_compression(a.compression)) {
    throw usage_error("--compression: '" + a.compression +
                      "' is not none, gzip, snappy, lz4 or zstd");
  }
  if (a.transactional_id && *kafka::parse_acks(a.acks) != kafka::acks::all)
    throw usage_error("--transactional-id needs --acks all (transactions are idempotent)");
  return a;
}

void consume_options(po::options_description& o) {
  o.add_options()("topic", po::value<strings>()->composing()->value_name("NAME"),
                  "a topic to read; repeatable")("pattern",
                                                 po::value<std::string>()->value_name("REGEX"),
                                                 "read every topic whose whole name matches")(
      "group", po::value<std::string>()->value_name("ID"),
      "consume in this consumer group and commit its offsets (default: no group, every "
      "partition)")("partition", po::value<std::int32_t>()->value_name("N"),
                    "read only partition N (one --topic, no --group)")(
      "from-beginning", po::bool_switch(),
      "start at the earliest offset (in a group: where nothing is committed)")(
      "offset", po::value<std::string>()->value_name("N|earliest|latest"),
      "start at this offset in each partition (no --group)")(
      "from-timestamp", po::value<std::int64_t>()->value_name("MS"),
      "start at the first record at or after this time, ms since the epoch (no --group)")(
      "max-messages", po::value<std::int64_t>()->value_name("N"), "exit after N records")(
      "isolation-level", po::value<std::string>()->value_name("LEVEL"),
      "read_uncommitted (default) or read_committed")(
      "format", po::value<std::string>()->value_name("FORMAT"),
      "how to print each record: %t topic, %p partition, %o offset, %k key, %v value, "
      "%h headers (k=v,...), %T timestamp, %% percent; \\n \\t escapes (default %v)")(
      "verbose,v", po::bool_switch(), "print the number of records read to stderr");
}

start_position parse_start_offset(const std::string& offset) {
  if (offset == "earliest") return {start_position::kind::earliest, 0};
  if (offset == "latest") return {start_position::kind::latest, 0};
  std::int64_t value = -1;
  auto [ptr, ec] = std::from_chars(offset.data(), offset.data() + offset.size(), value);
  if (ec != std::errc() || ptr != offset.data() + offset.size() || value < 0) {
    throw usage_error("--offset: '" + offset +
                      "' is not an offset (a number >= 0), earliest or latest");
  }
  return {start_position::kind::offset, value};
}

command_args consume_validate(const parsed_options& p) {
  p.exclusive({"topic", "pattern"}, true);
  p.exclusive({"from-beginning", "offset", "from-timestamp"}, false);
  consume_args a;
  a.topics = p.get<strings>("topic", {});
  a.pattern = p.get<std::string>("pattern", "");
  a.group = p.get<std::string>("group", "");
  a.isolation_level = p.get<std::string>("isolation-level", a.isolation_level);
  a.format = p.get<std::string>("format", a.format);
  a.verbose = p.given("verbose");
  if (p.given("pattern")) {
    try {
      std::regex check(a.pattern);
    } catch (const std::regex_error& e) {
      throw usage_error("--pattern: '" + a.pattern + "' is not a regular expression: " + e.what());
    }
  }
  a.partition = partition_option(p);
  if (a.partition && a.topics.size() != 1)
    throw usage_error("sluice consume: --partition needs exactly one --topic");
  if (!a.group.empty()) {
    for (const char* option : {"partition", "offset", "from-timestamp"}) {
      if (p.given(option)) {
        throw usage_error(std::string("sluice consume: --") + option +
                          " cannot be used with --group (the group decides the partitions and "
                          "starts at its committed offsets)");
      }
    }
  }
  if (p.given("from-beginning")) a.start = {start_position::kind::earliest, 0};
  if (p.given("offset")) a.start = parse_start_offset(p.get<std::string>("offset", ""));
  if (p.given("from-timestamp")) {
    const auto from_timestamp = p.get<std::int64_t>("from-timestamp", 0);
    if (from_timestamp < 0) {
      throw usage_error("--from-timestamp must not be negative, not " +
                        std::to_string(from_timestamp));
    }
    a.start = {start_position::kind::timestamp, from_timestamp};
  }
  if (p.given("max-messages")) {
    const auto max_messages = p.get<std::int64_t>("max-messages", 0);
    if (max_messages < 1)
      throw usage_error("--max-messages must be at least 1, not " + std::to_string(max_messages));
    a.max_messages = max_messages;
  }
  // For consume --timeout-ms is the idle timeout of Kafka's console consumer; unset, it runs
  // until stopped (the default still bounds connecting).
  if (p.given("timeout-ms")) a.idle_timeout = p.connection.timeout;
  if (!kafka::parse_isolation_level(a.isolation_level)) {
    throw usage_error("--isolation-level: '" + a.isolation_level +
                      "' is not read_uncommitted or read_committed");
  }
  parse_record_format(a.format);  // bad directives are usage errors now, not after connecting
  return a;
}

// ---- pipelines ----

command_args pipeline_file_validate(const parsed_options& p) {
  return pipeline_file_args{p.files.front(), pipelines::describe_format::text};
}

void describe_options(po::options_description& o) {
  o.add_options()("format", po::value<std::string>()->value_name("FORMAT"),
                  "text (default), dot (Graphviz), mermaid, or json (for tools; also --json)");
}

command_args describe_validate(const parsed_options& p) {
  const auto format = p.get<std::string>("format", "text");
  auto parsed = pipelines::parse_describe_format(p.connection.json ? "json" : format);
  if (!parsed) {
    throw usage_error("sluice describe: --format " + format +
                      ": unknown format (text, dot, mermaid or json)");
  }
  return pipeline_file_args{p.files.front(), *parsed};
}

void run_options(po::options_description& o) {
  o.add_options()("state-dir", po::value<std::string>()->value_name("DIR"),
                  "where the tasks' RocksDB state lives (default /tmp/sluice-state)")(
      "instance-id", po::value<std::string>()->value_name("ID"),
      "this process among the pipeline's instances (transactional id suffix, static member "
      "id); default: a random id kept in the state directory")(
      "on-error", po::value<std::string>()->value_name("POLICY"),
      "a record that cannot be processed: stop (default), skip, or dead-letter (to "
      "<name>-dead-letter)")("static-membership", po::bool_switch(),
                             "join the group as a static member (KIP-345; the default)")(
      "dynamic-membership", po::bool_switch(),
      "join as a dynamic member: a restart after a crash then waits for the dead member's "
      "session timeout")(
      "group-protocol", po::value<std::string>()->value_name("PROTOCOL"),
      "consumer (KIP-848, the default: a restart is not held up by other members' rebalances) "
      "or classic (JoinGroup; for brokers before 4.0)")(
      "session-timeout-ms", po::value<std::int64_t>()->value_name("MS"),
      "how long the group waits for a silent member before it hands its partitions on "
      "(default 45000; with the consumer protocol it is set as the group's "
      "consumer.session.timeout.ms, within the broker's bounds)")(
      "heartbeat-interval-ms", po::value<std::int64_t>()->value_name("MS"),
      "classic protocol: how often a member tells the group it is alive (default a fifth of "
      "the session timeout, at most 3000)")(
      "standby-replicas", po::value<int>()->value_name("N"),
      "keep N up-to-date copies of each stateful task on other instances, so that a task whose "
      "instance dies moves to one and restores only the last changes (default the pipeline's "
      "standby_replicas, else 0; more than 0 uses the classic group protocol)")(
      "acceptable-recovery-lag", po::value<std::int64_t>()->value_name("N"),
      "classic protocol: a copy of a task at most N changelog offsets behind the freshest counts "
      "as caught up, so the task may move there at once; a farther one warms up first as a "
      "standby (default 10000, Kafka Streams' acceptable.recovery.lag)")(
      "stay-in-group-on-stop", po::bool_switch(),
      "a stop (SIGTERM) keeps this static member's partitions for it until the session "
      "timeout, for a restart without rebalance (default: hand them over at once)")(
      "memory-mb", po::value<std::int64_t>()->value_name("MB"),
      "state memory for the whole process: RocksDB block cache and memtables, and an eighth for "
      "the stores' caches (default 512)")(
      "replication-factor", po::value<std::int32_t>()->value_name("N"),
      "replicas per partition of the topics the pipeline creates (internal, sink, dead-letter; "
      "default: the broker's default.replication.factor)")(
      "metrics-port", po::value<std::int32_t>()->value_name("PORT"),
      "serve /metrics (Prometheus), /health and /ready over HTTP on this port (0: any free "
      "port, logged; default: no endpoint)")(
      "metrics-address", po::value<std::string>()->value_name("ADDRESS"),
      "the address the endpoint listens on (default 0.0.0.0; 127.0.0.1 keeps it local)")(
      "threads", po::value<int>()->value_name("N"),
      "stream threads per pipeline (default 1), each its own consumer, producer and tasks in the "
      "pipeline's group, all in one memory budget (Kafka Streams' num.stream.threads)")(
      "no-decode-thread", po::bool_switch(),
      "decode input records (JSON parse, copies) on the stream thread itself instead of a helper "
      "thread per stream thread that decodes ahead of it (default: the helper; without it one "
      "thread fewer, for a machine with one core)");
}

command_args run_validate(const parsed_options& p) {
  run_args a;
  a.files = p.files;
  a.state_dir = p.get<std::string>("state-dir", a.state_dir);
  a.instance_id = p.get<std::string>("instance-id", a.instance_id);
  a.on_error = p.get<std::string>("on-error", a.on_error);
  a.dynamic_membership = p.given("dynamic-membership");
  a.group_protocol = p.get<std::string>("group-protocol", a.group_protocol);
  a.session_timeout_ms = p.get<std::int64_t>("session-timeout-ms", a.session_timeout_ms);
  a.heartbeat_interval_ms = p.get<std::int64_t>("heartbeat-interval-ms", a.heartbeat_interval_ms);
  a.standby_replicas = p.get<int>("standby-replicas", a.standby_replicas);
  a.acceptable_recovery_lag =
      p.get<std::int64_t>("acceptable-recovery-lag", a.acceptable_recovery_lag);
  if (a.acceptable_recovery_lag < 0)
    throw usage_error("--acceptable-recovery-lag must be 0 or more, not " +
                      std::to_string(a.acceptable_recovery_lag));
  if (p.given("standby-replicas") && (a.standby_replicas < 0 || a.standby_replicas > 16))
    throw usage_error("--standby-replicas must be from 0 to 16, not " +
                      std::to_string(a.standby_replicas));
  if (a.heartbeat_interval_ms < 0)
    throw usage_error("--heartbeat-interval-ms must be positive, not " +
                      std::to_string(a.heartbeat_interval_ms));
  a.stay_in_group_on_stop = p.given("stay-in-group-on-stop");
  a.memory_mb = p.get<std::int64_t>("memory-mb", a.memory_mb);
  if (p.given("replication-factor"))
    a.replication_factor = to_replication_factor(p.get<std::int32_t>("replication-factor", -1));
  a.metrics_port = p.get<std::int32_t>("metrics-port", a.metrics_port);
  a.metrics_address = p.get<std::string>("metrics-address", a.metrics_address);
  a.threads = p.get<int>("threads", a.threads);
  a.decode_thread = !p.given("no-decode-thread");
  if (a.metrics_port < -1 || a.metrics_port > 65535) {
    throw usage_error("--metrics-port must be from 0 to 65535, not " +
                      std::to_string(a.metrics_port));
  }
  if (a.memory_mb < 16)
    throw usage_error("--memory-mb must be at least 16, not " + std::to_string(a.memory_mb));
  if (a.threads < 1 || a.threads > 256)
    throw usage_error("--threads must be from 1 to 256, not " + std::to_string(a.threads));
  if (a.session_timeout_ms < 0) {
    throw usage_error("--session-timeout-ms must be positive, not " +
                      std::to_string(a.session_timeout_ms));
  }
  if (!kafka::parse_group_protocol(a.group_protocol))
    throw usage_error("--group-protocol: '" + a.group_protocol + "' is not consumer or classic");
  if (a.on_error != "stop" && a.on_error != "skip" && a.on_error != "dead-letter")
    throw usage_error("--on-error: '" + a.on_error + "' is not stop, skip or dead-letter");
  return a;
}

void reset_options(po::options_description& o) {
  o.add_options()("state-dir", po::value<std::string>()->value_name("DIR"),
                  "the state directory `sluice run` used (default /tmp/sluice-state)")(
      "execute", po::bool_switch(), "delete (default: print what would be deleted)");
}

command_args reset_validate(const parsed_options& p) {
  reset_args a;
  a.file = p.files.front();
  a.state_dir = p.get<std::string>("state-dir", a.state_dir);
  a.execute = p.given("execute");
  return a;
}

// ---- how each command runs ----

// A cluster command: its coroutine on the admin client (command_runners.hpp), given its args.
template <typename Args, boost::asio::awaitable<int> (*Run)(kafka::admin_client*, Args, printer)>
boost::asio::awaitable<int> with_args(kafka::admin_client* admin, command_args args,
                                      printer print) {
  return Run(admin, std::get<Args>(std::move(args)), print);
}

template <typename Args, boost::asio::awaitable<int> (*Run)(kafka::admin_client*, Args, printer)>
int on_cluster(const command_line& command, std::istream& /*in*/, std::ostream& out,
               std::ostream& err) {
  configure_logging(command.connection.logging, false);
  return execute_on_cluster(command, &with_args<Args, Run>, out, err);
}

int produce_command(const command_line& command, std::istream& in, std::ostream& /*out*/,
                    std::ostream& err) {
  // The clients' log lines (retries) must not mix with records on a pipe.
  configure_logging(command.connection.logging, true);
  return run_produce(command, in, err);
}

int consume_command(const command_line& command, std::istream& /*in*/, std::ostream& out,
                    std::ostream& err) {
  // The clients' log lines (group joins, retries) must not mix with the records on stdout.
  configure_logging(command.connection.logging, true);
  return run_consume(command, out, err);
}

int run_command(const command_line& command, std::istream& /*in*/, std::ostream& out,
                std::ostream& err) {
  configure_logging(command.connection.logging, false);
  return run_pipeline(command, out, err);
}

int validate_command(const command_line& command, std::istream& /*in*/, std::ostream& out,
                     std::ostream& err) {
  return run_validate_pipeline(command, out, err);
}

int describe_command(const command_line& command, std::istream& /*in*/, std::ostream& out,
                     std::ostream& err) {
  return run_describe_pipeline(command, out, err);
}

int test_command(const command_line& command, std::istream& /*in*/, std::ostream& out,
                 std::ostream& err) {
  return run_pipeline_file_tests(command, out, err);
}

constexpr auto cluster = command_section::cluster;
constexpr auto pipeline = command_section::pipelines;
constexpr auto no_files = file_arguments::none;

// clang-format off
const command_spec commands[] = {
    {"cluster", no_files,
     "cluster id, controller, brokers, API versions offered and negotiated",
     cluster, true, cluster_options, cluster_validate, on_cluster<cluster_args, run_cluster>},
    {"topics create", no_files,
     "create a topic (--topic, --partitions, --replication-factor, --config)",
     cluster, true, topics_create_options, topics_create_validate,
     on_cluster<topics_create_args, run_topics_create>},
    {"topics list", no_files, "list topic names",
     cluster, true, topics_list_options, topics_list_validate,
     on_cluster<topics_list_args, run_topics_list>},
    {"topics describe", no_files,
     "partitions, leaders, replicas, in-sync replicas and configs",
     cluster, true, topics_describe_options, topics_describe_validate,
     on_cluster<topics_describe_args, run_topics_describe>},
    {"topics alter", no_files, "add partitions and/or set or delete configs",
     cluster, true, topics_alter_options, topics_alter_validate,
     on_cluster<topics_alter_args, run_topics_alter>},
    {"topics delete", no_files, "delete topics",
     cluster, true, topics_delete_options, topics_delete_validate,
     on_cluster<topics_delete_args, run_topics_delete>},
    {"groups list", no_files, "list consumer groups",
     cluster, true, no_options, groups_list_validate,
     on_cluster<groups_list_args, run_groups_list>},
    {"groups describe", no_files, "members, assignments, committed offsets and lag",
     cluster, true, group_ids_options, groups_describe_validate,
     on_cluster<groups_describe_args, run_groups_describe>},
    {"groups delete", no_files, "delete (empty) consumer groups",
     cluster, true, group_ids_options, groups_delete_validate,
     on_cluster<groups_delete_args, run_groups_delete>},
    {"groups reset-offsets", no_files,
     "move a group's committed offsets (dry run unless --execute)",
     cluster, true, groups_reset_offsets_options, groups_reset_offsets_validate,
     on_cluster<groups_reset_offsets_args, run_groups_reset_offsets>},
    {"produce", no_files,
     "stdin lines to a topic, one record per line (--key-separator, --header)",
     cluster, true, produce_options, produce_validate, produce_command},
    {"consume", no_files,
     "records to stdout, one per line (--format '%k %v', --group, --from-beginning;\n"
     "--timeout-ms: exit after that long without a record)",
     cluster, true, consume_options, consume_validate, consume_command},
    {"validate", file_arguments::one,
     "check a pipeline file; errors name file:line:column and the field",
     pipeline, false, no_options, pipeline_file_validate, validate_command},
    {"describe", file_arguments::one,
     "sub-topologies, steps, stores, internal and changelog topics\n"
     "(--format dot|mermaid|json: the graph for Graphviz, Mermaid or tools)",
     pipeline, false, describe_options, describe_validate, describe_command},
    {"test", file_arguments::one, "run the file's tests: offline, no broker",
     pipeline, false, no_options, pipeline_file_validate, test_command},
    {"run", file_arguments::many,
     "run the pipelines until SIGINT/SIGTERM (more processes share the work)",
     pipeline, true, run_options, run_validate, run_command},
    {"reset", file_arguments::one,
     "delete its group, internal topics and local state (dry run unless --execute)",
     pipeline, true, reset_options, reset_validate, on_cluster<reset_args, run_reset>},
};
// clang-format on

}  // namespace

std::span<const command_spec> command_table() {
  return commands;
}

const command_spec* find_command(std::string_view name) {
  auto it = std::find_if(std::begin(commands), std::end(commands),
                         [&](const command_spec& spec) { return spec.name == name; });
  return it == std::end(commands) ? nullptr : &*it;
}

bool is_command_group(std::string_view word) {
  return std::any_of(std::begin(commands), std::end(commands), [&](const command_spec& spec) {
    const auto space = spec.name.find(' ');
    return space != std::string_view::npos && spec.name.substr(0, space) == word;
  });
}

}  // namespace sluice::cli
