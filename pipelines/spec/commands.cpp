#include "pipelines/spec/commands.hpp"

#include <fmt/format.h>

#include "pipelines/spec/describe.hpp"
#include "pipelines/spec/yaml_loader.hpp"

namespace sluice::pipelines {

namespace {

std::string error_lines(const std::vector<spec_error>& errors) {
  std::string out;
  for (const auto& e : errors) {
    out += e.to_string() + "\n";
  }
  return out;
}

}  // namespace

validation_result validate_pipeline_file(const std::string& path,
                                         const operators::function_registry& registry) {
  auto loaded = load_pipeline_file(path, registry);
  validation_result out;
  out.errors = std::move(loaded.errors);
  out.ok = out.errors.empty();
  if (out.ok) {
    out.text = fmt::format("{}: ok (pipeline {}, {} tests)\n", path, loaded.pipeline->topology.name,
                           loaded.pipeline->tests.size());
  } else {
    out.text = error_lines(out.errors);
  }
  return out;
}

describe_result describe_pipeline(const std::string& path,
                                  const operators::function_registry& registry,
                                  describe_format format) {
  auto loaded = load_pipeline_file(path, registry);
  if (!loaded.errors.empty()) {
    return describe_result{false, error_lines(loaded.errors)};
  }
  return describe_result{true, describe_as(loaded.pipeline->topology, format)};
}

test_run_result run_pipeline_tests(const std::string& path,
                                   const operators::function_registry& registry) {
  auto loaded = load_pipeline_file(path, registry);
  test_run_result out;
  out.errors = std::move(loaded.errors);
  if (!out.errors.empty()) {
    out.text = error_lines(out.errors);
    return out;
  }
  out.cases = run_tests(*loaded.pipeline, registry);
  std::size_t passed = 0;
  for (const auto& c : out.cases) {
    if (c.passed) {
      ++passed;
      out.text += fmt::format("PASS  {}\n", c.name);
    } else {
      out.text += fmt::format("FAIL  {} ({}:{})\n{}", c.name, path, c.line, c.report);
      if (!c.report.empty() && c.report.back() != '\n') {
        out.text += "\n";
      }
    }
  }
  if (out.cases.empty()) {
    out.text += fmt::format("{}: no tests (add a tests: section)\n", path);
  } else {
    out.text += fmt::format("{}: {} passed, {} failed\n", path, passed, out.cases.size() - passed);
  }
  out.ok = !out.cases.empty() && passed == out.cases.size();
  return out;
}

}  // namespace sluice::pipelines
