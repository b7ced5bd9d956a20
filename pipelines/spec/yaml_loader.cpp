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
#include <type_traits>

#include "kafka/properties/client_properties.hpp"
#include "operators/topology_validation.hpp"
#include "pipelines/spec/yaml_pipeline_reader.hpp"

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

namespace yaml_reading {

load_result pipeline_reader::run() {
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

// ---- sections ----
void pipeline_reader::read_root(const YAML::Node& root, pipeline_definition& def) {
  if (!mapping(root, "",
               {"name", "description", "delivery", "commit_interval", "standby_replicas", "sources",
                "tables", "streams", "steps", "window", "table", "after", "sink", "sinks",
                "branches", "tests", "kafka", "clusters"})) {
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
    read_window(n, "window", "", t.aggregation);
  }
  if (auto n = root["table"]) {
    read_table(n, "table", "", t.table);
  }
  if (auto n = root["after"]) {
    read_steps(n, "after", "after-", t.after);
  }
  // With branches the main chain may leave its results to them (validate_topology checks that
  // some branch takes them).
  read_sinks(root, "", "sink", t.sinks, !root["branches"]);
  if (auto n = root["branches"]) {
    read_branches(n, t);
  }
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
void pipeline_reader::read_clusters(const YAML::Node& node, pipeline_definition& def) {
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
void pipeline_reader::read_kafka(const YAML::Node& node, const std::string& kafka_path,
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
                   fmt::format(
                       "'{}' is not {} setting", key,
                       std::string_view(name) == "admin" ? "an admin" : std::string("a ") + name));
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

void pipeline_reader::read_sources(const YAML::Node& node, ops::topology& t) {
  if (!sequence(node, "sources", "sources ({topics: [...], key_format, value_format})")) {
    return;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    const auto path = index("sources", i);
    const auto& n = node[i];
    if (!mapping(n, path, {"topic", "topics", "key_format", "value_format", "cluster", "as"})) {
      continue;
    }
    ops::source_spec source;
    if (auto as = n["as"]) {
      // `as: table`: read as a table, for a table-table join (validate_topology checks the rest).
      source.as_table =
          choice<bool>(as, join(path, "as"), parse_read_as, {"stream", "table"}).value_or(false);
    }
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

std::optional<bool> pipeline_reader::parse_read_as(std::string_view name) {
  if (name == "table") return true;
  if (name == "stream") return false;
  return std::nullopt;
}

// cluster: NAME of a source, table or sink at `path` (validate_topology checks the name).
void pipeline_reader::read_cluster_name(const YAML::Node& n, const std::string& path,
                                        std::string& cluster) {
  if (auto v = n["cluster"]) {
    if (auto name = string(v, join(path, "cluster"), "the name of a cluster from clusters:")) {
      cluster = *name;
    }
  }
}

// tables: or streams: [{name, topic, key_format, value_format}]: topics read as tables or as
// second streams, for join steps. A table may say where its store is restored from
// (restore_from: changelog, the default, or source: the table's topic itself).
template <class Spec>
void pipeline_reader::read_joined_topics(const YAML::Node& node, const std::string& list,
                                         const char* what, std::vector<Spec>& out) {
  if (!sequence(node, list, list + " ({name, topic, key_format, value_format})")) {
    return;
  }
  constexpr bool is_table = std::is_same_v<Spec, ops::table_source_spec>;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const auto path = index(list, i);
    const auto& n = node[i];
    if (!(is_table
              ? mapping(n, path,
                        {"name", "topic", "key_format", "value_format", "cluster", "restore_from"})
              : mapping(n, path, {"name", "topic", "key_format", "value_format", "cluster"}))) {
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
    if constexpr (is_table) {
      if (auto v = n["restore_from"]) {
        if (auto from = choice<ops::table_restore>(
                v, join(path, "restore_from"), ops::parse_table_restore, {"changelog", "source"})) {
          spec.restore_from = *from;
        }
      }
    }
    out.push_back(std::move(spec));
  }
}

// key_format and value_format of a source, table or sink at `path`.
void pipeline_reader::read_formats(const YAML::Node& n, const std::string& path,
                                   ops::data_format& key, ops::data_format& value) {
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

}  // namespace yaml_reading

load_result load_pipeline(std::string_view text, std::string file,
                          const ops::function_registry& registry) {
  return yaml_reading::pipeline_reader(text, std::move(file), registry).run();
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
