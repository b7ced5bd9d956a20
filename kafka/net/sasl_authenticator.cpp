#include "kafka/net/sasl_authenticator.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>
#include <vector>

#include "kafka/net/net_error.hpp"
#include "kafka/protocol/error_code.hpp"

namespace sluice::kafka {

namespace {

[[noreturn]] void fail(const std::string& why) {
  throw kafka_error(make_error_code(net_error::authentication_failed), "SASL: " + why, false);
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  auto written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                 reinterpret_cast<const unsigned char*>(data.data()),
                                 static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::string base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) fail("bad base64 in the server's SCRAM message");
  std::string out(3 * text.size() / 4, '\0');
  auto written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                 reinterpret_cast<const unsigned char*>(text.data()),
                                 static_cast<int>(text.size()));
  if (written < 0) fail("bad base64 in the server's SCRAM message");
  auto padding =
      text.empty() ? 0 : (text.back() == '=') + (text.size() > 1 && text[text.size() - 2] == '=');
  out.resize(static_cast<std::size_t>(written) - static_cast<std::size_t>(padding));
  return out;
}

class plain_authenticator final : public sasl_authenticator {
 public:
  explicit plain_authenticator(const sasl_config& config) : config_(config) {}
  const char* mechanism_name() const override { return "PLAIN"; }
  std::string initial_message() override {
    std::string message;
    message.push_back('\0');
    message += config_.username;
    message.push_back('\0');
    message += config_.password;
    return message;
  }
  std::optional<std::string> respond(std::string_view) override { return std::nullopt; }

 private:
  sasl_config config_;
};

class oauthbearer_authenticator final : public sasl_authenticator {
 public:
  explicit oauthbearer_authenticator(std::string token) : token_(std::move(token)) {}
  const char* mechanism_name() const override { return "OAUTHBEARER"; }
  std::string initial_message() override {
    return "n,,\x01"
           "auth=Bearer " +
           token_ + "\x01\x01";
  }
  std::optional<std::string> respond(std::string_view challenge) override {
    // A non-empty answer is the broker's error JSON (RFC 7628 section 3.2.2).
    if (!challenge.empty()) fail("OAUTHBEARER rejected: " + std::string(challenge));
    return std::nullopt;
  }

 private:
  std::string token_;
};

class scram_authenticator final : public sasl_authenticator {
 public:
  scram_authenticator(sasl_mechanism mechanism, std::string username, std::string password,
                      std::string nonce)
      : mechanism_(mechanism),
        digest_(mechanism == sasl_mechanism::scram_sha_256 ? EVP_sha256() : EVP_sha512()),
        username_(std::move(username)),
        password_(std::move(password)),
        client_nonce_(std::move(nonce)) {}

  const char* mechanism_name() const override {
    return mechanism_ == sasl_mechanism::scram_sha_256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
  }

  std::string initial_message() override {
    client_first_bare_ = "n=" + escape(username_) + ",r=" + client_nonce_;
    return "n,," + client_first_bare_;
  }

  std::optional<std::string> respond(std::string_view challenge) override {
    if (state_ == state::awaiting_server_first) return client_final(challenge);
    if (state_ == state::awaiting_server_final) {
      verify_server_final(challenge);
      state_ = state::done;
      return std::nullopt;
    }
    fail("unexpected message after SCRAM completed");
  }

 private:
  enum class state { awaiting_server_first, awaiting_server_final, done };

  static std::string escape(std::string_view name) {
    std::string out;
    for (char c : name) {
      if (c == '=')
        out += "=3D";
      else if (c == ',')
        out += "=2C";
      else
        out.push_back(c);
    }
    return out;
  }

  // The value of attribute `key` ("r", "s", "i", "v", "e") in a SCRAM message.
  static std::optional<std::string_view> attribute(std::string_view message, char key) {
    while (!message.empty()) {
      auto comma = message.find(',');
      auto part = message.substr(0, comma);
      if (part.size() >= 2 && part[0] == key && part[1] == '=') return part.substr(2);
      if (comma == std::string_view::npos) break;
      message.remove_prefix(comma + 1);
    }
    return std::nullopt;
  }

