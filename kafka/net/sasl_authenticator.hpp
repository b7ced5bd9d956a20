#pragma once

// The client side of the SASL exchanges Kafka brokers accept, without any I/O: the connection
// carries each message in a SaslAuthenticate request (KIP-152) and feeds the broker's answer back.
//   PLAIN        RFC 4616: one message, "\0user\0password".
//   SCRAM-SHA-*  RFC 5802/7677: client-first, server-first, client-final (with the proof), and the
//                server's signature is verified, so a broker that does not know the password
//                cannot pass itself off as the real one.
//   OAUTHBEARER  RFC 7628: one message with the user-supplied bearer token (KIP-255).

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "kafka/net/security_config.hpp"

namespace sluice::kafka {

class sasl_authenticator {
 public:
  virtual ~sasl_authenticator() = default;
  // Kafka's mechanism name for SaslHandshake ("SCRAM-SHA-512").
  virtual const char* mechanism_name() const = 0;
  // The first message to send.
  virtual std::string initial_message() = 0;
  // Given the broker's answer: the next message to send, or nullopt when authentication is done.
  // Throws kafka_error (authentication_failed) when the broker's answer is invalid.
  virtual std::optional<std::string> respond(std::string_view challenge) = 0;
};

std::unique_ptr<sasl_authenticator> make_sasl_authenticator(const sasl_config& config);

// SCRAM with a fixed client nonce, for tests against the RFC vectors.
std::unique_ptr<sasl_authenticator> make_scram_authenticator(sasl_mechanism mechanism,
                                                             std::string username,
                                                             std::string password,
                                                             std::string client_nonce);

}  // namespace sluice::kafka
