#pragma once

// run_tests: the `tests:` of a pipeline file, run offline. Each test starts from empty in-memory
// stores, feeds its inputs in order through the real operators (serdes included: inputs are
// encoded with the source formats, outputs decoded with the sink's), routes records written to
// an internal repartition topic straight into the next sub-topology, commits the stores after
// every input, and compares the records written to the sink (and the late topic) with the
// expected outputs, in order. Numbers compare by value (1 == 1.0), objects regardless of member
// order; an expected output without a timestamp matches any timestamp. A processing error fails
// the test with the error, as the runtime would stop on it.

#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "operators/function_registry.hpp"
#include "pipelines/spec/pipeline_definition.hpp"

namespace sluice::pipelines {

struct test_case_result {
  std::string name;
  int line = 0;
  bool passed = false;
  // Failed: the expected and actual records side by side (- expected, + actual), or the error.
  std::string report;
};

std::vector<test_case_result> run_tests(const pipeline_definition& pipeline,
                                        const operators::function_registry& registry);

// JSON equality where numbers compare by value and objects ignore member order.
bool json_equivalent(const boost::json::value& a, const boost::json::value& b);

}  // namespace sluice::pipelines
