#include "pipelines/spec/yaml_loader.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "kafka/properties/client_properties.hpp"
#include "operators/topology_validation.hpp"

namespace sluice::pipelines {

namespace ops = sluice::operators;
namespace json = boost::json;

std::string spec_error::to_string() const {
  std::string out = file;
  if (line > 0) {
    out += fmt::format(":{}:{}", line, column);
  }
  out += ": ";
  if (!path.empty()) {
    out += path + ": ";
  }
  out += message;
  return out;
}

std::optional<ops::duration> parse_duration(std::string_view text) {
  if (text == "0") {
    return ops::duration{0};
  }
  std::int64_t amount = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), amount);
  if (ec != std::errc() || end == text.data() || amount < 0) {
    return std::nullopt;
  }
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::int64_t scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else if (unit == "d") {
    scale = 86'400'000;
  } else {
    return std::nullopt;
  }
  std::int64_t millis = 0;
  if (__builtin_mul_overflow(amount, scale, &millis)) {
    return std::nullopt;
  }
  return ops::duration{millis};
}

std::string format_duration(ops::duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) {
    return "0";
  }
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  constexpr std::pair<std::int64_t, std::string_view> units[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& [scale, name] : units) {
    if (ms >= scale) {
      out += fmt::format("{}{}", ms / scale, name);
      ms %= scale;
    }
  }
  return out;
}

namespace {

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}
std::string index(const std::string& path, std::size_t i) {
  return fmt::format("{}[{}]", path, i);
}

// Levenshtein distance, for "did you mean" on unknown keys and names.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string suggestion(std::string_view got, std::initializer_list<std::string_view> known) {
  std::string_view best;
  std::size_t best_distance = 3;  // only close misspellings
  for (auto k : known) {
    const auto d = distance(got, k);
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  return best.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", best);
}

std::string list(std::initializer_list<std::string_view> known) {
  std::string out;
  for (auto k : known) {
    if (!out.empty()) {
      out += ", ";
    }
    out += k;
  }
  return out;
}

const std::initializer_list<std::string_view> format_names = {"json", "string", "bytes", "int64",
                                                              "double"};

class loader {
 public:
  loader(std::string_view text, std::string file, const ops::function_registry& registry)
      : text_(text), file_(std::move(file)), registry_(registry) {
    std::size_t start = 0;
    while (start <= text_.size()) {
      const auto end = text_.find('\n', start);
      lines_.push_back(text_.substr(
          start, end == std::string_view::npos ? std::string_view::npos : end - start));
      if (end == std::string_view::npos) {
        break;
      }
      start = end + 1;
    }
  }

