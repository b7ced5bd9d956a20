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

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return text;
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
    throw usage_error(
        source +
        ": sasl.jaas.config must read '<LoginModule> required username=\"...\" password=\"...\";'");
  }
  for (;;) {
    skip_blanks();
    if (i >= text.size() || text[i] == ';') break;
    const auto name = word();
    skip_blanks();
    if (i >= text.size() || text[i] != '=') {
      throw usage_error(source + ": sasl.jaas.config: option '" + name + "' has no value");
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
        throw usage_error(source + ": sasl.jaas.config: unterminated quote in option '" + name +
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

std::vector<std::string> apply_properties(const std::map<std::string, std::string>& properties,
                                          kafka::client_config& config, const std::string& source) {
  std::vector<std::string> ignored;
  auto where = [&](const std::string& key) { return source + ": " + key; };
  auto milliseconds = [&](const std::string& key, const std::string& value) {
    std::int64_t ms = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (ec != std::errc() || ptr != value.data() + value.size() || ms <= 0) {
      throw usage_error(where(key) + ": '" + value + "' is not a positive number of milliseconds");
    }
    return std::chrono::milliseconds(ms);
  };
  auto& security = config.security;
  std::string truststore_type = "JKS";
  std::string keystore_type = "JKS";
  if (auto it = properties.find("ssl.truststore.type"); it != properties.end())
    truststore_type = it->second;
  if (auto it = properties.find("ssl.keystore.type"); it != properties.end())
    keystore_type = it->second;
  for (const auto& [key, value] : properties) {
    if (key == "security.protocol") {
      auto parsed = kafka::parse_security_protocol(value);
      if (!parsed) {
        throw usage_error(where(key) + ": '" + value +
                          "' is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL");
      }
      security.protocol = *parsed;
    } else if (key == "sasl.mechanism" || key == "sasl.mechanisms") {
      auto parsed = kafka::parse_sasl_mechanism(value);
      if (!parsed) {
        throw usage_error(
            where(key) + ": '" + value +
            "' is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER)");
      }
      security.sasl.mechanism = *parsed;
    } else if (key == "sasl.jaas.config") {
      auto credentials = parse_jaas_config(value, where(key));
      if (credentials.login_module.find("OAuthBearerLoginModule") == std::string::npos) {
        security.sasl.username = credentials.username;
        security.sasl.password = credentials.password;
      }
    } else if (key == "sasl.username") {
      security.sasl.username = value;
    } else if (key == "sasl.password") {
      security.sasl.password = value;
    } else if (key == "sasl.oauthbearer.token") {
      security.sasl.oauth_token = value;
    } else if (key == "ssl.ca.location") {
      security.tls.ca_file = value;
    } else if (key == "ssl.truststore.location") {
      // Kafka reads PEM truststores since KIP-651; Sluice uses OpenSSL, which has no JKS/PKCS12
      // reader.
      if (lower(truststore_type) != "pem") {
        throw usage_error(
            where(key) + ": a " + truststore_type +
            " truststore cannot be read; convert it to PEM and set ssl.truststore.type=PEM "
            "(or use ssl.ca.location)");
      }
      security.tls.ca_file = value;
    } else if (key == "ssl.keystore.location") {
      if (lower(keystore_type) != "pem") {
        throw usage_error(
            where(key) + ": a " + keystore_type +
            " keystore cannot be read; convert it to PEM (certificate and key in one file) and set "
            "ssl.keystore.type=PEM (or use ssl.certificate.location and ssl.key.location)");
      }
      security.tls.cert_file = value;
      security.tls.key_file = value;
    } else if (key == "ssl.certificate.location") {
      security.tls.cert_file = value;
    } else if (key == "ssl.key.location") {
      security.tls.key_file = value;
    } else if (key == "ssl.key.password" || key == "ssl.keystore.password") {
      security.tls.key_password = value;
    } else if (key == "ssl.endpoint.identification.algorithm") {
      // Kafka: "https" verifies the host name, an empty value turns the check off.
      security.tls.verify_hostname = !value.empty();
    } else if (key == "client.id") {
      config.client_id = value;
    } else if (key == "request.timeout.ms") {
      config.request_timeout = milliseconds(key, value);
    } else if (key == "bootstrap.servers") {
      config.bootstrap_servers = kafka::parse_bootstrap_servers(value);
    } else if (key == "ssl.truststore.type" || key == "ssl.keystore.type" ||
               key == "ssl.truststore.password") {
      // Read above (types), or meaningless for PEM files (the truststore password).
    } else {
      ignored.push_back(key);
    }
  }
  return ignored;
}

}  // namespace sluice::cli
