#include "pipelines/cli/command_line.hpp"
#include "pipelines/cli/properties.hpp"

#include <algorithm>
#include <initializer_list>
#include <boost/program_options.hpp>
#include <charconv>
#include <ctime>
#include <regex>
#include <sstream>

#include "kafka/consumer/consumer_config.hpp"
#include "kafka/net/security_config.hpp"
#include "kafka/producer/producer_config.hpp"
#include "pipelines/cli/console_format.hpp"

namespace sluice::cli {

namespace po = boost::program_options;

namespace {

constexpr std::int64_t default_timeout_ms = 15'000;

// Connection and output options every command takes.
struct connection_flags {
  std::string bootstrap;
  std::string command_config;
  std::vector<std::string> properties;  // -X key=value
  logging_settings logging;
  std::string security_protocol;
  std::string sasl_mechanism;
  std::string sasl_username;
  std::string sasl_password;
  std::string sasl_oauth_token;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string key_password;
  bool no_hostname_verification = false;
  std::string client_id;
  std::int64_t timeout_ms = default_timeout_ms;
  bool json = false;
};

po::options_description connection_options(connection_flags& flags) {
  po::options_description options("Connection and output");
  options.add_options()(
      "bootstrap-server", po::value(&flags.bootstrap)->value_name("HOST:PORT[,...]"),
      "brokers to bootstrap from (required, unless the --command-config file sets "
      "bootstrap.servers)")("command-config", po::value(&flags.command_config)->value_name("FILE"),
                            "a Java properties file with client settings: security.protocol, "
                            "sasl.mechanism, sasl.jaas.config "
                            "(or sasl.username/sasl.password), ssl.truststore.location with "
                            "ssl.truststore.type=PEM (or ssl.ca.location), "
                            "ssl.keystore.* / ssl.certificate.location / ssl.key.location, "
                            "ssl.endpoint.identification.algorithm, "
                            "client.id, request.timeout.ms, and any client setting by its Java "
                            "name. The flags below override it.")(
      ",X", po::value(&flags.properties)->composing()->value_name("KEY=VALUE"),
      "a client setting by its Java name (kcat's flag; repeatable; applied last): "
      "-X partition.assignment.strategy=roundrobin, -X linger.ms=20, -X fetch.max.bytes=1048576")(
      "security-protocol", po::value(&flags.security_protocol)->value_name("P"),
      "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")(
      "sasl-mechanism", po::value(&flags.sasl_mechanism)->value_name("M"),
      "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER")(
      "sasl-username", po::value(&flags.sasl_username)->value_name("USER"), "SASL user name")(
      "sasl-password", po::value(&flags.sasl_password)->value_name("PASSWORD"), "SASL password")(
      "sasl-oauth-token", po::value(&flags.sasl_oauth_token)->value_name("TOKEN"),
      "OAUTHBEARER token")("tls-ca-file", po::value(&flags.ca_file)->value_name("PEM"),
                           "CA certificates to trust (PEM)")(
      "tls-cert-file", po::value(&flags.cert_file)->value_name("PEM"),
      "client certificate for mutual TLS")("tls-key-file",
                                           po::value(&flags.key_file)->value_name("PEM"),
                                           "client private key for mutual TLS")(
      "tls-key-password", po::value(&flags.key_password)->value_name("PASSWORD"),
      "password of the private key")("no-hostname-verification",
                                     po::bool_switch(&flags.no_hostname_verification),
                                     "do not check the broker certificate's host name")(
      "client-id", po::value(&flags.client_id)->value_name("ID"),
      "client id sent to the brokers (default sluice)")(
      "timeout-ms",
      po::value(&flags.timeout_ms)->default_value(default_timeout_ms)->value_name("MS"),
      "give up after this long, retries included (also when the cluster cannot be reached)")(
      "json", po::bool_switch(&flags.json), "print JSON instead of tables")(
      "log-level", po::value(&flags.logging.level)->value_name("LEVEL"),
      "trace, debug, info (default), warn, error, critical or off")(
      "log-format", po::value(&flags.logging.format)->value_name("FORMAT"),
      "text (default) or json: one object per line, {time, level, message}")("help,h",
                                                                            "show this help");
  return options;
}

// -X KEY=VALUE, checked against the table of Java names.
std::map<std::string, std::string> parse_x_flags(const std::vector<std::string>& flags) {
  std::map<std::string, std::string> out;
  for (const auto& flag : flags) {
    const auto equals = flag.find('=');
    if (equals == std::string::npos || equals == 0)
      throw usage_error("-X " + flag + ": expected KEY=VALUE (e.g. -X linger.ms=20)");
    auto name = flag.substr(0, equals);
    try {
      kafka::check_property_name(name);
    } catch (const kafka::property_error& e) {
      throw usage_error(std::string("-X: ") + e.what());
    }
    out[name] = flag.substr(equals + 1);
  }
  return out;
}

// The dedicated flags as the Java names they stand for, so that one ordered set of properties
// (file, then -X, then these) describes the connection: every client a command or pipeline makes
// applies it, and a flag wins over the file wherever it is applied. A flag also drops the
// synonyms it overrides (ssl.truststore.location for --ca-file, ...), which would otherwise be
// applied after it in name order.
void put_flag_properties(const connection_flags& flags, std::map<std::string, std::string>& properties) {
  auto put = [&](const std::string& value, const char* name, std::initializer_list<const char*> synonyms = {}) {
    if (value.empty()) return;
    for (const auto* synonym : synonyms) properties.erase(synonym);
    properties[name] = value;
  };
  if (!flags.security_protocol.empty() && !kafka::parse_security_protocol(flags.security_protocol)) {
    throw usage_error("--security-protocol: '" + flags.security_protocol +
                      "' is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL");
  }
  if (!flags.sasl_mechanism.empty() && !kafka::parse_sasl_mechanism(flags.sasl_mechanism)) {
    throw usage_error("--sasl-mechanism: '" + flags.sasl_mechanism +
                      "' is not PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER");
  }
  put(flags.security_protocol, "security.protocol");
  put(flags.sasl_mechanism, "sasl.mechanism", {"sasl.mechanisms"});
  put(flags.sasl_username, "sasl.username");
  put(flags.sasl_password, "sasl.password");
  put(flags.sasl_oauth_token, "sasl.oauthbearer.token");
  put(flags.ca_file, "ssl.ca.location", {"ssl.truststore.location", "ssl.truststore.type"});
  put(flags.cert_file, "ssl.certificate.location");
  put(flags.key_file, "ssl.key.location");
  put(flags.key_password, "ssl.key.password", {"ssl.keystore.password"});
  if (flags.no_hostname_verification) properties["ssl.endpoint.identification.algorithm"] = "";
  put(flags.client_id, "client.id");
}

connection_settings make_connection(const connection_flags& flags) {
  connection_settings settings;
  auto& config = settings.client;
  config.client_id = "sluice-cli";
  if (!flags.command_config.empty()) settings.properties = load_properties_file(flags.command_config);
  for (auto& [name, value] : parse_x_flags(flags.properties)) settings.properties[name] = value;
  const auto source = flags.command_config.empty() ? std::string("-X") : flags.command_config + " / -X";
  put_flag_properties(flags, settings.properties);
  if (!flags.bootstrap.empty()) {
    try {
      kafka::parse_bootstrap_servers(flags.bootstrap);
    } catch (const std::exception& e) {
      throw usage_error(std::string("--bootstrap-server: ") + e.what());
    }
    settings.properties["bootstrap.servers"] = flags.bootstrap;
  }
  apply_properties(settings.properties, config, source);  // the connection settings; the rest later
  if (config.bootstrap_servers.empty()) {
    throw usage_error("--bootstrap-server is required (e.g. --bootstrap-server localhost:9092)");
  }
  const auto& sasl = config.security.sasl;
  if (config.security.uses_sasl()) {
    if (sasl.mechanism == kafka::sasl_mechanism::oauthbearer) {
      if (sasl.oauth_token.empty())
        throw usage_error("OAUTHBEARER needs a token: --sasl-oauth-token");
    } else if (sasl.username.empty()) {
      throw usage_error(std::string("SASL ") + kafka::to_string(sasl.mechanism) +
                        " needs a user name: --sasl-username, or sasl.jaas.config / sasl.username "
                        "in --command-config");
    }
  }
  if (flags.timeout_ms <= 0)
    throw usage_error("--timeout-ms must be positive, not " + std::to_string(flags.timeout_ms));
  settings.timeout = std::chrono::milliseconds(flags.timeout_ms);
  // No single connection attempt or request may outlast the whole command.
  config.connect_timeout = std::min(config.connect_timeout, settings.timeout);
  config.request_timeout = std::min(config.request_timeout, settings.timeout);
  settings.json = flags.json;
  check_logging(flags.logging);
  settings.logging = flags.logging;
  return settings;
}

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

// One (sub)command: its options, and how to turn the parsed values into its args.
struct parsed {
  po::variables_map values;
  bool help = false;
  std::string help_text;
};

parsed parse_options(const std::string& command, const std::vector<std::string>& args,
                     const po::options_description& own, connection_flags& flags) {
  po::options_description all("Usage: sluice " + command + " [options]");
  all.add(own).add(connection_options(flags));
  parsed result;
  try {
    po::store(po::command_line_parser(args).options(all).run(), result.values);
    result.help = result.values.count("help") > 0;
    if (!result.help) po::notify(result.values);
  } catch (const po::error& e) {
    throw usage_error("sluice " + command + ": " + e.what() + " (see sluice " + command +
                      " --help)");
  }
  std::ostringstream text;
  text << all;
  result.help_text = text.str();
  return result;
}

void require(const parsed& p, const std::string& command, const char* option) {
  if (!p.values.count(option)) {
    throw usage_error("sluice " + command + ": --" + std::string(option) +
                      " is required (see sluice " + command + " --help)");
  }
}

void exclusive(const parsed& p, const std::string& command, const std::vector<const char*>& options,
               bool one_required) {
  std::vector<std::string> given;
  for (const auto* option : options) {
    auto it = p.values.find(option);
    if (it == p.values.end() || it->second.defaulted()) continue;
    // A bool_switch is always stored; only a true one counts.
    if (const auto* flag = boost::any_cast<bool>(&it->second.value()); flag != nullptr && !*flag)
      continue;
    given.push_back(std::string("--") + option);
  }
  std::string names;
  for (const auto* option : options) names += (names.empty() ? "--" : ", --") + std::string(option);
  if (given.size() > 1) {
    throw usage_error("sluice " + command + ": " + given[0] + " and " + given[1] +
                      " cannot be used together");
  }
  if (one_required && given.empty())
    throw usage_error("sluice " + command + ": one of " + names + " is required");
}

}  // namespace

std::string usage() {
  return "Usage: sluice <command> [options]   (every command takes --help)\n"
         "\n"
         "Commands:\n"
         "  cluster                    cluster id, controller, brokers, API versions offered and "
         "negotiated\n"
         "  topics create              create a topic (--topic, --partitions, "
         "--replication-factor, --config)\n"
         "  topics list                list topic names\n"
         "  topics describe            partitions, leaders, replicas, in-sync replicas and "
         "configs\n"
         "  topics alter               add partitions and/or set or delete configs\n"
         "  topics delete              delete topics\n"
         "  groups list                list consumer groups\n"
         "  groups describe            members, assignments, committed offsets and lag\n"
         "  groups delete              delete (empty) consumer groups\n"
         "  groups reset-offsets       move a group's committed offsets (dry run unless "
         "--execute)\n"
         "  produce                    stdin lines to a topic, one record per line "
         "(--key-separator, --header)\n"
         "  consume                    records to stdout, one per line (--format '%k %v', "
         "--group, --from-beginning;\n"
         "                             --timeout-ms: exit after that long without a record)\n"
         "\n"
         "Pipelines (a YAML file, see examples/pipelines/):\n"
         "  validate FILE              check a pipeline file; errors name file:line:column and "
         "the field\n"
         "  describe FILE              sub-topologies, steps, stores, internal and changelog "
         "topics\n"
         "                             (--format dot|mermaid|json: the graph for Graphviz, "
         "Mermaid or tools)\n"
         "  test FILE                  run the file's tests: offline, no broker\n"
         "  run FILE...                run the pipelines until SIGINT/SIGTERM (more processes "
         "share the work)\n"
         "  reset FILE                 delete its group, internal topics and local state (dry run "
         "unless --execute)\n"
         "\n"
         "Every cluster command needs --bootstrap-server HOST:PORT (or a --command-config file with\n"
         "bootstrap.servers). Exit status: 0 success, 1 the cluster refused or could not be "
         "reached,\n"
         "2 bad arguments.\n";
}

topic_selection parse_topic_selection(const std::string& text) {
  topic_selection selection;
  const auto colon = text.find(':');
  selection.topic = text.substr(0, colon);
  if (selection.topic.empty()) throw usage_error("--topic: '" + text + "' names no topic");
  if (colon == std::string::npos) return selection;
  std::string_view rest(text);
  rest.remove_prefix(colon + 1);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const auto item = rest.substr(0, comma);
    std::int32_t partition = -1;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), partition);
    if (ec != std::errc() || ptr != item.data() + item.size() || partition < 0) {
      throw usage_error("--topic: '" + std::string(item) + "' in '" + text +
                        "' is not a partition number (use TOPIC or TOPIC:0,1,2)");
    }
    selection.partitions.push_back(partition);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (selection.partitions.empty())
    throw usage_error("--topic: '" + text + "' lists no partition after ':'");
  return selection;
}

