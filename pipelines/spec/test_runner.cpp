#include "pipelines/spec/test_runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <deque>
#include <map>
#include <memory>

#include "operators/store_provider.hpp"
#include "operators/sub_topology_processor.hpp"

namespace sluice::pipelines {

namespace ops = sluice::operators;
namespace json = boost::json;

bool json_equivalent(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_double() || b.is_double()) {
      return a.to_number<double>() == b.to_number<double>();
    }
    if (a.is_int64() && b.is_int64()) {
      return a.get_int64() == b.get_int64();
    }
    return a == b;  // Boost.JSON compares int64 and uint64 by value
  }
  if (a.kind() != b.kind()) {
    return false;
  }
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) {
      return false;
    }
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!json_equivalent(x[i], y[i])) {
        return false;
      }
    }
    return true;
  }
  if (a.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) {
      return false;
    }
    for (const auto& [k, v] : x) {
      const auto* other = y.if_contains(k);
      if (other == nullptr || !json_equivalent(v, *other)) {
        return false;
      }
    }
    return true;
  }
  return a == b;
}

namespace {

struct decoded_output {
  std::string topic;
  json::value key;
  json::value value;
  std::int64_t timestamp = 0;
};

std::string show(const std::string& topic, const json::value& key, const json::value& value,
                 std::optional<std::int64_t> timestamp) {
  std::string out =
      fmt::format("topic={} key={} value={}", topic, json::serialize(key), json::serialize(value));
  if (timestamp) {
    out += fmt::format(" timestamp={}", *timestamp);
  }
  return out;
}

class test_run {
 public:
  test_run(const pipeline_definition& p, const ops::function_registry& registry)
      : pipeline_(p), plan_(ops::plan_topology(p.topology)) {
    for (const auto& sub : plan_.sub_topologies) {
      processors_.push_back(std::make_unique<ops::sub_topology_processor>(sub, stores_, registry));
    }
  }

  test_case_result run(const pipeline_test& test) {
    test_case_result result{test.name, test.line, false, {}};
    std::vector<decoded_output> actual;
    for (const auto& input : test.inputs) {
      if (auto failure = feed(input, actual)) {
        result.report = *failure;
        return result;
      }
    }
    compare(test, actual, result);
    return result;
  }

 private:
  std::string where(const test_record& r) const {
    return fmt::format("{}:{}: {}", pipeline_.file, r.line, r.path);
  }

  // The sub-topology reading `topic`, or -1.
  int reader_of(const std::string& topic) const {
    for (std::size_t i = 0; i < plan_.sub_topologies.size(); ++i) {
      for (const auto& s : plan_.sub_topologies[i].sources) {
        if (std::find(s.topics.begin(), s.topics.end(), topic) != s.topics.end()) {
          return static_cast<int>(i);
        }
      }
    }
    return -1;
  }

  std::optional<std::string> feed(const test_record& input, std::vector<decoded_output>& actual) {
    std::string topic = input.topic;
    const auto& sources = pipeline_.topology.sources;
    if (topic.empty()) {
      if (sources.size() != 1 || sources[0].topics.size() != 1) {
        return fmt::format("{}: topic: the pipeline reads several topics; say which", where(input));
      }
      topic = sources[0].topics[0];
    }
    std::optional<ops::source_spec> source;
    for (const auto& s : sources) {
      if (std::find(s.topics.begin(), s.topics.end(), topic) != s.topics.end()) {
        source = s;
      }
    }
    for (const auto& table : pipeline_.topology.tables) {
      if (table.topic == topic)
        source = ops::source_spec{{topic}, table.key_format, table.value_format};
    }
    for (const auto& stream : pipeline_.topology.streams) {
      if (stream.topic == topic)
        source = ops::source_spec{{topic}, stream.key_format, stream.value_format};
    }
    if (!source) {
      return fmt::format("{}: topic '{}' is not a source of the pipeline", where(input), topic);
    }
    ops::record_origin origin{topic, 0, next_offset_[topic]++};
    auto key = ops::encode(source->key_format, input.key, ops::record_part::key, origin);
    if (!key) {
      return fmt::format("{}: key cannot be written as {}: {}", where(input),
                         ops::to_string(source->key_format), key.error().message);
    }
    auto value = ops::encode(source->value_format, input.value, ops::record_part::value, origin);
    if (!value) {
      return fmt::format("{}: value cannot be written as {}: {}", where(input),
                         ops::to_string(source->value_format), value.error().message);
    }

    std::deque<ops::raw_record> queue;
    queue.push_back(ops::raw_record{origin, std::move(key).value(), std::move(value).value(),
                                    input.timestamp.value_or(0), input.headers});
    while (!queue.empty()) {
      auto raw = std::move(queue.front());
      queue.pop_front();
      const int reader = reader_of(raw.origin.topic);
      std::vector<ops::output_record> out;
      if (auto e = processors_[static_cast<std::size_t>(reader)]->process(raw, out)) {
        return fmt::format("{}: processing failed: {}", where(input), e->describe());
      }
      for (auto& o : out) {
        // An internal repartition topic feeds the next sub-topology; a sink of the name of a
        // source is on another cluster (validation refuses it on the same one): an output.
        const auto& repartition = plan_.repartition_topics;
        if (std::find(repartition.begin(), repartition.end(), o.topic) != repartition.end()) {
          ops::record_origin next{o.topic, 0, next_offset_[o.topic]++};
          queue.push_back(ops::raw_record{next, std::move(o.key), std::move(o.value), o.timestamp,
                                          std::move(o.headers)});
          continue;
        }
        auto decoded = decode_output(o);
        if (!decoded) {
          return fmt::format("{}: {}", where(input), decoded.error().message);
        }
        actual.push_back(std::move(decoded).value());
      }
    }
    for (auto& processor : processors_) processor->before_commit();
    stores_.commit_all(state::changelog_offset{++commits_});
    return std::nullopt;
  }

