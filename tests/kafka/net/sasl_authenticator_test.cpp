#include "kafka/net/sasl_authenticator.hpp"

#include <gtest/gtest.h>

#include "kafka/protocol/error_code.hpp"

namespace sluice::kafka {
namespace {

// RFC 7677 section 3: user "user", password "pencil".
TEST(sasl_scram, sha256_matches_the_rfc_7677_example) {
  auto scram = make_scram_authenticator(sasl_mechanism::scram_sha_256, "user", "pencil",
                                        "rOprNGfwEbeRWgbNEkqO");
  EXPECT_EQ(scram->initial_message(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  auto final_message = scram->respond(
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  ASSERT_TRUE(final_message);
  EXPECT_EQ(*final_message,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  EXPECT_EQ(scram->respond("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), std::nullopt);
}

TEST(sasl_scram, a_wrong_server_signature_is_rejected) {
  auto scram = make_scram_authenticator(sasl_mechanism::scram_sha_256, "user", "pencil",
                                        "rOprNGfwEbeRWgbNEkqO");
  scram->initial_message();
  scram->respond(
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  EXPECT_THROW(scram->respond("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), kafka_error);
}

TEST(sasl_scram, server_errors_and_foreign_nonces_are_rejected) {
  auto scram = make_scram_authenticator(sasl_mechanism::scram_sha_512, "a=b,c", "pw", "nonce");
  EXPECT_EQ(scram->initial_message(), "n,,n=a=3Db=2Cc,r=nonce");
  EXPECT_THROW(scram->respond("r=other,s=c2FsdA==,i=4096"), kafka_error);
  auto rejected = make_scram_authenticator(sasl_mechanism::scram_sha_512, "u", "pw", "nonce");
  rejected->initial_message();
  EXPECT_THROW(rejected->respond("e=unknown-user"), kafka_error);
}

TEST(sasl_scram, sha512_produces_a_64_byte_proof) {
  auto scram = make_scram_authenticator(sasl_mechanism::scram_sha_512, "user", "pencil", "abc");
  scram->initial_message();
  auto final_message = scram->respond("r=abcdef,s=c2FsdHNhbHQ=,i=4096");
  ASSERT_TRUE(final_message);
  auto proof = final_message->substr(final_message->find(",p=") + 3);
  EXPECT_EQ(proof.size(), 88u);  // base64 of 64 bytes
}

TEST(sasl_plain, sends_user_and_password_in_one_message) {
  sasl_config config{sasl_mechanism::plain, "alice", "secret", ""};
  auto plain = make_sasl_authenticator(config);
  EXPECT_EQ(plain->initial_message(), std::string("\0alice\0secret", 13));
  EXPECT_EQ(plain->respond(""), std::nullopt);
}

TEST(sasl_oauthbearer, sends_the_token_as_rfc_7628_asks) {
  sasl_config config{sasl_mechanism::oauthbearer, "", "", "tok.en"};
  auto oauth = make_sasl_authenticator(config);
  EXPECT_EQ(oauth->initial_message(),
            "n,,\x01"
            "auth=Bearer tok.en\x01\x01");
  EXPECT_THROW(oauth->respond("{\"status\":\"invalid_token\"}"), kafka_error);
  EXPECT_THROW(make_sasl_authenticator(sasl_config{sasl_mechanism::oauthbearer, "", "", ""}),
               kafka_error);
}

TEST(security_config, describe_never_shows_secrets) {
  security_config config;
  config.protocol = security_protocol::sasl_ssl;
  config.sasl = {sasl_mechanism::scram_sha_512, "bob", "hunter2", ""};
  config.tls.key_password = "keypass";
  auto text = config.describe();
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
  EXPECT_EQ(text.find("keypass"), std::string::npos);
  EXPECT_NE(text.find("SCRAM-SHA-512"), std::string::npos);
  EXPECT_EQ(parse_security_protocol("sasl_ssl"), security_protocol::sasl_ssl);
  EXPECT_EQ(parse_sasl_mechanism("scram-sha-256"), sasl_mechanism::scram_sha_256);
  EXPECT_EQ(parse_sasl_mechanism("GSSAPI"), std::nullopt);
}

}  // namespace
}  // namespace sluice::kafka
