#pragma once

// Helpers for operator unit tests: records from JSON text, steps from expressions.

#include <boost/json/parse.hpp>
#include <string_view>

#include "operators/record.hpp"
#include "operators/topology.hpp"

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

}  // namespace sluice::operators::testing