  std::pair<ops::data_format, ops::data_format> formats_of(const std::string& topic) const {
    const auto& t = pipeline_.topology;
    // A late topic: its chain's first sink's key format, JSON values.
    auto late_of = [&](const std::optional<ops::windowed_aggregation_spec>& window) {
      return window && window->late == ops::late_policy::side_topic && topic == window->late_topic;
    };
    auto late_formats = [](const std::vector<ops::sink_spec>& sinks) {
      return std::pair{sinks.empty() ? ops::data_format::string : sinks.front().key_format,
                       ops::data_format::json};
    };
    if (late_of(t.aggregation)) return late_formats(t.sinks);
    for (const auto& b : t.branches) {
      if (late_of(b.aggregation)) return late_formats(b.sinks);
    }
    const auto sinks = t.every_sink();
    for (const auto* sink : sinks) {
      const auto written = sink->written_topics();
      if (std::find(written.begin(), written.end(), topic) != written.end())
        return {sink->key_format, sink->value_format};
    }
    return {sinks.front()->key_format, sinks.front()->value_format};
  }

  ops::processing_result<decoded_output> decode_output(const ops::output_record& o) const {
    const auto [key_format, value_format] = formats_of(o.topic);
    ops::record_origin origin{o.topic, 0, -1};
    auto key = ops::decode(key_format, o.key, ops::record_part::key, origin);
    if (!key) {
      return key.error();
    }
    auto value = ops::decode(value_format, o.value, ops::record_part::value, origin);
    if (!value) {
      return value.error();
    }
    return decoded_output{o.topic, std::move(key).value(), std::move(value).value(), o.timestamp};
  }

  // Expected values go through the same serdes as actual ones, so an int64 sink compares 5 with
  // 5 and a string key "42" written as 42 in YAML still matches.
  std::optional<std::string> normalize(const test_record& r, decoded_output& out) const {
    out.topic = r.topic.empty() ? pipeline_.topology.every_sink().front()->topic : r.topic;
    const auto [key_format, value_format] = formats_of(out.topic);
    ops::record_origin origin{out.topic, 0, -1};
    auto key = ops::encode(key_format, r.key, ops::record_part::key, origin);
    if (!key) {
      return key.error().message;
    }
    auto value = ops::encode(value_format, r.value, ops::record_part::value, origin);
    if (!value) {
      return value.error().message;
    }
    auto k = ops::decode(key_format, *key, ops::record_part::key, origin);
    auto v = ops::decode(value_format, *value, ops::record_part::value, origin);
    if (!k) {
      return k.error().message;
    }
    if (!v) {
      return v.error().message;
    }
    out.key = std::move(k).value();
    out.value = std::move(v).value();
    return std::nullopt;
  }

  void compare(const pipeline_test& test, const std::vector<decoded_output>& actual,
               test_case_result& result) const {
    std::string report;
    bool all_equal = test.outputs.size() == actual.size();
    const std::size_t n = std::max(test.outputs.size(), actual.size());
    for (std::size_t i = 0; i < n; ++i) {
      std::optional<decoded_output> expected;
      const test_record* spec = i < test.outputs.size() ? &test.outputs[i] : nullptr;
      if (spec != nullptr) {
        decoded_output e;
        if (auto problem = normalize(*spec, e)) {
          report += fmt::format("  ! {}: expected output cannot be written: {}\n", where(*spec),
                                *problem);
          all_equal = false;
          continue;
        }
        expected = std::move(e);
      }
      const decoded_output* got = i < actual.size() ? &actual[i] : nullptr;
      if (expected && got && expected->topic == got->topic &&
          json_equivalent(expected->key, got->key) &&
          json_equivalent(expected->value, got->value) &&
          (!spec->timestamp || *spec->timestamp == got->timestamp)) {
        report += fmt::format("    output {}: {}\n", i,
                              show(got->topic, got->key, got->value, got->timestamp));
        continue;
      }
      all_equal = false;
      if (expected) {
        report +=
            fmt::format("  - output {} expected (line {}): {}\n", i, spec->line,
                        show(expected->topic, expected->key, expected->value, spec->timestamp));
      } else {
        report += fmt::format("  - output {} expected: nothing\n", i);
      }
      if (got) {
        report += fmt::format("  + output {} actual:   {}\n", i,
                              show(got->topic, got->key, got->value, got->timestamp));
      } else {
        report += fmt::format("  + output {} actual:   nothing\n", i);
      }
    }
    result.passed = all_equal;
    if (!all_equal) {
      result.report = fmt::format("expected {} outputs, got {}:\n{}", test.outputs.size(),
                                  actual.size(), report);
    }
  }

  const pipeline_definition& pipeline_;
  ops::topology_plan plan_;
  ops::in_memory_store_provider stores_;
  std::vector<std::unique_ptr<ops::sub_topology_processor>> processors_;
  std::map<std::string, std::int64_t> next_offset_;
  std::int64_t commits_ = 0;
};

}  // namespace

std::vector<test_case_result> run_tests(const pipeline_definition& pipeline,
                                        const ops::function_registry& registry) {
  std::vector<test_case_result> results;
  for (const auto& test : pipeline.tests) {
    test_run run(pipeline, registry);  // fresh stores per test
    results.push_back(run.run(test));
  }
  return results;
}

}  // namespace sluice::pipelines
