#pragma once

// pipeline_definition: what a pipeline file holds: the topology (operators/topology.hpp) and the
// `tests:` section (inputs and expected outputs, run offline by run_pipeline_tests), plus
// spec_error, an error positioned in the file.

#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "operators/record.hpp"
#include "operators/topology.hpp"

namespace sluice::pipelines {

// "pipeline.yaml:12:7: steps[2].filter: unknown function 'lowr'". Line and column are 1-based;
// 0 when unknown (a builder-made topology has no file).
struct spec_error {
  std::string file;
  int line = 0;
  int column = 0;
  std::string path;  // the field, e.g. "window.size"; empty for a file-level error
  std::string message;

  std::string to_string() const;
  bool operator==(const spec_error&) const = default;
};

// One input or expected output record of a test. Values are JSON (YAML scalars, mappings and
// sequences converted; quoted scalars stay strings).
struct test_record {
  std::string topic;  // inputs: a source topic; outputs: the sink or the late topic
  boost::json::value key;
  boost::json::value value;
  std::optional<std::int64_t> timestamp;  // inputs: default 0; outputs: not compared when unset
  std::vector<operators::header> headers;
  std::string path;  // "tests[0].inputs[2]", for messages
  int line = 0;
};

struct pipeline_test {
  std::string name;
  std::vector<test_record> inputs;
  std::vector<test_record> outputs;
  int line = 0;
};

// The pipeline's `kafka:` section: client settings by their Java names (kafka/properties), per
// client. -X flags and --command-config apply to every client, under these.
struct kafka_client_settings {
  std::map<std::string, std::string> consumer, producer, admin;
};

// One entry of the file's `clusters:` section: how to reach a named cluster. `connection` holds
// its bootstrap servers and security settings by their Java names (bootstrap.servers,
// security.protocol, sasl.mechanism, sasl.username, ssl.ca.location, ...: what the command line's
// connection flags stand for), `kafka` its own client settings like the top-level `kafka:`.
struct cluster_definition {
  std::map<std::string, std::string> connection;
  kafka_client_settings kafka;
};

struct pipeline_definition {
  std::string file;
  operators::topology topology;
  kafka_client_settings kafka;
  std::map<std::string, cluster_definition> clusters;  // the names are topology.clusters
  // Standby replicas of each stateful task (runtime_config::standby_replicas); the command
  // line's --standby-replicas wins.
  std::optional<int> standby_replicas;
  std::vector<pipeline_test> tests;
};

}  // namespace sluice::pipelines