  load_result run() {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text_));
    } catch (const YAML::ParserException& e) {
      errors_.push_back(
          spec_error{file_, e.mark.line + 1, e.mark.column + 1, "", "not valid YAML: " + e.msg});
      return finish(std::nullopt);
    }
    if (!root.IsMap()) {
      errors_.push_back(spec_error{file_, 1, 1, "",
                                   "expected a mapping with name, sources, "
                                   "steps, window, sink and tests"});
      return finish(std::nullopt);
    }
    pipeline_definition def;
    def.file = file_;
    read_root(root, def);
    // Validation runs even after structural errors, so one pass shows every problem; an error
    // on a field (or inside it) that already has one is a consequence and is left out.
    const auto structural = errors_;
    for (const auto& e : ops::validate_topology(def.topology, registry_)) {
      const bool already =
          std::any_of(structural.begin(), structural.end(), [&](const spec_error& s) {
            return !s.path.empty() &&
                   (e.path == s.path || e.path.starts_with(s.path + ".") ||
                    e.path.starts_with(s.path + "[") || s.path.starts_with(e.path + ".") ||
                    s.path.starts_with(e.path + "["));
          });
      if (!already) {
        add_validation_error(e);
      }
    }
    return finish(std::move(def));
  }

 private:
  // ---- errors and positions ----

  void error_at(const YAML::Mark& mark, std::string path, std::string message) {
    errors_.push_back(
        spec_error{file_, mark.line + 1, mark.column + 1, std::move(path), std::move(message)});
  }

  void error(const std::string& path, std::string message) {
    const auto [mark, found] = resolve(path);
    errors_.push_back(spec_error{file_, found ? mark.line + 1 : 0, found ? mark.column + 1 : 0,
                                 path, std::move(message)});
  }

  // A required key is absent: the error names the missing field and points at its parent.
  void missing(const std::string& parent, std::string_view key, std::string_view what) {
    const auto [mark, found] = resolve(parent);
    errors_.push_back(spec_error{file_, found ? mark.line + 1 : 1, found ? mark.column + 1 : 1,
                                 join(parent, key), fmt::format("missing: {}", what)});
  }

  // The mark of `path`, or of its closest known parent ("steps[2].map.x" -> "steps[2].map").
  std::pair<YAML::Mark, bool> resolve(std::string path) const {
    while (!path.empty()) {
      if (auto it = marks_.find(path); it != marks_.end()) {
        return {it->second, true};
      }
      const auto cut = path.find_last_of(".[");
      if (cut == std::string::npos) {
        break;
      }
      path.resize(cut);
    }
    return {YAML::Mark(), false};
  }

  void remember(const std::string& path, const YAML::Node& value, const YAML::Mark& fallback) {
    marks_[path] = (!value || value.IsNull()) ? fallback : value.Mark();
  }

  void add_validation_error(const ops::topology_error& e) {
    auto [mark, found] = resolve(e.path);
    if (!found) {
      errors_.push_back(spec_error{file_, 0, 0, e.path, e.message});
      return;
    }
    int line = mark.line + 1;
    int column = mark.column + 1;
    // Point into a one-line expression: skip the opening quote of a quoted scalar; block
    // scalars (| >) keep the field's position.
    if (e.expression_position && static_cast<std::size_t>(mark.line) < lines_.size()) {
      const auto text = lines_[static_cast<std::size_t>(mark.line)];
      const auto col = static_cast<std::size_t>(mark.column);
      if (col < text.size() && text[col] != '|' && text[col] != '>') {
        const int quote = (text[col] == '"' || text[col] == '\'') ? 1 : 0;
        column += quote + static_cast<int>(*e.expression_position);
      }
    }
    errors_.push_back(spec_error{file_, line, column, e.path, e.message});
  }

  load_result finish(std::optional<pipeline_definition> def) {
    std::stable_sort(errors_.begin(), errors_.end(), [](const spec_error& a, const spec_error& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    load_result out;
    out.errors = std::move(errors_);
    if (out.errors.empty()) {
      out.pipeline = std::move(def);
    }
    return out;
  }

  // ---- typed reads ----

  // Checks that `node` is a mapping with only `allowed` keys, remembers each value's mark, and
  // returns false (after reporting) when it is not a mapping.
  bool mapping(const YAML::Node& node, const std::string& path,
               std::initializer_list<std::string_view> allowed) {
    if (!node.IsMap()) {
      error_at(node.Mark(), path, fmt::format("expected a mapping with keys {}", list(allowed)));
      return false;
    }
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) {
        error_at(it->first.Mark(), path, "keys must be plain names");
        continue;
      }
      const auto key = it->first.Scalar();
      const auto key_path = join(path, key);
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        error_at(it->first.Mark(), key_path,
                 fmt::format("unknown key '{}'{}; expected one of: {}", key,
                             suggestion(key, allowed), list(allowed)));
        continue;
      }
      if (!seen.insert(key).second) {
        error_at(it->first.Mark(), key_path, fmt::format("key '{}' is set twice", key));
      }
      remember(key_path, it->second, it->first.Mark());
    }
    return true;
  }

  bool sequence(const YAML::Node& node, const std::string& path, std::string_view what) {
    if (!node.IsSequence()) {
      error(path, fmt::format("expected a list of {}", what));
      return false;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      remember(index(path, i), node[i], node.Mark());
    }
    return true;
  }

  std::optional<std::string> string(const YAML::Node& node, const std::string& path,
                                    std::string_view what) {
    if (!node.IsScalar()) {
      error(path, fmt::format("expected {}", what));
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<ops::duration> duration(const YAML::Node& node, const std::string& path) {
    auto text = node.IsScalar() ? std::optional<std::string>(node.Scalar()) : std::nullopt;
    auto parsed = text ? parse_duration(*text) : std::nullopt;
    if (!parsed) {
      error(path, "expected a duration like 10s, 5m, 250ms (units ms, s, m, h, d)");
      return std::nullopt;
    }
    return parsed;
  }

  std::optional<int> small_count(const YAML::Node& node, const std::string& path, int min,
                                 int max) {
    int value = 0;
    if (node.IsScalar()) {
      const auto& text = node.Scalar();
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec == std::errc() && end == text.data() + text.size() && value >= min && value <= max)
        return value;
    }
    error(path, fmt::format("expected a whole number from {} to {}", min, max));
    return std::nullopt;
  }

  std::optional<bool> boolean(const YAML::Node& node, const std::string& path) {
    if (node.IsScalar()) {
      const auto& s = node.Scalar();
      if (s == "true" || s == "True" || s == "TRUE") {
        return true;
      }
      if (s == "false" || s == "False" || s == "FALSE") {
        return false;
      }
    }
    error(path, "expected true or false");
    return std::nullopt;
  }

  template <class Enum>
  std::optional<Enum> choice(const YAML::Node& node, const std::string& path,
                             std::optional<Enum> (*parse)(std::string_view),
                             std::initializer_list<std::string_view> names) {
    if (node.IsScalar()) {
      if (auto v = parse(node.Scalar())) {
        return v;
      }
      error(path, fmt::format("unknown value '{}'{}; expected one of: {}", node.Scalar(),
                              suggestion(node.Scalar(), names), list(names)));
      return std::nullopt;
    }
    error(path, fmt::format("expected one of: {}", list(names)));
    return std::nullopt;
  }

  static std::optional<ops::data_format> parse_format(std::string_view s) {
    return ops::parse_data_format(s);
  }

  // YAML -> JSON: quoted scalars are strings; plain scalars are null, booleans, integers or
  // numbers when they read as such (YAML 1.2 core schema), else strings.
  json::value to_json(const YAML::Node& node, const std::string& path) {
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return nullptr;
      case YAML::NodeType::Scalar: {
        const auto& s = node.Scalar();
        if (node.Tag() == "!") {
          return json::string(s);
        }
        if (s == "~" || s == "null" || s == "Null" || s == "NULL") {
          return nullptr;
        }
        if (s == "true" || s == "True" || s == "TRUE") {
          return true;
        }
        if (s == "false" || s == "False" || s == "FALSE") {
          return false;
        }
        const char* first = s.data();
        const char* last = s.data() + s.size();
        std::int64_t i = 0;
        if (auto [end, ec] = std::from_chars(first, last, i); ec == std::errc() && end == last) {
          return i;
        }
        double d = 0;
        if (auto [end, ec] = std::from_chars(first, last, d); ec == std::errc() && end == last) {
          return d;
        }
        return json::string(s);
      }
      case YAML::NodeType::Sequence: {
        json::array out;
        for (std::size_t i = 0; i < node.size(); ++i) {
          out.push_back(to_json(node[i], index(path, i)));
        }
        return out;
      }
      case YAML::NodeType::Map: {
        json::object out;
        for (auto it = node.begin(); it != node.end(); ++it) {
          if (!it->first.IsScalar()) {
            error_at(it->first.Mark(), path, "object keys must be scalars");
            continue;
          }
          out[it->first.Scalar()] = to_json(it->second, join(path, it->first.Scalar()));
        }
        return out;
      }
    }
    return nullptr;
  }

  // ---- sections ----

  void read_root(const YAML::Node& root, pipeline_definition& def) {
    if (!mapping(root, "",
                 {"name", "description", "delivery", "commit_interval", "standby_replicas",
                  "sources", "tables", "streams", "steps", "window", "table", "after", "sink",
                  "sinks", "tests", "kafka", "clusters"})) {
      return;
    }
    auto& t = def.topology;
    if (auto n = root["name"]) {
      if (auto s = string(n, "name", "the pipeline name")) {
        t.name = *s;
      }
    } else {
      missing("", "name", "the pipeline name (its application id)");
    }
    if (auto n = root["description"]) {
      string(n, "description", "a text");
    }
    if (auto n = root["delivery"]) {
      if (auto v =
              choice<ops::delivery_guarantee>(n, "delivery", ops::parse_delivery_guarantee,
                                              {"at_most_once", "at_least_once", "exactly_once"})) {
        t.delivery = *v;
      }
    }
    if (auto n = root["commit_interval"]) {
      t.commit_interval = duration(n, "commit_interval");
    }
    if (auto n = root["standby_replicas"]) {
      def.standby_replicas = small_count(n, "standby_replicas", 0, 16);
    }
    if (auto n = root["sources"]) {
      read_sources(n, t);
    } else {
      missing("", "sources", "the source topics");
    }
    if (auto n = root["tables"]) {
      read_joined_topics(n, "tables", "the topic read as a table", t.tables);
    }
    if (auto n = root["streams"]) {
      read_joined_topics(n, "streams", "the topic of the joined stream", t.streams);
    }
    if (auto n = root["steps"]) {
      read_steps(n, "steps", "", t.steps);
    }
    if (auto n = root["window"]) {
      read_window(n, t);
    }
    if (auto n = root["table"]) {
      read_table(n, t);
    }
    if (auto n = root["after"]) {
      read_steps(n, "after", "after-", t.after);
    }
    read_sinks(root, t);
    if (auto n = root["tests"]) {
      read_tests(n, def);
    }
    if (auto n = root["kafka"]) {
      read_kafka(n, "kafka", def.kafka);
    }
    if (auto n = root["clusters"]) {
      read_clusters(n, def);
    }
  }

  // clusters: {NAME: {bootstrap_servers, <security>, kafka}}: the named clusters sources, tables
  // and sinks refer to. The connection keys are the command line's connection flags, each kept
  // as the Java property it stands for and checked against the same table as -X.
  void read_clusters(const YAML::Node& node, pipeline_definition& def) {
    if (!node.IsMap()) {
      error_at(node.Mark(), "clusters",
               "expected a mapping of cluster names to their settings "
               "(old: {bootstrap_servers: HOST:PORT})");
      return;
    }
    struct connection_key {
      std::string_view key;
      std::string_view property;
    };
    static constexpr connection_key connection_keys[] = {
        {"bootstrap_servers", "bootstrap.servers"},
        {"security_protocol", "security.protocol"},
        {"sasl_mechanism", "sasl.mechanism"},
        {"sasl_username", "sasl.username"},
        {"sasl_password", "sasl.password"},
        {"sasl_oauth_token", "sasl.oauthbearer.token"},
        {"tls_ca_file", "ssl.ca.location"},
        {"tls_cert_file", "ssl.certificate.location"},
        {"tls_key_file", "ssl.key.location"},
        {"tls_key_password", "ssl.key.password"},
        {"client_id", "client.id"}};
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar() || it->first.Scalar().empty()) {
        error_at(it->first.Mark(), "clusters", "cluster names must be plain names");
        continue;
      }
      const auto name = it->first.Scalar();
      const auto path = join("clusters", name);
      marks_[path] = it->first.Mark();  // a missing key points at the cluster's name
      if (!def.topology.clusters.insert(name).second) {
        error_at(it->first.Mark(), path, fmt::format("cluster '{}' is declared twice", name));
        continue;
      }
      if (!mapping(
              it->second, path,
              {"bootstrap_servers", "security_protocol", "sasl_mechanism", "sasl_username",
               "sasl_password", "sasl_oauth_token", "tls_ca_file", "tls_cert_file", "tls_key_file",
               "tls_key_password", "no_hostname_verification", "client_id", "kafka"})) {
        continue;
      }
      auto& cluster = def.clusters[name];
      kafka::client_config probe;  // the values are checked here, where a bad one has a line
      for (const auto& [key, property] : connection_keys) {
        const auto v = it->second[std::string(key)];
        if (!v) continue;
        const auto key_path = join(path, key);
        auto value = string(v, key_path, "a single value");
        if (!value) continue;
        try {
          kafka::apply_property({.client = &probe}, property, *value);
          cluster.connection[std::string(property)] = *value;
        } catch (const kafka::property_error& e) {
          error(key_path, e.what());
        }
      }
      if (auto v = it->second["no_hostname_verification"]) {
        if (auto off = boolean(v, join(path, "no_hostname_verification")); off && *off) {
          cluster.connection["ssl.endpoint.identification.algorithm"] = "";
        }
      }
      if (!it->second["bootstrap_servers"]) {
        missing(path, "bootstrap_servers", "the cluster's brokers (HOST:PORT[,...])");
      }
      if (probe.security.uses_sasl() &&
          probe.security.sasl.mechanism != kafka::sasl_mechanism::oauthbearer &&
          probe.security.sasl.username.empty()) {
        missing(path, "sasl_username", "the SASL user name (SASL needs one)");
      }
      if (auto v = it->second["kafka"]) {
        read_kafka(v, join(path, "kafka"), cluster.kafka);
      }
    }
  }

  // kafka: {consumer: {...}, producer: {...}, admin: {...}}, each a map of Java client settings
  // (max.poll.records: 1000). Names and values are checked here, against the same table as -X.
  void read_kafka(const YAML::Node& node, const std::string& kafka_path,
                  kafka_client_settings& out) {
    if (!mapping(node, kafka_path, {"consumer", "producer", "admin"})) return;
    struct part {
      const char* name;
      std::map<std::string, std::string>* settings;
    };
    for (const auto& [name, settings] :
         {part{"consumer", &out.consumer}, part{"producer", &out.producer},
          part{"admin", &out.admin}}) {
      const auto n = node[name];
      if (!n) continue;
      const auto path = join(kafka_path, name);
      if (!n.IsMap()) {
        error_at(n.Mark(), path,
                 "expected a mapping of client settings by their Java names (linger.ms: 20)");
        continue;
      }
      for (auto it = n.begin(); it != n.end(); ++it) {
        const auto key = it->first.Scalar();
        if (!it->second.IsScalar()) {
          error_at(it->second.Mark(), join(path, key), "expected a single value");
          continue;
        }
        const auto value = it->second.Scalar();
        kafka::consumer_config consumer;
        kafka::producer_config producer;
        const auto targets =
            std::string_view(name) == "consumer"   ? kafka::property_targets{.consumer = &consumer}
            : std::string_view(name) == "producer" ? kafka::property_targets{.producer = &producer}
                                                   : kafka::property_targets{.client = &consumer};
        try {
          if (!kafka::apply_property(targets, key, value)) {
            error_at(it->first.Mark(), join(path, key),
                     fmt::format("'{}' is not {} setting", key,
                                 std::string_view(name) == "admin" ? "an admin"
                                                                   : std::string("a ") + name));
            continue;
          }
        } catch (const kafka::property_error& e) {
          error_at(it->first.Mark(), join(path, key), e.what());
          continue;
        }
        (*settings)[key] = value;
      }
    }
  }

  void read_sources(const YAML::Node& node, ops::topology& t) {
    if (!sequence(node, "sources", "sources ({topics: [...], key_format, value_format})")) {
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const auto path = index("sources", i);
      const auto& n = node[i];
      if (!mapping(n, path, {"topic", "topics", "key_format", "value_format", "cluster"})) {
        continue;
      }
      ops::source_spec source;
      if (n["topic"] && n["topics"]) {
        error(join(path, "topics"), "give topic or topics, not both");
      }
      if (auto topic = n["topic"]) {
        if (auto s = string(topic, join(path, "topic"), "a topic name")) {
          source.topics.push_back(*s);
          remember(join(path, "topics"), topic, n.Mark());
          remember(index(join(path, "topics"), 0), topic, n.Mark());
        }
      } else if (auto topics = n["topics"]) {
        const auto topics_path = join(path, "topics");
        if (topics.IsScalar()) {
          source.topics.push_back(topics.Scalar());
        } else if (sequence(topics, topics_path, "topic names")) {
          for (std::size_t j = 0; j < topics.size(); ++j) {
            if (auto s = string(topics[j], index(topics_path, j), "a topic name")) {
              source.topics.push_back(*s);
            }
          }
        }
      } else {
        missing(path, "topic", "topic or topics");
      }
      read_formats(n, path, source.key_format, source.value_format);
      read_cluster_name(n, path, source.cluster);
      t.sources.push_back(std::move(source));
    }
  }

  void read_steps(const YAML::Node& node, const std::string& list_path, std::string_view prefix,
                  std::vector<ops::step>& out) {
    if (!sequence(
            node, list_path,
            "steps (filter, map, select_key, flat_map, set_timestamp, user, join, processor)")) {
      return;
    }
    static const std::initializer_list<std::string_view> kinds = {
        "filter", "map", "select_key", "flat_map", "set_timestamp", "user", "join", "processor"};
    for (std::size_t i = 0; i < node.size(); ++i) {
      const auto path = index(list_path, i);
      const auto& n = node[i];
      if (!mapping(n, path,
                   {"name", "filter", "map", "select_key", "flat_map", "set_timestamp", "user",
                    "join", "processor"})) {
        continue;
      }
      ops::step s;
      int found = 0;
      for (auto kind : {ops::step_kind::filter, ops::step_kind::map, ops::step_kind::select_key,
                        ops::step_kind::flat_map, ops::step_kind::set_timestamp,
                        ops::step_kind::user, ops::step_kind::join, ops::step_kind::processor}) {
        if (n[std::string(ops::to_string(kind))]) {
          s.kind = kind;
          ++found;
        }
      }
      if (found != 1) {
        error(path, fmt::format("a step has exactly one of: {}", list(kinds)));
        continue;
      }
      const auto kind_name = std::string(ops::to_string(s.kind));
      const auto body = n[kind_name];
      const auto body_path = join(path, kind_name);
      s.name = fmt::format("{}{}-{}", prefix, kind_name, i);
      if (auto name = n["name"]) {
        if (auto v = string(name, join(path, "name"), "a step name")) {
          s.name = *v;
        }
      }
      switch (s.kind) {
        case ops::step_kind::map:
          if (body.IsMap()) {
            for (auto it = body.begin(); it != body.end(); ++it) {
              const auto field = it->first.Scalar();
              const auto field_path = join(body_path, field);
              remember(field_path, it->second, it->first.Mark());
              if (auto e = string(it->second, field_path, "an expression")) {
                s.fields.push_back(ops::field_expression{field, *e});
              }
            }
            if (s.fields.empty()) {
              error(body_path, "expected at least one field");
            }
          } else if (auto e = string(body, body_path, "an expression or a mapping of fields")) {
            s.expression = *e;
          }
          break;
        case ops::step_kind::flat_map:
          if (body.IsMap()) {
            if (!mapping(body, body_path, {"values", "key"})) {
              break;
            }
            if (auto v = body["values"]) {
              if (auto e = string(v, join(body_path, "values"), "an expression")) {
                s.expression = *e;
              }
            } else {
              missing(body_path, "values", "an expression giving an array");
            }
            if (auto k = body["key"]) {
              if (auto e = string(k, join(body_path, "key"), "an expression")) {
                s.key_expression = *e;
              }
            }
          } else if (auto e = string(body, body_path, "an expression giving an array")) {
            s.expression = *e;
          }
          break;
        case ops::step_kind::user:
        case ops::step_kind::processor:
          read_function_step(body, body_path, s);
          break;
        case ops::step_kind::join:
          read_join(body, body_path, s);
          break;
        default:
          if (auto e = string(body, body_path, "an expression")) {
            s.expression = *e;
          }
          break;
      }
      out.push_back(std::move(s));
    }
  }

  void read_window(const YAML::Node& n, ops::topology& t) {
    const std::string path = "window";
    if (!mapping(n, path,
                 {"name", "type", "size", "advance", "gap", "grace", "time", "emit", "late",
                  "late_topic", "aggregate"})) {
      return;
    }
    ops::windowed_aggregation_spec a;
    if (auto v = n["name"]) {
      if (auto s = string(v, "window.name", "a name")) {
        a.name = *s;
      }
    }
    auto& w = a.window;
    if (auto v = n["type"]) {
      if (auto kind = choice<ops::window_kind>(
              v, "window.type",
              [](std::string_view s) -> std::optional<ops::window_kind> {
                for (auto k : {ops::window_kind::tumbling, ops::window_kind::hopping,
                               ops::window_kind::session}) {
                  if (ops::to_string(k) == s) {
                    return k;
                  }
                }
                return std::nullopt;
              },
              {"tumbling", "hopping", "session"})) {
        w.kind = *kind;
      }
    } else {
      missing(path, "type", "tumbling, hopping or session");
    }
    auto read_duration = [&](const char* key, ops::duration& into) {
      if (auto v = n[key]) {
        if (auto d = duration(v, join(path, key))) {
          into = *d;
        }
      }
    };
    read_duration("size", w.size);
    read_duration("advance", w.advance);
    read_duration("gap", w.gap);
    read_duration("grace", w.grace);
    if (w.kind != ops::window_kind::session && !n["size"] && n["type"]) {
      missing(path, "size", fmt::format("a {} window needs one", ops::to_string(w.kind)));
    }
    if (w.kind == ops::window_kind::hopping && !n["advance"]) {
      missing(path, "advance", "a hopping window needs one");
    }
    if (w.kind == ops::window_kind::session && !n["gap"]) {
      missing(path, "gap", "a session window needs one");
    }
    if (auto v = n["time"]) {
      if (auto s = string(v, "window.time", "an expression giving milliseconds")) {
        a.time_expression = *s;
      }
    }
    if (auto v = n["emit"]) {
      if (auto m = choice<ops::emit_mode>(v, "window.emit",
                                          [](std::string_view s) -> std::optional<ops::emit_mode> {
                                            if (s == "every_update") {
                                              return ops::emit_mode::every_update;
                                            }
                                            if (s == "on_close") {
                                              return ops::emit_mode::on_close;
                                            }
                                            return std::nullopt;
                                          },
                                          {"every_update", "on_close"})) {
        a.emit = *m;
      }
    }
    if (auto v = n["late"]) {
      if (auto p =
              choice<ops::late_policy>(v, "window.late",
                                       [](std::string_view s) -> std::optional<ops::late_policy> {
                                         if (s == "drop") {
                                           return ops::late_policy::drop;
                                         }
                                         if (s == "side_topic") {
                                           return ops::late_policy::side_topic;
                                         }
                                         return std::nullopt;
                                       },
                                       {"drop", "side_topic"})) {
        a.late = *p;
      }
    }
    if (auto v = n["late_topic"]) {
      if (auto s = string(v, "window.late_topic", "a topic name")) {
        a.late_topic = *s;
      }
    }
    read_aggregations(n, path, a.aggregations);
    t.aggregation = std::move(a);
  }

  // table: {name, emit_every, aggregate: [...]}: group by key with no window.
  void read_table(const YAML::Node& n, ops::topology& t) {
    const std::string path = "table";
    if (!mapping(n, path, {"name", "emit_every", "aggregate"})) {
      return;
    }
    ops::table_aggregation_spec a;
    if (auto v = n["name"]) {
      if (auto s = string(v, "table.name", "a name")) {
        a.name = *s;
      }
    }
    if (auto v = n["emit_every"]) {
      if (auto d = duration(v, "table.emit_every")) {
        a.emit_every = *d;
      }
    }
    read_aggregations(n, path, a.aggregations);
    t.table = std::move(a);
  }

  // The `aggregate:` list of a window or table section.
  void read_aggregations(const YAML::Node& section, const std::string& path,
                         std::vector<ops::aggregation_spec>& into) {
    const auto node = section["aggregate"];
    if (!node) {
      missing(path, "aggregate", "a list of {name, function, expression}");
      return;
    }
    const std::string list_path = join(path, "aggregate");
    if (!sequence(node, list_path, "aggregations ({name, function, expression})")) {
      return;
    }
    static const std::initializer_list<std::string_view> functions = {
        "count", "sum", "min", "max", "avg", "first", "last", "count_distinct", "user"};
    for (std::size_t i = 0; i < node.size(); ++i) {
      const auto path = index(list_path, i);
      const auto& n = node[i];
      if (!mapping(n, path, {"name", "function", "expression", "user"})) {
        continue;
      }
      ops::aggregation_spec g;
      if (auto v = n["name"]) {
        if (auto s = string(v, join(path, "name"), "the output name")) {
          g.output = *s;
        }
      } else {
        missing(path, "name", "the output member");
      }
      if (auto v = n["function"]) {
        if (auto f = choice<ops::aggregate_function>(v, join(path, "function"),
                                                     ops::parse_aggregate_function, functions)) {
          g.function = *f;
        }
      } else {
        missing(path, "function", list(functions));
      }
      if (auto v = n["expression"]) {
        if (auto s = string(v, join(path, "expression"), "an expression")) {
          g.expression = *s;
        }
      }
      if (auto v = n["user"]) {
        if (auto s = string(v, join(path, "user"), "a user aggregate name")) {
          g.user_function = *s;
        }
      }
      into.push_back(std::move(g));
    }
  }

  // One sink at `path` ("sink", or "sinks[i]" when there are several); `prefix` starts the
  // default names of its steps.
  void read_sink(const YAML::Node& n, const std::string& path, const std::string& prefix,
                 ops::sink_spec& sink) {
    if (!mapping(n, path,
                 {"topic", "topic_from", "topics", "key_format", "value_format", "when", "steps",
                  "cluster"})) {
      return;
    }
    if (auto v = n["topic"]) {
      if (auto s = string(v, join(path, "topic"), "a topic name")) {
        sink.topic = *s;
      }
    } else if (!n["topic_from"]) {
      missing(path, "topic",
              "a topic name (or topic_from: an expression, with topics: the ones it may give)");
    }
    if (auto v = n["topic_from"]) {
      if (auto s = string(v, join(path, "topic_from"),
                          "an expression giving the topic of each record")) {
        sink.topic_from = *s;
      }
    }
    if (auto v = n["topics"]) {
      const auto topics_path = join(path, "topics");
      if (sequence(v, topics_path, "topic names")) {
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (auto s = string(v[i], index(topics_path, i), "a topic name"))
            sink.topics.push_back(*s);
        }
      }
    }
    read_formats(n, path, sink.key_format, sink.value_format);
    read_cluster_name(n, path, sink.cluster);
    if (auto v = n["when"]) {
      if (auto s = string(v, join(path, "when"), "a predicate on the result")) {
        sink.when = *s;
      }
    }
    if (auto v = n["steps"]) {
      read_steps(v, join(path, "steps"), prefix, sink.steps);
    }
  }

  // sink: {...} (one), or sinks: [{...}, ...] (branches, each with `when` and `steps`).
  void read_sinks(const YAML::Node& root, ops::topology& t) {
    const auto one = root["sink"];
    const auto several = root["sinks"];
    if (one && several) {
      error("sinks", "give sink (one) or sinks (a list), not both");
    }
    if (one) {
      read_sink(one, "sink", "sink-", t.sinks.emplace_back());
      return;
    }
    if (!several) {
      missing("", "sink", "the sink topic (or sinks: a list of them)");
      return;
    }
    if (!sequence(several, "sinks", "sinks ({topic, key_format, value_format, when, steps})")) {
      return;
    }
    for (std::size_t i = 0; i < several.size(); ++i) {
      // A list of one reads as `sink:`, so that its errors name the same paths.
      const bool single = several.size() == 1;
      read_sink(several[i], single ? "sink" : index("sinks", i),
                single ? "sink-" : fmt::format("sink{}-", i), t.sinks.emplace_back());
    }
  }

  // key_format and value_format of a source, table or sink at `path`.
  void read_formats(const YAML::Node& n, const std::string& path, ops::data_format& key,
                    ops::data_format& value) {
    if (auto f = n["key_format"]) {
      if (auto v =
              choice<ops::data_format>(f, join(path, "key_format"), parse_format, format_names)) {
        key = *v;
      }
    }
    if (auto f = n["value_format"]) {
      if (auto v =
              choice<ops::data_format>(f, join(path, "value_format"), parse_format, format_names)) {
        value = *v;
      }
    }
  }

  // cluster: NAME of a source, table or sink at `path` (validate_topology checks the name).
  void read_cluster_name(const YAML::Node& n, const std::string& path, std::string& cluster) {
    if (auto v = n["cluster"]) {
      if (auto name = string(v, join(path, "cluster"), "the name of a cluster from clusters:")) {
        cluster = *name;
      }
    }
  }

  // tables: or streams: [{name, topic, key_format, value_format}]: topics read as tables or as
  // second streams, for join steps.
  template <class Spec>
  void read_joined_topics(const YAML::Node& node, const std::string& list, const char* what,
                          std::vector<Spec>& out) {
    if (!sequence(node, list, list + " ({name, topic, key_format, value_format})")) {
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const auto path = index(list, i);
      const auto& n = node[i];
      if (!mapping(n, path, {"name", "topic", "key_format", "value_format", "cluster"})) {
        continue;
      }
      Spec spec;
      if (auto v = n["topic"]) {
        if (auto topic = string(v, join(path, "topic"), "a topic name")) {
          spec.topic = *topic;
        }
      } else {
        missing(path, "topic", what);
      }
      spec.name = spec.topic;
      if (auto v = n["name"]) {
        if (auto name = string(v, join(path, "name"), "the name join steps use")) {
          spec.name = *name;
        }
      }
      read_formats(n, path, spec.key_format, spec.value_format);
      read_cluster_name(n, path, spec.cluster);
      out.push_back(std::move(spec));
    }
  }

  // user: FUNCTION, or {function, changes_key}; processor: the same, and stores: [NAME, ...].
  void read_function_step(const YAML::Node& body, const std::string& path, ops::step& s) {
    const bool processor = s.kind == ops::step_kind::processor;
    const char* what =
        processor ? "the name of a registered processor" : "the name of a registered function";
    if (!body.IsMap()) {
      if (auto v = string(body, path, what)) {
        s.function = *v;
      }
      return;
    }
    if (!(processor ? mapping(body, path, {"function", "changes_key", "stores"})
                    : mapping(body, path, {"function", "changes_key"}))) {
      return;
    }
    if (auto f = body["function"]) {
      if (auto v = string(f, join(path, "function"), "a function name")) {
        s.function = *v;
      }
    } else {
      missing(path, "function", what);
    }
    if (auto c = body["changes_key"]) {
      if (auto v = boolean(c, join(path, "changes_key"))) {
        s.changes_key = *v;
      }
    }
    if (auto stores = body["stores"]) {
      const auto stores_path = join(path, "stores");
      if (sequence(stores, stores_path, "store names")) {
        for (std::size_t i = 0; i < stores.size(); ++i) {
          if (auto v = string(stores[i], index(stores_path, i), "a store name")) {
            s.stores.push_back(*v);
          }
        }
      }
    }
  }

  // join: TABLE, or {table, type: inner|left, into: MEMBER}, or
  // {stream, within, grace, type: inner|left|outer, into: MEMBER}.
  void read_join(const YAML::Node& body, const std::string& path, ops::step& s) {
    if (body.IsMap()) {
      if (!mapping(body, path, {"table", "stream", "within", "grace", "type", "into"})) {
        return;
      }
      if (auto v = body["stream"]) {
        if (auto stream = string(v, join(path, "stream"), "a stream name")) {
          s.stream = *stream;
        }
        if (auto w = body["within"]) {
          s.within = duration(w, join(path, "within")).value_or(ops::duration{0});
        } else {
          missing(path, "within", "how far apart the joined records' timestamps may be");
        }
        if (auto g = body["grace"]) {
          s.grace = duration(g, join(path, "grace")).value_or(ops::duration{0});
        }
      }
      if (auto v = body["table"]) {
        if (auto table = string(v, join(path, "table"), "a table name")) {
          s.table = *table;
        }
      } else if (s.stream.empty()) {
        missing(path, "table", "the name of a table from tables: (or stream: from streams:)");
      }
      if (auto v = body["type"]) {
        if (auto kind = choice<ops::join_kind>(v, join(path, "type"), ops::parse_join_kind,
                                               {"inner", "left", "outer"})) {
          s.join = *kind;
        }
      }
      if (auto v = body["into"]) {
        if (auto into = string(v, join(path, "into"), "a member name")) {
          s.into = *into;
        }
      }
    } else if (auto table = string(body, path, "a table name or {table, type, into}")) {
      s.table = *table;
    }
    if (s.into.empty()) {
      s.into = s.stream.empty() ? s.table : s.stream;
    }
  }

  void read_tests(const YAML::Node& node, pipeline_definition& def) {
    if (!sequence(node, "tests", "tests ({name, inputs, outputs})")) {
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const auto path = index("tests", i);
      const auto& n = node[i];
      if (!mapping(n, path, {"name", "inputs", "outputs"})) {
        continue;
      }
      pipeline_test test;
      test.line = n.Mark().line + 1;
      test.name = fmt::format("test {}", i);
      if (auto v = n["name"]) {
        if (auto s = string(v, join(path, "name"), "a test name")) {
          test.name = *s;
        }
      }
      if (auto v = n["inputs"]) {
        read_records(v, join(path, "inputs"), true, test.inputs);
      } else {
        missing(path, "inputs", "the input records");
      }
      if (auto v = n["outputs"]) {
        read_records(v, join(path, "outputs"), false, test.outputs);
      } else {
        // An explicit `outputs: []` says "nothing comes out"; a missing key is a mistake.
        missing(path, "outputs", "the expected records (use [] when nothing is expected)");
      }
      def.tests.push_back(std::move(test));
    }
  }

  void read_records(const YAML::Node& node, const std::string& list_path, bool inputs,
                    std::vector<test_record>& out) {
    if (!sequence(node, list_path, "records ({topic, key, value, timestamp})")) {
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const auto path = index(list_path, i);
      const auto& n = node[i];
      const bool ok = inputs ? mapping(n, path, {"topic", "key", "value", "timestamp", "headers"})
                             : mapping(n, path, {"topic", "key", "value", "timestamp"});
      if (!ok) {
        continue;
      }
      test_record r;
      r.path = path;
      r.line = n.Mark().line + 1;
      if (auto v = n["topic"]) {
        if (auto s = string(v, join(path, "topic"), "a topic name")) {
          r.topic = *s;
        }
      }
      if (auto v = n["key"]) {
        r.key = to_json(v, join(path, "key"));
      }
      if (auto v = n["value"]) {
        r.value = to_json(v, join(path, "value"));
      }
      if (auto v = n["timestamp"]) {
        auto ts = to_json(v, join(path, "timestamp"));
        if (ts.is_int64() && ts.get_int64() >= 0) {
          r.timestamp = ts.get_int64();
        } else {
          error(join(path, "timestamp"), "expected milliseconds since the epoch (an integer >= 0)");
        }
      }
      if (auto v = n["headers"]) {
        const auto headers_path = join(path, "headers");
        if (!v.IsMap()) {
          error(headers_path, "expected a mapping of header names to values");
        } else {
          for (auto it = v.begin(); it != v.end(); ++it) {
            ops::header h{it->first.Scalar(), std::nullopt};
            if (it->second.IsScalar()) {
              h.value = it->second.Scalar();
            } else if (!it->second.IsNull()) {
              error_at(it->second.Mark(), join(headers_path, h.key),
                       "expected a text value or null");
            }
            r.headers.push_back(std::move(h));
          }
        }
      }
      out.push_back(std::move(r));
    }
  }

  std::string_view text_;
  std::string file_;
  const ops::function_registry& registry_;
  std::vector<std::string_view> lines_;
  std::map<std::string, YAML::Mark> marks_;
  std::vector<spec_error> errors_;
};

}  // namespace

load_result load_pipeline(std::string_view text, std::string file,
                          const ops::function_registry& registry) {
  return loader(text, std::move(file), registry).run();
}

load_result load_pipeline_file(const std::string& path, const ops::function_registry& registry) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    load_result out;
    out.errors.push_back(spec_error{path, 0, 0, "", "cannot open the file"});
    return out;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_pipeline(text.str(), path, registry);
}

}  // namespace sluice::pipelines
