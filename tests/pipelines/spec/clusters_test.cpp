// Several clusters in one pipeline: the `clusters:` section, `cluster:` on sources, tables and
// sinks, and the rules (one cluster for every source and table, exactly-once within one cluster),
// from YAML and from the C++ builder alike.
#include <gtest/gtest.h>

#include "pipelines/spec/describe.hpp"
#include "pipelines/spec/pipeline_builder.hpp"
#include "pipelines/spec/yaml_loader.hpp"

namespace sluice::pipelines {
namespace {

namespace ops = sluice::operators;

std::string joined(const load_result& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

constexpr std::string_view migration = R"(name: orders-migration
delivery: at_least_once
clusters:
  old:
    bootstrap_servers: old-1:9092,old-2:9092
    security_protocol: SASL_SSL
    sasl_mechanism: SCRAM-SHA-512
    sasl_username: migrator
    sasl_password: secret
    tls_ca_file: /etc/kafka/old-ca.pem
    kafka:
      consumer: { max.poll.records: 1000 }
  new:
    bootstrap_servers: new-1:9092
    no_hostname_verification: true
    client_id: migration
    kafka:
      producer: { linger.ms: 20 }
sources:
  - { topic: orders, cluster: old, value_format: string }
sink: { topic: orders, cluster: new, value_format: string }
)";

TEST(clusters, the_section_gives_each_cluster_its_connection_and_client_settings) {
  auto r = load_pipeline(migration, "m.yaml", {});
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  const auto& p = *r.pipeline;
  EXPECT_EQ(p.topology.clusters, (std::set<std::string>{"new", "old"}));
  EXPECT_EQ(p.topology.sources[0].cluster, "old");
  EXPECT_EQ(p.topology.sinks[0].cluster, "new");
  EXPECT_EQ(p.topology.home_cluster(), "old");
  const auto& old = p.clusters.at("old");
  EXPECT_EQ(old.connection,
            (std::map<std::string, std::string>{{"bootstrap.servers", "old-1:9092,old-2:9092"},
                                                {"sasl.mechanism", "SCRAM-SHA-512"},
                                                {"sasl.password", "secret"},
                                                {"sasl.username", "migrator"},
                                                {"security.protocol", "SASL_SSL"},
                                                {"ssl.ca.location", "/etc/kafka/old-ca.pem"}}));
  EXPECT_EQ(old.kafka.consumer, (std::map<std::string, std::string>{{"max.poll.records", "1000"}}));
  const auto& next = p.clusters.at("new");
  EXPECT_EQ(next.connection,
            (std::map<std::string, std::string>{{"bootstrap.servers", "new-1:9092"},
                                                {"client.id", "migration"},
                                                {"ssl.endpoint.identification.algorithm", ""}}));
  EXPECT_EQ(next.kafka.producer, (std::map<std::string, std::string>{{"linger.ms", "20"}}));
}

TEST(clusters, a_migration_with_one_topic_name_on_two_clusters_is_not_reading_its_own_output) {
  // `orders` on old and `orders` on new are two topics; on one cluster it would be a loop.
  auto r = load_pipeline(migration, "m.yaml", {});
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  auto loop = load_pipeline("name: a\nsources: [{ topic: orders }]\nsink: { topic: orders }\n",
                            "l.yaml", {});
  ASSERT_EQ(loop.errors.size(), 1U);
  EXPECT_NE(loop.errors[0].message.find("is also a source"), std::string::npos) << joined(loop);
}

TEST(clusters, an_unknown_cluster_is_positioned_with_a_suggestion) {
  auto r = load_pipeline(R"(name: a
clusters:
  old: { bootstrap_servers: old:9092 }
  new: { bootstrap_servers: new:9092 }
sources: [{ topic: in, cluster: old }]
sink:
  topic: out
  cluster: nwe
)",
                         "u.yaml", {});
  ASSERT_EQ(r.errors.size(), 1U) << joined(r);
  EXPECT_EQ(r.errors[0].to_string(),
            "u.yaml:8:12: sink.cluster: unknown cluster 'nwe' (did you mean 'new'?); clusters: "
            "declares new, old");
  auto none = load_pipeline(
      "name: a\nsources: [{ topic: in, cluster: old }]\nsink: { topic: out }\n", "n.yaml", {});
  ASSERT_EQ(none.errors.size(), 1U) << joined(none);
  EXPECT_EQ(none.errors[0].to_string(),
            "n.yaml:2:33: sources[0].cluster: unknown cluster 'old'; clusters: declares none");
}

TEST(clusters, sources_and_tables_on_two_clusters_are_refused_naming_both) {
  auto r = load_pipeline(R"(name: a
clusters:
  old: { bootstrap_servers: old:9092 }
  new: { bootstrap_servers: new:9092 }
sources: [{ topic: orders, cluster: old }]
tables:
  - { name: customers, topic: customers, cluster: new }
steps:
  - join: customers
sink: { topic: out, cluster: old }
)",
                         "t.yaml", {});
  ASSERT_EQ(r.errors.size(), 1U) << joined(r);
  EXPECT_EQ(r.errors[0].line, 7);
  EXPECT_EQ(r.errors[0].path, "tables[0].cluster");
  EXPECT_EQ(r.errors[0].message,
            "every source, table and stream must be on one cluster (the consumer group reads them "
            "together; its offsets "
            "and the internal topics live there): sources[0] is on cluster 'old', tables[0] is on "
            "cluster 'new'");
  auto sources = load_pipeline(R"(name: a
clusters: { old: { bootstrap_servers: old:9092 } }
sources:
  - { topic: a, cluster: old }
  - { topic: b }
sink: { topic: out }
)",
                               "s.yaml", {});
  ASSERT_EQ(sources.errors.size(), 1U) << joined(sources);
  EXPECT_EQ(sources.errors[0].path, "sources[1].cluster");
  EXPECT_NE(sources.errors[0].message.find(
                "sources[0] is on cluster 'old', sources[1] is on the default cluster"),
            std::string::npos)
      << joined(sources);
}

