#pragma once

// Helpers for operator unit tests: records from JSON text, steps from expressions.

#include <algorithm>
#include <boost/json/parse.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "operators/processing_error.hpp"
#include "operators/processor.hpp"
#include "operators/record.hpp"
#include "operators/topology.hpp"
#include "operators/topology_validation.hpp"

namespace sluice::operators::testing {

inline boost::json::value json(std::string_view text) {
  return boost::json::parse(text);
}

inline record make_record(std::string_view key_json, std::string_view value_json,
                          std::int64_t timestamp = 0, std::int64_t offset = 0) {
  record r;
  r.key = json(key_json);
  r.value = json(value_json);
  r.timestamp = timestamp;
  r.origin = record_origin{"input", 0, offset};
  return r;
}

inline step make_step(step_kind kind, std::string expression, std::string name = "s") {
  step s;
  s.kind = kind;
  s.name = std::move(name);
  s.expression = std::move(expression);
  return s;
}

// Application "app": one source "in" (string keys, JSON values), `steps`, one sink "out".
inline topology linear_pipeline(std::vector<step> steps) {
  topology t;
  t.name = "app";
  t.sources = {source_spec{{"in"}, data_format::string, data_format::json}};
  t.steps = std::move(steps);
  t.sinks = {sink_spec{"out", data_format::string, data_format::json}};
  return t;
}

// A node's context for tests of one processor through the interface: what it forwards is kept in
// `forwarded`, its schedules in `schedules`; it has no stores.
class collecting_context final : public processor_context {
 public:
  std::vector<record> forwarded;
  std::vector<std::pair<std::chrono::milliseconds, punctuation_type>> schedules;
  std::int64_t time = -1;

  void forward(const record& r) override { forwarded.push_back(r); }
  state::kv_store& store(std::string_view name) override { throw no_store(name); }
  state::window_store& window_store(std::string_view name) override { throw no_store(name); }
  state::session_store& session_store(std::string_view name) override { throw no_store(name); }
  std::int64_t stream_time() const override { return time; }
  std::optional<record_metadata> current_record() const override { return std::nullopt; }
  void schedule(std::chrono::milliseconds interval, punctuation_type type) override {
    schedules.emplace_back(interval, type);
  }

 private:
  static std::invalid_argument no_store(std::string_view name) {
    return std::invalid_argument("no store '" + std::string(name) + "' in a test context");
  }
};

// Runs p.process(in) with `context`: the processing_error it threw, if any.
inline std::optional<processing_error> process_through(processor& p, const record& in,
                                                       processor_context& context) {
  try {
    p.process(in, context);
  } catch (const processing_exception& e) {
    return e.error();
  }
  return std::nullopt;
}

// Every validation error of `t` as "path: message".
inline std::vector<std::string> problems(const topology& t) {
  std::vector<std::string> out;
  for (const auto& e : validate_topology(t, {})) out.push_back(e.path + ": " + e.message);
  return out;
}

inline bool contains(const std::vector<std::string>& all, std::string_view text) {
  return std::any_of(all.begin(), all.end(),
                     [&](const std::string& p) { return p.find(text) != p.npos; });
}

}  // namespace sluice::operators::testing
