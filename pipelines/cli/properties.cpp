#include "pipelines/cli/properties.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

namespace sluice::cli {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\f';
}

// Appends the UTF-8 encoding of a code point (from a \uXXXX escape).
void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// Resolves escapes of one logical line's key or value.
std::string unescape(std::string_view text, const std::string& where) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char next = text[++i];
    switch (next) {
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        std::uint32_t code = 0;
        if (i + 4 >= text.size()) {
          throw usage_error(where + ": a \\u escape needs four hex digits");
        }
        auto [ptr, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 5, code, 16);
        if (ec != std::errc() || ptr != text.data() + i + 5) {
          throw usage_error(where + ": a \\u escape needs four hex digits");
        }
        append_utf8(out, code);
        i += 4;
        break;
      }
      default:
        out += next;
        break;  // \\ \= \: \# and any other character stand for themselves
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> parse_properties(std::string_view text,
                                                    const std::string& source) {
  std::map<std::string, std::string> result;
  std::size_t position = 0;
  int line_number = 0;
  while (position < text.size()) {
    // Join continued lines into one logical line (leading blanks of a continuation are dropped).
    std::string logical;
    const int first_line = line_number + 1;
    bool continued = true;
    bool first = true;
    while (continued && position < text.size()) {
      auto end = text.find_first_of("\r\n", position);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(position, end - position);
      position = end;
      if (position < text.size() && text[position] == '\r') ++position;
      if (position < text.size() && text[position] == '\n') ++position;
      ++line_number;
      std::size_t start = 0;
      while (start < line.size() && is_space(line[start])) ++start;
      line.remove_prefix(start);
      if (first && (line.empty() || line.front() == '#' || line.front() == '!')) {
        continued = false;
        break;
      }
      first = false;
      std::size_t backslashes = 0;
      while (backslashes < line.size() && line[line.size() - 1 - backslashes] == '\\')
        ++backslashes;
      continued = backslashes % 2 == 1;
      if (continued) line.remove_suffix(1);
      logical += line;
    }
    if (logical.empty()) continue;
    const std::string where = source + ":" + std::to_string(first_line);
    // The key ends at the first unescaped '=', ':' or blank.
    std::size_t key_end = 0;
    while (key_end < logical.size()) {
      const char c = logical[key_end];
      if (c == '\\') {
        key_end += 2;
        continue;
      }
      if (c == '=' || c == ':' || is_space(c)) break;
      ++key_end;
    }
    key_end = std::min(key_end, logical.size());
    std::size_t value_start = key_end;
    while (value_start < logical.size() && is_space(logical[value_start])) ++value_start;
    if (value_start < logical.size() &&
        (logical[value_start] == '=' || logical[value_start] == ':'))
      ++value_start;
    while (value_start < logical.size() && is_space(logical[value_start])) ++value_start;
    auto key = unescape(std::string_view(logical).substr(0, key_end), where);
    if (key.empty()) throw usage_error(where + ": a line with a value but no key");
    result[key] = unescape(std::string_view(logical).substr(value_start), where);
  }
  return result;
}

std::map<std::string, std::string> load_properties_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw usage_error("--command-config: cannot read '" + path + "'");
  std::stringstream content;
  content << file.rdbuf();
  return parse_properties(content.str(), path);
}

jaas_credentials parse_jaas_config(std::string_view text, const std::string& source) {
  try {
    return kafka::parse_jaas_config(text, source);
  } catch (const kafka::property_error& e) {
    throw usage_error(e.what());
  }
}

std::vector<std::string> apply_properties(const std::map<std::string, std::string>& properties,
                                          kafka::client_config& config, const std::string& source) {
  try {
    return kafka::apply_properties({.client = &config}, properties);
  } catch (const kafka::property_error& e) {
    throw usage_error(source + ": " + e.what());
  }
}

std::vector<std::string> apply_command_properties(
    const std::map<std::string, std::string>& properties, const kafka::property_targets& targets,
    const std::string& command) {
  // The connection settings are in connection_settings::client already, with the flags over
  // them and the command's own bounds after them: here they only count as used.
  kafka::client_config connection_already_applied;
  auto command_targets = targets;
  command_targets.client = &connection_already_applied;
  std::vector<std::string> warnings;
  for (const auto& [name, value] : properties) {
    bool applied = false;
    try {
      applied = kafka::apply_property(command_targets, name, value);
    } catch (const kafka::property_error& e) {
      throw usage_error(e.what());
    }
    if (!applied)
      warnings.push_back("'" + name + "' is not used by sluice " + command + "; ignored");
  }
  return warnings;
}

}  // namespace sluice::cli