  std::string hmac(std::string_view key, std::string_view data) const {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(digest_, key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
    return {reinterpret_cast<char*>(out), length};
  }

  std::string hash(std::string_view data) const {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), out, &length, digest_, nullptr);
    return {reinterpret_cast<char*>(out), length};
  }

  std::string client_final(std::string_view server_first) {
    if (auto error = attribute(server_first, 'e'))
      fail("server rejected SCRAM: " + std::string(*error));
    auto nonce = attribute(server_first, 'r');
    auto salt = attribute(server_first, 's');
    auto iterations_text = attribute(server_first, 'i');
    if (!nonce || !salt || !iterations_text) fail("malformed SCRAM server-first message");
    if (nonce->substr(0, client_nonce_.size()) != client_nonce_)
      fail("SCRAM server nonce does not extend ours");
    int iterations = 0;
    try {
      iterations = std::stoi(std::string(*iterations_text));
    } catch (const std::exception&) {
      fail("malformed SCRAM iteration count");
    }
    if (iterations < 4096) fail("SCRAM iteration count below the minimum of 4096 (RFC 7677)");

    auto salt_bytes = base64_decode(*salt);
    std::string salted(static_cast<std::size_t>(EVP_MD_get_size(digest_)), '\0');
    PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()),
                      reinterpret_cast<const unsigned char*>(salt_bytes.data()),
                      static_cast<int>(salt_bytes.size()), iterations, digest_,
                      static_cast<int>(salted.size()),
                      reinterpret_cast<unsigned char*>(salted.data()));
    auto client_key = hmac(salted, "Client Key");
    auto stored_key = hash(client_key);
    auto without_proof = "c=biws,r=" + std::string(*nonce);
    auth_message_ = client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
    auto signature = hmac(stored_key, auth_message_);
    std::string proof = client_key;
    for (std::size_t i = 0; i < proof.size(); ++i)
      proof[i] = static_cast<char>(proof[i] ^ signature[i]);
    server_key_ = hmac(salted, "Server Key");
    state_ = state::awaiting_server_final;
    return without_proof + ",p=" + base64_encode(proof);
  }

  void verify_server_final(std::string_view server_final) const {
    if (auto error = attribute(server_final, 'e'))
      fail("server rejected SCRAM: " + std::string(*error));
    auto verifier = attribute(server_final, 'v');
    if (!verifier) fail("malformed SCRAM server-final message");
    if (base64_decode(*verifier) != hmac(server_key_, auth_message_)) {
      fail("the broker's SCRAM signature is wrong: it does not know this user's credentials");
    }
  }

  sasl_mechanism mechanism_;
  const EVP_MD* digest_;
  std::string username_;
  std::string password_;
  std::string client_nonce_;
  std::string client_first_bare_;
  std::string auth_message_;
  std::string server_key_;
  state state_ = state::awaiting_server_first;
};

std::string random_nonce() {
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1) fail("no randomness for the SCRAM nonce");
  auto text = base64_encode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
  for (auto& c : text)
    if (c == ',') c = '-';  // never happens in base64, kept for the RFC's printable-nonce rule
  return text;
}

}  // namespace

std::unique_ptr<sasl_authenticator> make_scram_authenticator(sasl_mechanism mechanism,
                                                             std::string username,
                                                             std::string password,
                                                             std::string client_nonce) {
  return std::make_unique<scram_authenticator>(mechanism, std::move(username), std::move(password),
                                               std::move(client_nonce));
}

std::unique_ptr<sasl_authenticator> make_sasl_authenticator(const sasl_config& config) {
  switch (config.mechanism) {
    case sasl_mechanism::plain:
      return std::make_unique<plain_authenticator>(config);
    case sasl_mechanism::scram_sha_256:
    case sasl_mechanism::scram_sha_512:
      return make_scram_authenticator(config.mechanism, config.username, config.password,
                                      random_nonce());
    case sasl_mechanism::oauthbearer:
      if (config.oauth_token.empty()) {
        throw kafka_error(make_error_code(net_error::bad_configuration),
                          "SASL OAUTHBEARER needs a token (sasl.oauthbearer.token)", false);
      }
      return std::make_unique<oauthbearer_authenticator>(config.oauth_token);
  }
  throw kafka_error(make_error_code(net_error::bad_configuration), "unknown SASL mechanism", false);
}

}  // namespace sluice::kafka
