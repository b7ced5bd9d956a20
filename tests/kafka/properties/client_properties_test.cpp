#include "kafka/properties/client_properties.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace sluice::kafka {
namespace {

std::string error_of(const property_targets& targets, std::string_view name,
                     std::string_view value) {
  try {
    apply_property(targets, name, value);
  } catch (const property_error& e) {
    return e.what();
  }
  return "";
}

TEST(client_properties, consumer_settings_by_their_java_names) {
  consumer_config c;
  const property_targets consumer{.consumer = &c};
  EXPECT_TRUE(apply_property(consumer, "max.poll.records", "42"));
  EXPECT_TRUE(apply_property(consumer, "session.timeout.ms", "12000"));
  EXPECT_TRUE(apply_property(consumer, "isolation.level", "read_committed"));
  EXPECT_TRUE(apply_property(consumer, "group.protocol", "consumer"));
  EXPECT_TRUE(apply_property(consumer, "fetch.max.bytes", "1000000"));
  EXPECT_TRUE(
      apply_property(consumer, "client.id", "mine"));  // a connection setting, on the consumer
  EXPECT_EQ(c.max_poll_records, 42);
  EXPECT_EQ(c.session_timeout, std::chrono::milliseconds(12'000));
  EXPECT_EQ(c.isolation, isolation_level::read_committed);
  EXPECT_EQ(c.group_protocol, group_protocol_type::consumer);
  EXPECT_EQ(c.fetch_max_bytes, 1'000'000);
  EXPECT_EQ(c.client_id, "mine");
}

TEST(client_properties, assignors_by_short_or_java_class_name_in_order) {
  consumer_config c;
  apply_property({.consumer = &c}, "partition.assignment.strategy",
                 "org.apache.kafka.clients.consumer.RoundRobinAssignor, range");
  EXPECT_EQ(c.assignment_strategies, (std::vector<std::string>{"roundrobin", "range"}));
  apply_property({.consumer = &c}, "partition.assignment.strategy", "cooperative-sticky");
  EXPECT_EQ(c.assignment_strategies, (std::vector<std::string>{"cooperative-sticky"}));
  EXPECT_NE(error_of({.consumer = &c}, "partition.assignment.strategy", "fair")
                .find("'fair' is not range"),
            std::string::npos);
}

TEST(client_properties, producer_settings_and_the_other_clients_names) {
  producer_config p;
  const property_targets producer{.producer = &p};
  EXPECT_TRUE(apply_property(producer, "linger.ms", "0"));
  EXPECT_TRUE(apply_property(producer, "batch.size", "65536"));
  EXPECT_TRUE(apply_property(producer, "acks", "1"));
  EXPECT_TRUE(apply_property(producer, "compression.type", "zstd"));
  EXPECT_TRUE(apply_property(producer, "enable.idempotence", "false"));
  EXPECT_EQ(p.linger, std::chrono::milliseconds(0));
  EXPECT_EQ(p.batch_size, 65'536u);
  EXPECT_EQ(p.acks, acks::leader);
  EXPECT_EQ(p.compression, records::compression::zstd);
  EXPECT_EQ(p.enable_idempotence, false);
  // A consumer's name concerns no producer: reported, not an error, not applied.
  EXPECT_FALSE(apply_property(producer, "max.poll.records", "1"));
  EXPECT_FALSE(apply_property(producer, "key.serializer",
                              "org.apache.kafka.common.serialization.StringSerializer"));
}

TEST(client_properties, an_unknown_name_suggests_the_closest_and_a_bad_value_names_both) {
  producer_config p;
  EXPECT_EQ(error_of({.producer = &p}, "linger.msec", "5"),
            "unknown client property 'linger.msec'; did you mean 'linger.ms'?");
  EXPECT_EQ(error_of({.producer = &p}, "partition.assignment.stratgy", "range"),
            "unknown client property 'partition.assignment.stratgy'; did you mean "
            "'partition.assignment.strategy'?");
  EXPECT_EQ(error_of({.producer = &p}, "completely.different.thing", "1"),
            "unknown client property 'completely.different.thing'");
  EXPECT_EQ(error_of({.producer = &p}, "linger.ms", "soon"),
            "linger.ms: 'soon' is not a whole number from 0 to " +
                std::to_string(std::numeric_limits<std::int64_t>::max()));
  EXPECT_NE(error_of({.producer = &p}, "acks", "most").find("acks: 'most' is not 0, 1, all or -1"),
            std::string::npos);
  // An unknown name is an error even where it would concern no target.
  EXPECT_THROW(apply_property({}, "fetch.max.bytez", "1"), property_error);
}

TEST(client_properties, a_jks_store_is_refused_with_what_to_do) {
  client_config c;
  std::map<std::string, std::string> jks{{"ssl.truststore.location", "/etc/ts.jks"}};
  try {
    apply_properties({.client = &c}, jks);
    ADD_FAILURE() << "a truststore location without a type was accepted";
  } catch (const property_error& e) {
    EXPECT_NE(std::string(e.what()).find("ssl.truststore.type=PEM"), std::string::npos) << e.what();
  }
  std::map<std::string, std::string> pem{{"ssl.truststore.location", "/etc/ca.pem"},
                                         {"ssl.truststore.type", "PEM"}};
  EXPECT_TRUE(apply_properties({.client = &c}, pem).empty());
  EXPECT_EQ(c.security.tls.ca_file, "/etc/ca.pem");
}

TEST(client_properties, the_table_is_sorted_and_described) {
  const auto all = property_descriptions();
  EXPECT_GT(all.size(), 60u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const auto& a, const auto& b) { return a.name < b.name; }));
  for (const auto& p : all) {
    EXPECT_TRUE(is_known_property(p.name)) << p.name;
    EXPECT_FALSE(p.meaning.empty()) << p.name;
  }
}

}  // namespace
}  // namespace sluice::kafka
