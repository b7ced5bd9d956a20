#pragma once

// How a client reaches and authenticates to brokers. Passwords and tokens never reach a log:
// `describe()` redacts them.

#include <optional>
#include <string>

namespace sluice::kafka {

enum class security_protocol : std::uint8_t { plaintext, ssl, sasl_plaintext, sasl_ssl };
enum class sasl_mechanism : std::uint8_t { plain, scram_sha_256, scram_sha_512, oauthbearer };

struct tls_config {
  std::string ca_file;          // PEM CA bundle; empty = the system's default paths
  std::string cert_file;        // client certificate (PEM), for mutual TLS
  std::string key_file;         // client private key (PEM)
  std::string key_password;     // redacted
  bool verify_hostname = true;  // checks the broker's certificate against its host name
};

struct sasl_config {
  sasl_mechanism mechanism = sasl_mechanism::plain;
  std::string username;
  std::string password;     // redacted
  std::string oauth_token;  // OAUTHBEARER: a token the user supplies; redacted
};

struct security_config {
  security_protocol protocol = security_protocol::plaintext;
  tls_config tls;
  sasl_config sasl;

  bool uses_tls() const {
    return protocol == security_protocol::ssl || protocol == security_protocol::sasl_ssl;
  }
  bool uses_sasl() const {
    return protocol == security_protocol::sasl_plaintext || protocol == security_protocol::sasl_ssl;
  }
  // A one-line description for logs, secrets redacted.
  std::string describe() const;
};

const char* to_string(security_protocol protocol) noexcept;
const char* to_string(sasl_mechanism mechanism) noexcept;
// Kafka's spellings ("SASL_SSL", "SCRAM-SHA-512"), case-insensitive; nullopt if unknown.
std::optional<security_protocol> parse_security_protocol(std::string_view text);
std::optional<sasl_mechanism> parse_sasl_mechanism(std::string_view text);

}  // namespace sluice::kafka
