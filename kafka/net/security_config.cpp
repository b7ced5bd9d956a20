#include "kafka/net/security_config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <type_traits>
#include <utility>

namespace sluice::kafka {

namespace {

constexpr std::array protocols{std::pair{security_protocol::plaintext, "PLAINTEXT"},
                               std::pair{security_protocol::ssl, "SSL"},
                               std::pair{security_protocol::sasl_plaintext, "SASL_PLAINTEXT"},
                               std::pair{security_protocol::sasl_ssl, "SASL_SSL"}};
constexpr std::array mechanisms{std::pair{sasl_mechanism::plain, "PLAIN"},
                                std::pair{sasl_mechanism::scram_sha_256, "SCRAM-SHA-256"},
                                std::pair{sasl_mechanism::scram_sha_512, "SCRAM-SHA-512"},
                                std::pair{sasl_mechanism::oauthbearer, "OAUTHBEARER"}};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

template <typename Table, typename Value>
const char* name_of(const Table& table, Value value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "UNKNOWN";
}

template <typename Table>
auto parse(const Table& table, std::string_view text)
    -> std::optional<std::remove_cvref_t<decltype(table[0].first)>> {
  for (const auto& [value, name] : table)
    if (iequals(name, text)) return value;
  return std::nullopt;
}

}  // namespace

const char* to_string(security_protocol protocol) noexcept {
  return name_of(protocols, protocol);
}
const char* to_string(sasl_mechanism mechanism) noexcept {
  return name_of(mechanisms, mechanism);
}
std::optional<security_protocol> parse_security_protocol(std::string_view text) {
  return parse(protocols, text);
}
std::optional<sasl_mechanism> parse_sasl_mechanism(std::string_view text) {
  return parse(mechanisms, text);
}

std::string security_config::describe() const {
  std::string text = to_string(protocol);
  if (uses_tls()) {
    text += " tls(ca=" + (tls.ca_file.empty() ? std::string("system") : tls.ca_file) +
            (tls.cert_file.empty() ? "" : ", cert=" + tls.cert_file) +
            (tls.key_password.empty() ? "" : ", key_password=[redacted]") +
            ", verify_hostname=" + (tls.verify_hostname ? "true" : "false") + ")";
  }
  if (uses_sasl()) {
    text += std::string(" sasl(") + to_string(sasl.mechanism) + ", user=" + sasl.username +
            (sasl.password.empty() ? "" : ", password=[redacted]") +
            (sasl.oauth_token.empty() ? "" : ", token=[redacted]") + ")";
  }
  return text;
}

}  // namespace sluice::kafka
