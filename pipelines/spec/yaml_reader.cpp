#include "pipelines/spec/yaml_reader.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <charconv>
#include <set>
#include <tuple>

namespace sluice::pipelines::yaml_reading {

namespace {

// Levenshtein distance, for "did you mean" on unknown keys and names.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}
std::string index(const std::string& path, std::size_t i) {
  return fmt::format("{}[{}]", path, i);
}

std::string suggestion(std::string_view got, std::initializer_list<std::string_view> known) {
  std::string_view best;
  std::size_t best_distance = 3;  // only close misspellings
  for (auto k : known) {
    const auto d = distance(got, k);
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  return best.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", best);
}

std::string list(std::initializer_list<std::string_view> known) {
  std::string out;
  for (auto k : known) {
    if (!out.empty()) {
      out += ", ";
    }
    out += k;
  }
  return out;
}

reader::reader(std::string_view text, std::string file) : text_(text), file_(std::move(file)) {
  std::size_t start = 0;
  while (start <= text_.size()) {
    const auto end = text_.find('\n', start);
    lines_.push_back(
        text_.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
}

// ---- errors and positions ----
void reader::error_at(const YAML::Mark& mark, std::string path, std::string message) {
  errors_.push_back(
      spec_error{file_, mark.line + 1, mark.column + 1, std::move(path), std::move(message)});
}

void reader::error(const std::string& path, std::string message) {
  const auto [mark, found] = resolve(path);
  errors_.push_back(spec_error{file_, found ? mark.line + 1 : 0, found ? mark.column + 1 : 0, path,
                               std::move(message)});
}

// A required key is absent: the error names the missing field and points at its parent.
void reader::missing(const std::string& parent, std::string_view key, std::string_view what) {
  const auto [mark, found] = resolve(parent);
  errors_.push_back(spec_error{file_, found ? mark.line + 1 : 1, found ? mark.column + 1 : 1,
                               join(parent, key), fmt::format("missing: {}", what)});
}

// The mark of `path`, or of its closest known parent ("steps[2].map.x" -> "steps[2].map").
std::pair<YAML::Mark, bool> reader::resolve(std::string path) const {
  while (!path.empty()) {
    if (auto it = marks_.find(path); it != marks_.end()) {
      return {it->second, true};
    }
    const auto cut = path.find_last_of(".[");
    if (cut == std::string::npos) {
      break;
    }
    path.resize(cut);
  }
  return {YAML::Mark(), false};
}

void reader::remember(const std::string& path, const YAML::Node& value,
                      const YAML::Mark& fallback) {
  marks_[path] = (!value || value.IsNull()) ? fallback : value.Mark();
}

void reader::add_validation_error(const ops::topology_error& e) {
  auto [mark, found] = resolve(e.path);
  if (!found) {
    errors_.push_back(spec_error{file_, 0, 0, e.path, e.message});
    return;
  }
  int line = mark.line + 1;
  int column = mark.column + 1;
  // Point into a one-line expression: skip the opening quote of a quoted scalar; block
  // scalars (| >) keep the field's position.
  if (e.expression_position && static_cast<std::size_t>(mark.line) < lines_.size()) {
    const auto text = lines_[static_cast<std::size_t>(mark.line)];
    const auto col = static_cast<std::size_t>(mark.column);
    if (col < text.size() && text[col] != '|' && text[col] != '>') {
      const int quote = (text[col] == '"' || text[col] == '\'') ? 1 : 0;
      column += quote + static_cast<int>(*e.expression_position);
    }
  }
  errors_.push_back(spec_error{file_, line, column, e.path, e.message});
}

load_result reader::finish(std::optional<pipeline_definition> def) {
  std::stable_sort(errors_.begin(), errors_.end(), [](const spec_error& a, const spec_error& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  load_result out;
  out.errors = std::move(errors_);
  if (out.errors.empty()) {
    out.pipeline = std::move(def);
  }
  return out;
}

// ---- typed reads ----
// Checks that `node` is a mapping with only `allowed` keys, remembers each value's mark, and
// returns false (after reporting) when it is not a mapping.
bool reader::mapping(const YAML::Node& node, const std::string& path,
                     std::initializer_list<std::string_view> allowed) {
  if (!node.IsMap()) {
    error_at(node.Mark(), path, fmt::format("expected a mapping with keys {}", list(allowed)));
    return false;
  }
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      error_at(it->first.Mark(), path, "keys must be plain names");
      continue;
    }
    const auto key = it->first.Scalar();
    const auto key_path = join(path, key);
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      error_at(it->first.Mark(), key_path,
               fmt::format("unknown key '{}'{}; expected one of: {}", key, suggestion(key, allowed),
                           list(allowed)));
      continue;
    }
    if (!seen.insert(key).second) {
      error_at(it->first.Mark(), key_path, fmt::format("key '{}' is set twice", key));
    }
    remember(key_path, it->second, it->first.Mark());
  }
  return true;
}

bool reader::sequence(const YAML::Node& node, const std::string& path, std::string_view what) {
  if (!node.IsSequence()) {
    error(path, fmt::format("expected a list of {}", what));
    return false;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    remember(index(path, i), node[i], node.Mark());
  }
  return true;
}

std::optional<std::string> reader::string(const YAML::Node& node, const std::string& path,
                                          std::string_view what) {
  if (!node.IsScalar()) {
    error(path, fmt::format("expected {}", what));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<ops::duration> reader::duration(const YAML::Node& node, const std::string& path) {
  auto text = node.IsScalar() ? std::optional<std::string>(node.Scalar()) : std::nullopt;
  auto parsed = text ? parse_duration(*text) : std::nullopt;
  if (!parsed) {
    error(path, "expected a duration like 10s, 5m, 250ms (units ms, s, m, h, d)");
    return std::nullopt;
  }
  return parsed;
}

std::optional<int> reader::small_count(const YAML::Node& node, const std::string& path, int min,
                                       int max) {
  int value = 0;
  if (node.IsScalar()) {
    const auto& text = node.Scalar();
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc() && end == text.data() + text.size() && value >= min && value <= max)
      return value;
  }
  error(path, fmt::format("expected a whole number from {} to {}", min, max));
  return std::nullopt;
}

std::optional<bool> reader::boolean(const YAML::Node& node, const std::string& path) {
  if (node.IsScalar()) {
    const auto& s = node.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") {
      return true;
    }
    if (s == "false" || s == "False" || s == "FALSE") {
      return false;
    }
  }
  error(path, "expected true or false");
  return std::nullopt;
}

std::optional<ops::data_format> reader::parse_format(std::string_view s) {
  return ops::parse_data_format(s);
}

// YAML -> JSON: quoted scalars are strings; plain scalars are null, booleans, integers or
// numbers when they read as such (YAML 1.2 core schema), else strings.
json::value reader::to_json(const YAML::Node& node, const std::string& path) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar: {
      const auto& s = node.Scalar();
      if (node.Tag() == "!") {
        return json::string(s);
      }
      if (s == "~" || s == "null" || s == "Null" || s == "NULL") {
        return nullptr;
      }
      if (s == "true" || s == "True" || s == "TRUE") {
        return true;
      }
      if (s == "false" || s == "False" || s == "FALSE") {
        return false;
      }
      const char* first = s.data();
      const char* last = s.data() + s.size();
      std::int64_t i = 0;
      if (auto [end, ec] = std::from_chars(first, last, i); ec == std::errc() && end == last) {
        return i;
      }
      double d = 0;
      if (auto [end, ec] = std::from_chars(first, last, d); ec == std::errc() && end == last) {
        return d;
      }
      return json::string(s);
    }
    case YAML::NodeType::Sequence: {
      json::array out;
      for (std::size_t i = 0; i < node.size(); ++i) {
        out.push_back(to_json(node[i], index(path, i)));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      json::object out;
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!it->first.IsScalar()) {
          error_at(it->first.Mark(), path, "object keys must be scalars");
          continue;
        }
        out[it->first.Scalar()] = to_json(it->second, join(path, it->first.Scalar()));
      }
      return out;
    }
  }
  return nullptr;
}

}  // namespace sluice::pipelines::yaml_reading
