#pragma once

// What the YAML loader's parts share (internal to pipelines/spec): the file's text, the position
// of every field read so far, the errors found, and typed reads of YAML nodes that report a wrong
// type or value at the node's line and column. pipeline_reader (yaml_pipeline_reader.hpp) reads a
// pipeline file with them.

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <boost/json/value.hpp>
#include <cstddef>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "operators/data_format.hpp"
#include "operators/topology.hpp"
#include "operators/topology_validation.hpp"
#include "pipelines/spec/yaml_loader.hpp"

namespace sluice::pipelines::yaml_reading {

namespace ops = sluice::operators;
namespace json = boost::json;

// The paths errors name: "sources[0].topic".
std::string join(const std::string& path, std::string_view key);
std::string index(const std::string& path, std::size_t i);
// " (did you mean 'x'?)" when `got` is a close misspelling of a known name, else "".
std::string suggestion(std::string_view got, std::initializer_list<std::string_view> known);
// "a, b, c".
std::string list(std::initializer_list<std::string_view> known);

inline const std::initializer_list<std::string_view> format_names = {"json", "string", "bytes",
                                                                     "int64", "double"};

class reader {
 public:
  reader(std::string_view text, std::string file);

 protected:
  // ---- errors and positions ----
  void error_at(const YAML::Mark& mark, std::string path, std::string message);

  void error(const std::string& path, std::string message);

  // A required key is absent: the error names the missing field and points at its parent.
  void missing(const std::string& parent, std::string_view key, std::string_view what);

  // The mark of `path`, or of its closest known parent ("steps[2].map.x" -> "steps[2].map").
  std::pair<YAML::Mark, bool> resolve(std::string path) const;

  void remember(const std::string& path, const YAML::Node& value, const YAML::Mark& fallback);

  void add_validation_error(const ops::topology_error& e);

  load_result finish(std::optional<pipeline_definition> def);

  // ---- typed reads ----
  // Checks that `node` is a mapping with only `allowed` keys, remembers each value's mark, and
  // returns false (after reporting) when it is not a mapping.
  bool mapping(const YAML::Node& node, const std::string& path,
               std::initializer_list<std::string_view> allowed);

  bool sequence(const YAML::Node& node, const std::string& path, std::string_view what);

  std::optional<std::string> string(const YAML::Node& node, const std::string& path,
                                    std::string_view what);

  std::optional<ops::duration> duration(const YAML::Node& node, const std::string& path);

  std::optional<int> small_count(const YAML::Node& node, const std::string& path, int min, int max);

  std::optional<bool> boolean(const YAML::Node& node, const std::string& path);

  template <class Enum>
  std::optional<Enum> choice(const YAML::Node& node, const std::string& path,
                             std::optional<Enum> (*parse)(std::string_view),
                             std::initializer_list<std::string_view> names) {
    if (node.IsScalar()) {
      if (auto v = parse(node.Scalar())) {
        return v;
      }
      error(path, fmt::format("unknown value '{}'{}; expected one of: {}", node.Scalar(),
                              suggestion(node.Scalar(), names), list(names)));
      return std::nullopt;
    }
    error(path, fmt::format("expected one of: {}", list(names)));
    return std::nullopt;
  }

  static std::optional<ops::data_format> parse_format(std::string_view s);

  // YAML -> JSON: quoted scalars are strings; plain scalars are null, booleans, integers or
  // numbers when they read as such (YAML 1.2 core schema), else strings.
  json::value to_json(const YAML::Node& node, const std::string& path);

  std::string_view text_;
  std::string file_;
  std::vector<std::string_view> lines_;
  std::map<std::string, YAML::Mark> marks_;
  std::vector<spec_error> errors_;
};

}  // namespace sluice::pipelines::yaml_reading
