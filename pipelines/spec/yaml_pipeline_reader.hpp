#pragma once

// The YAML loader's reader of a pipeline file (internal to pipelines/spec; yaml_loader.hpp is the
// interface). Its parts live in four files: yaml_loader.cpp (the root, clusters, sources, tables
// and streams), yaml_steps.cpp (steps, joins, the window and the table aggregation),
// yaml_sinks_and_tests.cpp (sinks and the `tests:` section) and yaml_branches.cpp (branches).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operators/function_registry.hpp"
#include "pipelines/spec/yaml_reader.hpp"

namespace sluice::pipelines::yaml_reading {

class pipeline_reader : public reader {
 public:
  pipeline_reader(std::string_view text, std::string file, const ops::function_registry& registry)
      : reader(text, std::move(file)), registry_(registry) {}

  load_result run();

 private:
  // ---- sections ----
  void read_root(const YAML::Node& root, pipeline_definition& def);

  // clusters: {NAME: {bootstrap_servers, <security>, kafka}}: the named clusters sources, tables
  // and sinks refer to. The connection keys are the command line's connection flags, each kept
  // as the Java property it stands for and checked against the same table as -X.
  void read_clusters(const YAML::Node& node, pipeline_definition& def);

  // kafka: {consumer: {...}, producer: {...}, admin: {...}}, each a map of Java client settings
  // (max.poll.records: 1000). Names and values are checked here, against the same table as -X.
  void read_kafka(const YAML::Node& node, const std::string& kafka_path,
                  kafka_client_settings& out);

  void read_sources(const YAML::Node& node, ops::topology& t);
  // A source's `as`: table (true) or stream (false).
  static std::optional<bool> parse_read_as(std::string_view name);

  // cluster: NAME of a source, table or sink at `path` (validate_topology checks the name).
  void read_cluster_name(const YAML::Node& n, const std::string& path, std::string& cluster);

  // tables: or streams: [{name, topic, key_format, value_format}]: topics read as tables or as
  // second streams, for join steps.
  template <class Spec>
  void read_joined_topics(const YAML::Node& node, const std::string& list, const char* what,
                          std::vector<Spec>& out);

  // key_format and value_format of a source, table or sink at `path`.
  void read_formats(const YAML::Node& n, const std::string& path, ops::data_format& key,
                    ops::data_format& value);

  void read_steps(const YAML::Node& node, const std::string& list_path, std::string_view prefix,
                  std::vector<ops::step>& out);

  // user: FUNCTION, or {function, changes_key}; processor: the same, and stores: [STORE, ...].
  void read_function_step(const YAML::Node& body, const std::string& path, ops::step& s);
  // A processor's store: NAME (a key-value store), or
  // {name, kind: key_value|window|session, retention: DURATION, window: DURATION}.
  std::optional<ops::store_spec> read_store(const YAML::Node& n, const std::string& path);

  // join: TABLE, or {table, type: inner|left, into: MEMBER}, or
  // {stream, within, grace, type: inner|left|outer, into: MEMBER}.
  void read_join(const YAML::Node& body, const std::string& path, ops::step& s);

  // window: {...} at `path` ("window", or "branches[i].window"); a default name other than the
  // spec's ("" keeps it).
  void read_window(const YAML::Node& n, const std::string& path, const std::string& default_name,
                   std::optional<ops::windowed_aggregation_spec>& into);

  // table: {name, emit_every, aggregate: [...]}: group by key with no window.
  void read_table(const YAML::Node& n, const std::string& path, const std::string& default_name,
                  std::optional<ops::table_aggregation_spec>& into);

  // The `aggregate:` list of a window or table section.
  void read_aggregations(const YAML::Node& section, const std::string& path,
                         std::vector<ops::aggregation_spec>& into);

  // One sink at `path` ("sink", or "sinks[i]" when there are several); `prefix` starts the
  // default names of its steps.
  void read_sink(const YAML::Node& n, const std::string& path, const std::string& prefix,
                 ops::sink_spec& sink);

  // sink: {...} (one), or sinks: [{...}, ...] (each with `when` and `steps`) of the main chain
  // (`prefix` "") or a branch ("branches[i]."); `step_prefix` starts their steps' default names.
  // `required`: a missing sink is an error.
  void read_sinks(const YAML::Node& parent, const std::string& prefix,
                  const std::string& step_prefix, std::vector<ops::sink_spec>& out, bool required);

  // branches: [{name, from, steps, window | table, after, sink | sinks}, ...] (yaml_branches.cpp).
  void read_branches(const YAML::Node& node, ops::topology& t);

  void read_tests(const YAML::Node& node, pipeline_definition& def);

  void read_records(const YAML::Node& node, const std::string& list_path, bool inputs,
                    std::vector<test_record>& out);

  const ops::function_registry& registry_;
};

}  // namespace sluice::pipelines::yaml_reading