std::int64_t parse_datetime(const std::string& text) {
  const auto bad = [&] {
    return usage_error("--to-datetime: '" + text +
                       "' is not YYYY-MM-DDTHH:MM:SS[.sss][Z|+HH:MM|-HH:MM] (no zone: UTC)");
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &second, &consumed) != 6 ||
      consumed != 19) {
    throw bad();
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    throw bad();
  std::size_t i = 19;
  std::int64_t millis = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && digits < 3) {
      millis = millis * 10 + (text[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0) throw bad();
    while (digits++ < 3) millis *= 10;
  }
  std::int64_t offset_minutes = 0;
  if (i < text.size()) {
    if (text[i] == 'Z' && i + 1 == text.size()) {
      ++i;
    } else if ((text[i] == '+' || text[i] == '-') && text.size() - i == 6 && text[i + 3] == ':') {
      int zone_hours = 0, zone_minutes = 0;
      if (std::sscanf(text.c_str() + i + 1, "%2d:%2d", &zone_hours, &zone_minutes) != 2)
        throw bad();
      offset_minutes = (text[i] == '-' ? -1 : 1) * (std::int64_t{zone_hours} * 60 + zone_minutes);
      i = text.size();
    } else {
      throw bad();
    }
  }
  // Days from the civil date (Howard Hinnant's algorithm), so no time-zone library is involved.
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy =
      static_cast<unsigned>((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1);
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days =
      static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
  const std::int64_t seconds = days * 86400 + std::int64_t{hour} * 3600 +
                               std::int64_t{minute} * 60 + second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

std::pair<std::string, std::string> parse_config_assignment(const std::string& text,
                                                            const std::string& option) {
  const auto equals = text.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw usage_error(option + ": '" + text + "' is not KEY=VALUE");
  }
  return {text.substr(0, equals), text.substr(equals + 1)};
}

command_line parse_command_line(const std::vector<std::string>& args) {
  command_line result;
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    result.help = usage();
    return result;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  const std::string& group = args[0];
  if (group == "topics" || group == "groups") {
    if (rest.empty() || rest[0] == "--help" || rest[0] == "-h") {
      result.help = usage();
      return result;
    }
    result.command = group + " " + rest[0];
    rest.erase(rest.begin());
  } else if (group == "produce" || group == "consume" || group == "cluster" ||
             group == "validate" || group == "describe" || group == "test" ||
             group == "run" || group == "reset") {
    result.command = group;
  } else {
    throw usage_error("sluice: unknown command '" + group + "'\n\n" + usage());
  }
  const auto& command = result.command;
  connection_flags flags;
  po::options_description own("Options of sluice " + command);

  // Every branch declares its options, parses, then fills its args.
  auto finish = [&](parsed& p) -> bool {
    if (p.help) {
      result.help = p.help_text;
      return false;
    }
    result.connection = make_connection(flags);
    return true;
  };

  // Pipeline commands take the file as their first argument.
  const bool pipeline_command = command == "validate" || command == "describe" || command == "test" ||
                                command == "run" || command == "reset";
  std::string pipeline_file;
  if (pipeline_command && !rest.empty() && !rest[0].starts_with("-")) {
    pipeline_file = rest[0];
    rest.erase(rest.begin());
  }
  // `sluice run a.yaml b.yaml`: every pipeline file before the first option.
  std::vector<std::string> more_files;
  while (command == "run" && !rest.empty() && !rest[0].starts_with("-")) {
    more_files.push_back(rest[0]);
    rest.erase(rest.begin());
  }
  auto require_file = [&] {
    if (pipeline_file.empty())
      throw usage_error("sluice " + command + ": the pipeline file is missing (sluice " + command +
                        " FILE)");
  };

  if (command == "validate" || command == "describe" || command == "test") {
    // Offline: the connection options are accepted (and ignored) so that one alias fits all.
    std::string format = "text";
    if (command == "describe") {
      own.add_options()("format", po::value(&format)->value_name("FORMAT"),
                        "text (default), dot (Graphviz), mermaid, or json (for tools; also --json)");
    }
    auto p = parse_options(command, rest, own, flags);
    if (p.help) {
      result.help = command == "describe" ? p.help_text : "Usage: sluice " + command + " FILE\n";
      return result;
    }
    require_file();
    auto parsed = pipelines::parse_describe_format(flags.json ? "json" : format);
    if (!parsed)
      throw usage_error("sluice describe: --format " + format +
                        ": unknown format (text, dot, mermaid or json)");
    result.args = pipeline_file_args{pipeline_file, *parsed};
    return result;
  }
  if (command == "run") {
    run_args a;
    std::int32_t replication = -1;
    own.add_options()("state-dir", po::value(&a.state_dir)->value_name("DIR"),
                      "where the tasks' RocksDB state lives (default /tmp/sluice-state)")(
        "instance-id", po::value(&a.instance_id)->value_name("ID"),
        "this process among the pipeline's instances (transactional id suffix, static member "
        "id); default: a random id kept in the state directory")(
        "on-error", po::value(&a.on_error)->value_name("POLICY"),
        "a record that cannot be processed: stop (default), skip, or dead-letter (to "
        "<name>-dead-letter)")("static-membership", po::bool_switch(),
                               "join the group as a static member (KIP-345; the default)")(
        "dynamic-membership", po::bool_switch(&a.dynamic_membership),
        "join as a dynamic member: a restart after a crash then waits for the dead member's "
        "session timeout")(
        "group-protocol", po::value(&a.group_protocol)->value_name("PROTOCOL"),
        "consumer (KIP-848, the default: a restart is not held up by other members' rebalances) "
        "or classic (JoinGroup; for brokers before 4.0)")(
        "session-timeout-ms", po::value(&a.session_timeout_ms)->value_name("MS"),
        "how long the group waits for a silent member before it hands its partitions on "
        "(default 45000; with the consumer protocol it is set as the group's "
        "consumer.session.timeout.ms, within the broker's bounds)")(
        "stay-in-group-on-stop", po::bool_switch(&a.stay_in_group_on_stop),
        "a stop (SIGTERM) keeps this static member's partitions for it until the session "
        "timeout, for a restart without rebalance (default: hand them over at once)")(
        "memory-mb", po::value(&a.memory_mb)->value_name("MB"),
        "RocksDB memory for the whole process: block cache and memtables (default 512)")(
        "replication-factor", po::value(&replication)->value_name("N"),
        "replicas per partition of the topics the pipeline creates (internal, sink, dead-letter; "
        "default: the broker's default.replication.factor)")(
        "metrics-port", po::value(&a.metrics_port)->value_name("PORT"),
        "serve /metrics (Prometheus), /health and /ready over HTTP on this port (0: any free "
        "port, logged; default: no endpoint)")(
        "metrics-address", po::value(&a.metrics_address)->value_name("ADDRESS"),
        "the address the endpoint listens on (default 0.0.0.0; 127.0.0.1 keeps it local)")(
        "threads", po::value(&a.threads)->value_name("N"),
        "stream threads per pipeline (default 1), each its own consumer, producer and tasks in the "
        "pipeline's group, all in one memory budget (Kafka Streams' num.stream.threads)");
    auto p = parse_options(command, rest, own, flags);
    if (!finish(p)) return result;
    require_file();
    if (replication != -1) a.replication_factor = to_replication_factor(replication);
    if (a.metrics_port < -1 || a.metrics_port > 65535)
      throw usage_error("--metrics-port must be from 0 to 65535, not " + std::to_string(a.metrics_port));
    if (a.memory_mb < 16) throw usage_error("--memory-mb must be at least 16, not " + std::to_string(a.memory_mb));
    if (a.threads < 1 || a.threads > 256)
      throw usage_error("--threads must be from 1 to 256, not " + std::to_string(a.threads));
    if (a.session_timeout_ms < 0)
      throw usage_error("--session-timeout-ms must be positive, not " + std::to_string(a.session_timeout_ms));
    if (!kafka::parse_group_protocol(a.group_protocol))
      throw usage_error("--group-protocol: '" + a.group_protocol + "' is not consumer or classic");
    if (a.on_error != "stop" && a.on_error != "skip" && a.on_error != "dead-letter")
      throw usage_error("--on-error: '" + a.on_error + "' is not stop, skip or dead-letter");
    a.files.push_back(pipeline_file);
    a.files.insert(a.files.end(), more_files.begin(), more_files.end());
    result.args = a;
    return result;
  }
  if (command == "reset") {
    reset_args a;
    own.add_options()("state-dir", po::value(&a.state_dir)->value_name("DIR"),
                      "the state directory `sluice run` used (default /tmp/sluice-state)")(
        "execute", po::bool_switch(&a.execute), "delete (default: print what would be deleted)");
    auto p = parse_options(command, rest, own, flags);
    if (!finish(p)) return result;
    require_file();
    a.file = pipeline_file;
    result.args = a;
    return result;
  }

  if (command == "produce") {
    produce_args a;
    std::int32_t partition = -1;
    std::string transactional_id;
    std::vector<std::string> headers;
    own.add_options()("topic", po::value(&a.topic)->value_name("NAME"),
                      "the topic to write to (required)")(
        "key-separator", po::value(&a.key_separator)->value_name("S"),
        "each line is KEY<S>VALUE, split at the first S; a line without S is an error")(
        "partition", po::value(&partition)->value_name("N"),
        "write every record to partition N (default: by key, or spread)")(
        "header", po::value(&headers)->composing()->value_name("KEY=VALUE"),
        "a header on every record; repeatable (KEY alone: a null value)")(
        "acks", po::value(&a.acks)->value_name("0|1|all"), "acknowledgements to wait for (default all)")(
        "compression", po::value(&a.compression)->value_name("CODEC"),
        "none (default), gzip, snappy, lz4 or zstd")(
        "transactional-id", po::value(&transactional_id)->value_name("ID"),
        "write all of stdin in one transaction, committed at the end (aborted on any error)")(
        "verbose,v", po::bool_switch(&a.verbose), "print the number of records written to stderr");
    auto p = parse_options(command, rest, own, flags);
    if (!finish(p)) return result;
    require(p, command, "topic");
    if (p.values.count("key-separator") && a.key_separator.empty())
      throw usage_error("--key-separator must not be empty");
    if (p.values.count("partition")) {
      if (partition < 0)
        throw usage_error("--partition must not be negative, not " + std::to_string(partition));
      a.partition = partition;
    }
    if (p.values.count("transactional-id")) {
      if (transactional_id.empty()) throw usage_error("--transactional-id must not be empty");
      a.transactional_id = transactional_id;
    }
    for (const auto& header : headers) a.headers.push_back(parse_header(header));
    if (!kafka::parse_acks(a.acks))
      throw usage_error("--acks: '" + a.acks + "' is not 0, 1 or all");
    if (!kafka::parse_compression(a.compression)) {
      throw usage_error("--compression: '" + a.compression +
                        "' is not none, gzip, snappy, lz4 or zstd");
    }
    if (a.transactional_id && *kafka::parse_acks(a.acks) != kafka::acks::all)
      throw usage_error("--transactional-id needs --acks all (transactions are idempotent)");
    result.args = a;
  } else if (command == "consume") {
    consume_args a;
    std::int32_t partition = -1;
    std::string offset;
    std::int64_t from_timestamp = 0;
    std::int64_t max_messages = 0;
    bool from_beginning = false;
    own.add_options()("topic", po::value(&a.topics)->composing()->value_name("NAME"),
                      "a topic to read; repeatable")(
        "pattern", po::value(&a.pattern)->value_name("REGEX"),
        "read every topic whose whole name matches")(
        "group", po::value(&a.group)->value_name("ID"),
        "consume in this consumer group and commit its offsets (default: no group, every "
        "partition)")("partition", po::value(&partition)->value_name("N"),
                      "read only partition N (one --topic, no --group)")(
        "from-beginning", po::bool_switch(&from_beginning),
        "start at the earliest offset (in a group: where nothing is committed)")(
        "offset", po::value(&offset)->value_name("N|earliest|latest"),
        "start at this offset in each partition (no --group)")(
        "from-timestamp", po::value(&from_timestamp)->value_name("MS"),
        "start at the first record at or after this time, ms since the epoch (no --group)")(
        "max-messages", po::value(&max_messages)->value_name("N"), "exit after N records")(
        "isolation-level", po::value(&a.isolation_level)->value_name("LEVEL"),
        "read_uncommitted (default) or read_committed")(
        "format", po::value(&a.format)->value_name("FORMAT"),
        "how to print each record: %t topic, %p partition, %o offset, %k key, %v value, "
        "%h headers (k=v,...), %T timestamp, %% percent; \\n \\t escapes (default %v)")(
        "verbose,v", po::bool_switch(&a.verbose), "print the number of records read to stderr");
    auto p = parse_options(command, rest, own, flags);
    if (!finish(p)) return result;
    exclusive(p, command, {"topic", "pattern"}, true);
    exclusive(p, command, {"from-beginning", "offset", "from-timestamp"}, false);
    if (p.values.count("pattern")) {
      try {
        std::regex check(a.pattern);
      } catch (const std::regex_error& e) {
        throw usage_error("--pattern: '" + a.pattern + "' is not a regular expression: " +
                          e.what());
      }
    }
    if (p.values.count("partition")) {
      if (partition < 0)
        throw usage_error("--partition must not be negative, not " + std::to_string(partition));
      if (a.topics.size() != 1)
        throw usage_error("sluice consume: --partition needs exactly one --topic");
      a.partition = partition;
    }
    if (!a.group.empty()) {
      for (const char* option : {"partition", "offset", "from-timestamp"}) {
        if (p.values.count(option)) {
          throw usage_error(std::string("sluice consume: --") + option +
                            " cannot be used with --group (the group decides the partitions and "
                            "starts at its committed offsets)");
        }
      }
    }
    if (from_beginning) a.start = {start_position::kind::earliest, 0};
    if (p.values.count("offset")) {
      if (offset == "earliest") {
        a.start = {start_position::kind::earliest, 0};
      } else if (offset == "latest") {
        a.start = {start_position::kind::latest, 0};
      } else {
        std::int64_t value = -1;
        auto [ptr, ec] = std::from_chars(offset.data(), offset.data() + offset.size(), value);
        if (ec != std::errc() || ptr != offset.data() + offset.size() || value < 0) {
          throw usage_error("--offset: '" + offset +
                            "' is not an offset (a number >= 0), earliest or latest");
        }
        a.start = {start_position::kind::offset, value};
      }
    }
    if (p.values.count("from-timestamp")) {
      if (from_timestamp < 0) {
        throw usage_error("--from-timestamp must not be negative, not " +
                          std::to_string(from_timestamp));
      }
      a.start = {start_position::kind::timestamp, from_timestamp};
    }
    if (p.values.count("max-messages")) {
      if (max_messages < 1) {
        throw usage_error("--max-messages must be at least 1, not " +
                          std::to_string(max_messages));
      }
      a.max_messages = max_messages;
    }
    // For consume --timeout-ms is the idle timeout of Kafka's console consumer; unset, it runs
    // until stopped (the default still bounds connecting).
    if (!p.values["timeout-ms"].defaulted()) a.idle_timeout = result.connection.timeout;
    if (!kafka::parse_isolation_level(a.isolation_level)) {
      throw usage_error("--isolation-level: '" + a.isolation_level +
                        "' is not read_uncommitted or read_committed");
    }
    parse_record_format(a.format);  // bad directives are usage errors now, not after connecting
    result.args = a;
  } else if (command == "cluster") {
    std::int32_t broker = -1;
    own.add_options()("broker", po::value(&broker)->value_name("ID"),
                      "API versions of this broker only");
    auto p = parse_options(command, rest, own, flags);
    if (!finish(p)) return result;
    cluster_args a;
    if (p.values.count("broker")) a.broker = broker;
    result.args = a;
  } else if (command == "topics create") {
    topics_create_args a;
    std::int32_t replication = -1;
    std::vector<std::string> configs;
    own.add_options()("topic", po::value(&a.topic)->value_name("NAME"),
                      "the topic to create (required)")(
        "partitions", po::value(&a.partitions)->value_name("N"),
        "partition count (default: the broker's num.partitions)")(
        "replication-factor", po::value(&replication)->value_name("N"),
        "replicas per partition (default: the broker's default.replication.factor)")(
        "config", po::value(&configs)->composing()->value_name("KEY=VALUE"),
        "a topic config; repeatable")("validate-only", po::bool_switch(&a.validate_only),
                                      "check that the broker would create it, create nothing")(
        "if-not-exists", po::bool_switch(&a.if_not_exists),
        "succeed when the topic exists already");
    auto p = parse_options(command, rest, own, flags);
    if (!finish(p)) return result;
    require(p, command, "topic");
    if (p.values.count("partitions") && a.partitions < 1) {
      throw usage_error("--partitions must be at least 1, not " + std::to_string(a.partitions));
    }
    a.replication_factor = to_replication_factor(replication);
    a.configs = parse_configs(configs);
    result.args = a;
  } else if (command == "topics list") {
    topics_list_args a;
    own.add_options()("exclude-internal", po::bool_switch(&a.exclude_internal),
                      "leave out internal topics");
    auto p = parse_options(command, rest, own, flags);
    if (!finish(p)) return result;
    result.args = a;
  } else if (command == "topics describe") {
    topics_describe_args a;
    own.add_options()("topic", po::value(&a.topics)->composing()->value_name("NAME"),
                      "a topic to describe; repeatable (default: all)")(
        "exclude-internal", po::bool_switch(&a.exclude_internal), "leave out internal topics");
    auto p = parse_options(command, rest, own, flags);
    if (!finish(p)) return result;
    result.args = a;
  } else if (command == "topics delete") {
    topics_delete_args a;
    own.add_options()("topic", po::value(&a.topics)->composing()->value_name("NAME"),
                      "a topic to delete; repeatable (required)")(
        "if-exists", po::bool_switch(&a.if_exists), "succeed when the topic does not exist");
    auto p = parse_options(command, rest, own, flags);
    if (!finish(p)) return result;
    require(p, command, "topic");
    result.args = a;
  } else if (command == "topics alter") {
    topics_alter_args a;
    std::int32_t partitions = 0;
    std::vector<std::string> configs;
    own.add_options()("topic", po::value(&a.topic)->value_name("NAME"),
                      "the topic to alter (required)")(
        "partitions", po::value(&partitions)->value_name("N"), "grow the topic to N partitions")(
        "config", po::value(&configs)->composing()->value_name("KEY=VALUE"),
        "set a topic config; repeatable")(
        "delete-config", po::value(&a.delete_configs)->composing()->value_name("KEY"),
        "remove a topic config (back to the broker default); repeatable")(
        "validate-only", po::bool_switch(&a.validate_only), "check the change, apply nothing");
    auto p = parse_options(command, rest, own, flags);
    if (!finish(p)) return result;
    require(p, command, "topic");
    if (p.values.count("partitions")) {
      if (partitions < 1)
        throw usage_error("--partitions must be at least 1, not " + std::to_string(partitions));
      a.partitions = partitions;
    }
    a.set_configs = parse_configs(configs);
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
    result.args = a;
  } else if (command == "groups list") {
    auto p = parse_options(command, rest, own, flags);
    if (!finish(p)) return result;
    result.args = groups_list_args{};
  } else if (command == "groups describe" || command == "groups delete") {
    std::vector<std::string> groups;
    own.add_options()("group", po::value(&groups)->composing()->value_name("ID"),
                      "a consumer group; repeatable (required)");
    auto p = parse_options(command, rest, own, flags);
    if (!finish(p)) return result;
    require(p, command, "group");
    if (command == "groups describe") {
      result.args = groups_describe_args{groups};
    } else {
      result.args = groups_delete_args{groups};
    }
  } else if (command == "groups reset-offsets") {
    groups_reset_offsets_args a;
    std::vector<std::string> topics;
    std::int64_t to_offset = 0;
    std::int64_t shift_by = 0;
    std::string datetime;
    bool earliest = false, latest = false, dry_run = false;
    own.add_options()("group", po::value(&a.group)->value_name("ID"),
                      "the consumer group (required; it must have no members)")(
        "topic", po::value(&topics)->composing()->value_name("TOPIC[:P,P]"),
        "reset this topic's partitions (all, or the listed ones); repeatable")(
        "all-topics", po::bool_switch(&a.all_topics),
        "reset every topic the group has committed offsets for")(
        "to-earliest", po::bool_switch(&earliest), "to each partition's earliest offset")(
        "to-latest", po::bool_switch(&latest), "to each partition's latest offset (the end)")(
        "to-offset", po::value(&to_offset)->value_name("N"),
        "to offset N (kept within earliest..latest)")(
        "to-datetime", po::value(&datetime)->value_name("YYYY-MM-DDTHH:MM:SS[.sss][Z|+HH:MM]"),
        "to the first offset with a timestamp at or after this time (no zone: UTC)")(
        "shift-by", po::value(&shift_by)->value_name("N"),
        "move the committed offsets by N (may be negative)")("execute", po::bool_switch(&a.execute),
                                                             "commit the new offsets")(
        "dry-run", po::bool_switch(&dry_run), "only print the new offsets (the default)");
    auto p = parse_options(command, rest, own, flags);
    if (!finish(p)) return result;
    require(p, command, "group");
    exclusive(p, command, {"to-earliest", "to-latest", "to-offset", "to-datetime", "shift-by"},
              true);
    exclusive(p, command, {"execute", "dry-run"}, false);
    exclusive(p, command, {"topic", "all-topics"}, true);
    for (const auto& topic : topics) a.topics.push_back(parse_topic_selection(topic));
    if (earliest) a.target = {reset_target::kind::earliest, 0};
    if (latest) a.target = {reset_target::kind::latest, 0};
    if (p.values.count("to-offset")) {
      if (to_offset < 0)
        throw usage_error("--to-offset must not be negative, not " + std::to_string(to_offset));
      a.target = {reset_target::kind::offset, to_offset};
    }
    if (p.values.count("to-datetime"))
      a.target = {reset_target::kind::datetime, parse_datetime(datetime)};
    if (p.values.count("shift-by")) a.target = {reset_target::kind::shift_by, shift_by};
    result.args = a;
  } else {
    throw usage_error("sluice: unknown command '" + command + "'\n\n" + usage());
  }
  return result;
}

}  // namespace sluice::cli