TEST(clusters, exactly_once_with_a_sink_on_another_cluster_is_refused) {
  auto r = load_pipeline(R"(name: a
delivery: exactly_once
clusters: { new: { bootstrap_servers: new:9092 } }
sources: [{ topic: in }]
sinks:
  - { topic: here }
  - { topic: there, cluster: new }
)",
                         "e.yaml", {});
  ASSERT_EQ(r.errors.size(), 1U) << joined(r);
  EXPECT_EQ(r.errors[0].to_string(),
            "e.yaml:7:30: sinks[1].cluster: exactly_once holds only within one cluster: this sink "
            "is on cluster "
            "'new' and the sources are on the default cluster (one transaction cannot span two "
            "clusters); write "
            "to the sources' cluster, or use delivery: at_least_once");
  // The same sinks at least once: accepted.
  std::string text(R"(name: a
delivery: at_least_once
clusters: { new: { bootstrap_servers: new:9092 } }
sources: [{ topic: in }]
sinks:
  - { topic: here }
  - { topic: there, cluster: new }
)");
  auto accepted = load_pipeline(text, "a.yaml", {});
  EXPECT_TRUE(accepted.errors.empty()) << joined(accepted);
}

TEST(clusters, connection_settings_are_checked_where_they_stand) {
  auto r = load_pipeline(R"(name: a
clusters:
  old:
    bootstrap_server: old:9092
    security_protocol: SASL_TLS
  new:
    bootstrap_servers: new:9092
    security_protocol: SASL_SSL
sources: [{ topic: in, cluster: old }]
sink: { topic: out, cluster: old }
)",
                         "c.yaml", {});
  const auto errors = joined(r);
  ASSERT_EQ(r.errors.size(), 4U) << errors;
  EXPECT_NE(
      errors.find("c.yaml:3:3: clusters.old.bootstrap_servers: missing: the cluster's brokers"),
      std::string::npos)
      << errors;
  EXPECT_NE(
      errors.find(
          "c.yaml:4:5: clusters.old.bootstrap_server: unknown key 'bootstrap_server' (did you mean "
          "'bootstrap_servers'?)"),
      std::string::npos)
      << errors;
  EXPECT_NE(errors.find("c.yaml:5:24: clusters.old.security_protocol: "), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("c.yaml:6:3: clusters.new.sasl_username: missing: the SASL user name"),
            std::string::npos)
      << errors;
}

TEST(clusters, the_builder_gives_the_same_topology_as_the_yaml) {
  auto yaml = load_pipeline(R"(name: j
delivery: at_least_once
clusters:
  old: { bootstrap_servers: old:9092 }
  new: { bootstrap_servers: new:9092 }
sources: [{ topic: orders, cluster: old }]
tables: [{ name: customers, topic: customer-records, cluster: old }]
steps:
  - join: customers
sinks:
  - { topic: enriched, cluster: new }
  - { topic: audit, cluster: old, value_format: string }
)",
                            "j.yaml", {});
  ASSERT_TRUE(yaml.errors.empty()) << joined(yaml);
  auto built =
      pipeline_builder("j")
          .delivery(ops::delivery_guarantee::at_least_once)
          .cluster("old")
          .cluster("new")
          .source(ops::source_spec{.topics = {"orders"}, .cluster = "old"})
          .table_source(ops::table_source_spec{
              .name = "customers", .topic = "customer-records", .cluster = "old"})
          .join("customers")
          .to(ops::sink_spec{.topic = "enriched", .cluster = "new"})
          .to(ops::sink_spec{
              .topic = "audit", .value_format = ops::data_format::string, .cluster = "old"})
          .build();
  EXPECT_EQ(built, yaml.pipeline->topology);
  const auto described = describe_topology(built);
  EXPECT_NE(described.find("source  orders  (key string, value json, cluster old)"),
            std::string::npos)
      << described;
  EXPECT_NE(described.find("sink    enriched  (key string, value json, cluster new)"),
            std::string::npos)
      << described;
  // The same rules: exactly-once across clusters is refused by build() with the YAML's path.
  try {
    (void)pipeline_builder("x")
        .delivery(ops::delivery_guarantee::exactly_once)
        .cluster("new")
        .source({"in"})
        .to("here")
        .to(ops::sink_spec{.topic = "there", .cluster = "new"})
        .build();
    FAIL() << "expected pipeline_error";
  } catch (const pipeline_error& e) {
    ASSERT_EQ(e.errors().size(), 1U) << e.what();
    EXPECT_EQ(e.errors()[0].path, "sinks[1].cluster");
    EXPECT_NE(e.errors()[0].message.find("exactly_once holds only within one cluster"),
              std::string::npos);
  }
  EXPECT_THROW((void)pipeline_builder("x")
                   .source(ops::source_spec{.topics = {"in"}, .cluster = "old"})
                   .to("out")
                   .build(),
               pipeline_error)
      << "a cluster the builder did not declare";
}

}  // namespace
}  // namespace sluice::pipelines
