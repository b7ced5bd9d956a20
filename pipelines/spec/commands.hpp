#pragma once

// What `sluice validate | describe | test FILE` do, as functions returning results and text so
// the command line is a thin call: print `text`, exit 0 when `ok`, else 1.

#include <string>
#include <vector>

#include "operators/function_registry.hpp"
#include "pipelines/spec/describe_graph.hpp"
#include "pipelines/spec/pipeline_definition.hpp"
#include "pipelines/spec/test_runner.hpp"

namespace sluice::pipelines {

struct validation_result {
  bool ok = false;
  std::vector<spec_error> errors;
  std::string text;  // "FILE: ok (pipeline NAME, N tests)" or one line per error
};

struct describe_result {
  bool ok = false;
  std::string text;  // describe_as(), or the errors
};

struct test_run_result {
  bool ok = false;  // the file is valid, has tests, and every test passed
  std::vector<spec_error> errors;
  std::vector<test_case_result> cases;
  std::string text;  // PASS/FAIL per test with the diff of each failure, then a summary
};

validation_result validate_pipeline_file(const std::string& path,
                                         const operators::function_registry& registry = {});
describe_result describe_pipeline(const std::string& path,
                                  const operators::function_registry& registry = {},
                                  describe_format format = describe_format::text);
test_run_result run_pipeline_tests(const std::string& path,
                                   const operators::function_registry& registry = {});

}  // namespace sluice::pipelines
