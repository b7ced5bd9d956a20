#include "pipelines/cli/properties.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace sluice::cli {
namespace {

TEST(properties, parses_the_java_properties_format) {
  const auto parsed = parse_properties(
      "# a comment\n"
      "! another comment\n"
      "\n"
      "security.protocol=SASL_SSL\n"
      "  sasl.mechanism : SCRAM-SHA-256\n"
      "client.id sluice-tool\n"
      "sasl.jaas.config=org.Module required \\\n"
      "    username=\"u\" password=\"p\";\n"
      "escaped\\=key=a\\tb\\u0041\n"
      "empty=\n"
      "windows=crlf\r\n",
      "test.properties");
  EXPECT_EQ(parsed.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(parsed.at("sasl.mechanism"), "SCRAM-SHA-256");
  EXPECT_EQ(parsed.at("client.id"), "sluice-tool");
  EXPECT_EQ(parsed.at("sasl.jaas.config"), "org.Module required username=\"u\" password=\"p\";");
  EXPECT_EQ(parsed.at("escaped=key"), "a\tbA");
  EXPECT_EQ(parsed.at("empty"), "");
  EXPECT_EQ(parsed.at("windows"), "crlf");
  EXPECT_EQ(parsed.size(), 7u);
}

TEST(properties, a_bad_unicode_escape_names_the_file_and_line) {
  try {
    parse_properties("a=1\nb=\\u12\n", "client.properties");
    ADD_FAILURE() << "no exception";
  } catch (const usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("client.properties:2"), std::string::npos) << e.what();
  }
}

TEST(properties, a_missing_file_is_a_usage_error) {
  EXPECT_THROW(load_properties_file("/nonexistent/sluice/client.properties"), usage_error);
}

TEST(properties, reads_a_file) {
  const std::string path = ::testing::TempDir() + "/sluice-properties-test.properties";
  {
    std::ofstream file(path);
    file << "security.protocol=SSL\nssl.ca.location=/etc/ca.pem\n";
  }
  auto parsed = load_properties_file(path);
  EXPECT_EQ(parsed.at("ssl.ca.location"), "/etc/ca.pem");
  std::remove(path.c_str());
}

TEST(jaas_config, reads_user_and_password) {
  auto credentials = parse_jaas_config(
      "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" "
      "password=\"s3cr\\\"et\";",
      "x");
  EXPECT_EQ(credentials.login_module, "org.apache.kafka.common.security.plain.PlainLoginModule");
  EXPECT_EQ(credentials.username, "alice");
  EXPECT_EQ(credentials.password, "s3cr\"et");
}

TEST(jaas_config, rejects_text_that_is_not_a_login_module_line) {
  EXPECT_THROW(parse_jaas_config("username=alice", "x"), usage_error);
  EXPECT_THROW(parse_jaas_config("Module required username=\"alice", "x"), usage_error);
  EXPECT_THROW(parse_jaas_config("Module required username", "x"), usage_error);
}

TEST(apply_properties, maps_the_java_client_settings) {
  kafka::client_config config;
  const std::map<std::string, std::string> properties{
      {"security.protocol", "SASL_SSL"},
      {"sasl.mechanism", "SCRAM-SHA-512"},
      {"sasl.jaas.config",
       "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" "
       "password=\"p\";"},
      {"ssl.truststore.type", "PEM"},
      {"ssl.truststore.location", "/tmp/ca.pem"},
      {"ssl.endpoint.identification.algorithm", ""},
      {"client.id", "ops"},
      {"request.timeout.ms", "5000"},
      {"linger.ms", "5"},
  };
  auto ignored = apply_properties(properties, config, "c.properties");
  EXPECT_EQ(config.security.protocol, kafka::security_protocol::sasl_ssl);
  EXPECT_EQ(config.security.sasl.mechanism, kafka::sasl_mechanism::scram_sha_512);
  EXPECT_EQ(config.security.sasl.username, "u");
  EXPECT_EQ(config.security.sasl.password, "p");
  EXPECT_EQ(config.security.tls.ca_file, "/tmp/ca.pem");
  EXPECT_FALSE(config.security.tls.verify_hostname);
  EXPECT_EQ(config.client_id, "ops");
  EXPECT_EQ(config.request_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(ignored, std::vector<std::string>{"linger.ms"});
}

TEST(apply_properties, maps_the_librdkafka_spellings) {
  kafka::client_config config;
  const std::map<std::string, std::string> properties{
      {"security.protocol", "sasl_plaintext"},
      {"sasl.mechanisms", "PLAIN"},
      {"sasl.username", "bob"},
      {"sasl.password", "pw"},
      {"ssl.ca.location", "/ca.pem"},
      {"ssl.certificate.location", "/c.pem"},
      {"ssl.key.location", "/k.pem"},
      {"ssl.key.password", "kp"},
  };
  EXPECT_TRUE(apply_properties(properties, config, "c").empty());
  EXPECT_EQ(config.security.protocol, kafka::security_protocol::sasl_plaintext);
  EXPECT_EQ(config.security.sasl.username, "bob");
  EXPECT_EQ(config.security.sasl.password, "pw");
  EXPECT_EQ(config.security.tls.ca_file, "/ca.pem");
  EXPECT_EQ(config.security.tls.cert_file, "/c.pem");
  EXPECT_EQ(config.security.tls.key_file, "/k.pem");
  EXPECT_EQ(config.security.tls.key_password, "kp");
}

TEST(apply_properties, says_what_to_do_with_values_it_cannot_honour) {
  kafka::client_config config;
  try {
    apply_properties({{"ssl.truststore.location", "/tmp/truststore.jks"}}, config, "c.properties");
    ADD_FAILURE() << "no exception";
  } catch (const usage_error& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("c.properties: ssl.truststore.location"), std::string::npos) << text;
    EXPECT_NE(text.find("PEM"), std::string::npos) << text;
  }
  EXPECT_THROW(apply_properties({{"sasl.mechanism", "GSSAPI"}}, config, "c"), usage_error);
  EXPECT_THROW(apply_properties({{"security.protocol", "TLS"}}, config, "c"), usage_error);
  EXPECT_THROW(apply_properties({{"request.timeout.ms", "soon"}}, config, "c"), usage_error);
}

}  // namespace
}  // namespace sluice::cli
