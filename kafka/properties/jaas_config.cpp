#include "kafka/properties/jaas_config.hpp"

#include <algorithm>
#include <cctype>

#include "kafka/properties/client_properties.hpp"

namespace sluice::kafka {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return text;
}

}  // namespace

jaas_credentials parse_jaas_config(std::string_view text, const std::string& source) {
  jaas_credentials result;
  std::size_t i = 0;
  auto skip_blanks = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  auto word = [&] {
    skip_blanks();
    const auto start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) &&
           text[i] != '=' && text[i] != ';') {
      ++i;
    }
    return std::string(text.substr(start, i - start));
  };
  result.login_module = word();
  const auto flag = lower(word());
  if (result.login_module.empty() ||
      (flag != "required" && flag != "requisite" && flag != "sufficient" && flag != "optional")) {
    throw property_error(
        source +
        ": sasl.jaas.config must read '<LoginModule> required username=\"...\" password=\"...\";'");
  }
  for (;;) {
    skip_blanks();
    if (i >= text.size() || text[i] == ';') break;
    const auto name = word();
    skip_blanks();
    if (i >= text.size() || text[i] != '=') {
      throw property_error(source + ": sasl.jaas.config: option '" + name + "' has no value");
    }
    ++i;
    skip_blanks();
    std::string value;
    if (i < text.size() && text[i] == '"') {
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        value += text[i++];
      }
      if (i >= text.size())
        throw property_error(source + ": sasl.jaas.config: unterminated quote in option '" + name +
                             "'");
      ++i;
    } else {
      value = word();
    }
    if (name == "username") result.username = value;
    if (name == "password") result.password = value;
  }
  return result;
}

}  // namespace sluice::kafka
