#include "pipelines/cli/command_line.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <charconv>
#include <ctime>
#include <initializer_list>
#include <sstream>

#include "kafka/consumer/consumer_config.hpp"
#include "kafka/net/security_config.hpp"
#include "kafka/producer/producer_config.hpp"
#include "pipelines/cli/command_table.hpp"
#include "pipelines/cli/properties.hpp"

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
void put_flag_properties(const connection_flags& flags,
                         std::map<std::string, std::string>& properties) {
  auto put = [&](const std::string& value, const char* name,
                 std::initializer_list<const char*> synonyms = {}) {
    if (value.empty()) return;
    for (const auto* synonym : synonyms) properties.erase(synonym);
    properties[name] = value;
  };
  if (!flags.security_protocol.empty() &&
      !kafka::parse_security_protocol(flags.security_protocol)) {
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
  if (!flags.command_config.empty())
    settings.properties = load_properties_file(flags.command_config);
  for (auto& [name, value] : parse_x_flags(flags.properties)) settings.properties[name] = value;
  const auto source =
      flags.command_config.empty() ? std::string("-X") : flags.command_config + " / -X";
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

bool is_help(const std::string& word) {
  return word == "--help" || word == "-h";
}

// What a command takes before its options, as usage and help show it.
std::string arguments_text(file_arguments files) {
  switch (files) {
    case file_arguments::none:
      return "";
    case file_arguments::one:
      return " FILE";
    case file_arguments::many:
      return " FILE...";
  }
  return "";
}

// `sluice <command> --help`: the synopsis, the summary, the command's own options and (for
// commands that connect) the connection options.
std::string help_text(const command_spec& spec, const po::options_description& own,
                      const po::options_description& connection) {
  std::ostringstream text;
  std::string summary(spec.summary);
  std::replace(summary.begin(), summary.end(), '\n', ' ');
  text << "Usage: sluice " << spec.name << arguments_text(spec.files) << " [options]\n"
       << summary << "\n\n";
  if (!own.options().empty()) text << own << '\n';
  if (spec.connects) {
    text << connection;
  } else {
    text << "Offline: no connection (the connection options are accepted and ignored).\n";
  }
  return text.str();
}

}  // namespace

std::string usage() {
  // The name column is this wide; a summary's second line starts under its first.
  constexpr std::size_t name_width = 27;
  const auto section = [](command_section which) {
    std::string text;
    for (const auto& spec : command_table()) {
      if (spec.section != which) continue;
      auto name = "  " + std::string(spec.name) + arguments_text(spec.files);
      name.resize(std::max(name.size() + 1, name_width + 2), ' ');
      std::string_view summary = spec.summary;
      for (auto newline = summary.find('\n'); newline != std::string_view::npos;
           newline = summary.find('\n')) {
        name += std::string(summary.substr(0, newline)) + "\n" + std::string(name_width + 2, ' ');
        summary.remove_prefix(newline + 1);
      }
      text += name + std::string(summary) + "\n";
    }
    return text;
  };
  return "Usage: sluice <command> [options]   (every command takes --help)\n"
         "\n"
         "Commands:\n" +
         section(command_section::cluster) +
         "\n"
         "Pipelines (a YAML file, see examples/pipelines/):\n" +
         section(command_section::pipelines) +
         "\n"
         "Every cluster command needs --bootstrap-server HOST:PORT (or a --command-config file "
         "with\n"
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
  if (args.empty() || is_help(args[0]) || args[0] == "help") {
    result.help = usage();
    return result;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  std::string name = args[0];
  if (is_command_group(name)) {
    if (rest.empty() || is_help(rest[0])) {
      result.help = usage();
      return result;
    }
    name += " " + rest[0];
    rest.erase(rest.begin());
  }
  const command_spec* spec = find_command(name);
  if (spec == nullptr) throw usage_error("sluice: unknown command '" + name + "'\n\n" + usage());
  result.command = name;

  parsed_options parsed;
  parsed.command = name;
  // Pipeline files come before the options: `sluice run a.yaml b.yaml --bootstrap-server ...`.
  while (spec->files != file_arguments::none && !rest.empty() && !rest[0].starts_with("-")) {
    parsed.files.push_back(rest[0]);
    rest.erase(rest.begin());
    if (spec->files == file_arguments::one) break;
  }

  po::options_description own("Options of sluice " + name);
  spec->options(own);
  connection_flags flags;
  const auto connection = connection_options(flags);
  po::options_description all;
  all.add(own).add(connection);
  try {
    po::store(po::command_line_parser(rest).options(all).run(), parsed.values);
    if (parsed.values.count("help") > 0) {
      result.help = help_text(*spec, own, connection);
      return result;
    }
    po::notify(parsed.values);
  } catch (const po::error& e) {
    throw usage_error("sluice " + name + ": " + e.what() + " (see sluice " + name + " --help)");
  }
  if (spec->connects) {
    parsed.connection = make_connection(flags);
  } else {
    parsed.connection.json = flags.json;  // describe --json
  }
  if (spec->files != file_arguments::none && parsed.files.empty()) {
    throw usage_error("sluice " + name + ": the pipeline file is missing (sluice " + name +
                      arguments_text(spec->files) + ")");
  }
  result.args = spec->validate(parsed);
  result.connection = std::move(parsed.connection);
  return result;
}

}  // namespace sluice::cli
