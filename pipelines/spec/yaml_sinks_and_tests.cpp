#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kafka/properties/client_properties.hpp"
#include "pipelines/spec/yaml_pipeline_reader.hpp"

namespace sluice::pipelines::yaml_reading {

// One sink at `path` ("sink", or "sinks[i]" when there are several); `prefix` starts the
// default names of its steps.
void pipeline_reader::read_sink(const YAML::Node& n, const std::string& path,
                                const std::string& prefix, ops::sink_spec& sink) {
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
    if (auto s =
            string(v, join(path, "topic_from"), "an expression giving the topic of each record")) {
      sink.topic_from = *s;
    }
  }
  if (auto v = n["topics"]) {
    const auto topics_path = join(path, "topics");
    if (sequence(v, topics_path, "topic names")) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (auto s = string(v[i], index(topics_path, i), "a topic name")) sink.topics.push_back(*s);
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

// sink: {...} (one), or sinks: [{...}, ...] (each with `when` and `steps`), of the main chain
// (`prefix` "") or of a branch ("branches[i]."); `step_prefix` starts the default names of the
// sinks' steps.
void pipeline_reader::read_sinks(const YAML::Node& parent, const std::string& prefix,
                                 const std::string& step_prefix, std::vector<ops::sink_spec>& out,
                                 bool required) {
  const auto one = parent["sink"];
  const auto several = parent["sinks"];
  const auto list_path = prefix + "sinks";
  if (one && several) {
    error(list_path, "give sink (one) or sinks (a list), not both");
  }
  if (one) {
    read_sink(one, prefix + "sink", step_prefix + "-", out.emplace_back());
    return;
  }
  if (!several) {
    if (required) {
      const auto parent_path = prefix.empty() ? std::string() : prefix.substr(0, prefix.size() - 1);
      missing(parent_path, "sink", "the sink topic (or sinks: a list of them)");
    }
    return;
  }
  if (!sequence(several, list_path, "sinks ({topic, key_format, value_format, when, steps})")) {
    return;
  }
  for (std::size_t i = 0; i < several.size(); ++i) {
    // A list of one reads as `sink:`, so that its errors name the same paths.
    const bool single = several.size() == 1;
    read_sink(several[i], single ? prefix + "sink" : index(list_path, i),
              single ? step_prefix + "-" : fmt::format("{}{}-", step_prefix, i),
              out.emplace_back());
  }
}

void pipeline_reader::read_tests(const YAML::Node& node, pipeline_definition& def) {
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

void pipeline_reader::read_records(const YAML::Node& node, const std::string& list_path,
                                   bool inputs, std::vector<test_record>& out) {
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
            error_at(it->second.Mark(), join(headers_path, h.key), "expected a text value or null");
          }
          r.headers.push_back(std::move(h));
        }
      }
    }
    out.push_back(std::move(r));
  }
}

}  // namespace sluice::pipelines::yaml_reading
