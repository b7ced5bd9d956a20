#include "pipelines/spec/yaml_loader.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <map>

namespace sluice::pipelines {
namespace {

using namespace std::chrono_literals;
namespace ops = sluice::operators;

const ops::function_registry no_functions;

std::vector<std::string> messages(const load_result& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.to_string());
  return out;
}

std::string joined(const load_result& r) {
  std::string out;
  for (const auto& m : messages(r)) out += m + "\n";
  return out;
}

constexpr std::string_view minimal = R"(name: app
sources:
  - topic: in
sink:
  topic: out
)";

TEST(yaml_loader, a_minimal_file_gives_the_defaults) {
  auto r = load_pipeline(minimal, "p.yaml", no_functions);
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  const auto& t = r.pipeline->topology;
  EXPECT_EQ(t.name, "app");
  EXPECT_EQ(t.delivery, ops::delivery_guarantee::at_least_once);
  EXPECT_FALSE(t.commit_interval);
  ASSERT_EQ(t.sources.size(), 1U);
  EXPECT_EQ(t.sources[0],
            (ops::source_spec{{"in"}, ops::data_format::string, ops::data_format::json}));
  EXPECT_EQ(t.sinks, (std::vector<ops::sink_spec>{
                         {"out", ops::data_format::string, ops::data_format::json, {}, {}}}));
  EXPECT_FALSE(t.aggregation);
  EXPECT_TRUE(r.pipeline->tests.empty());
}

TEST(yaml_loader, errors_name_file_line_column_and_field) {
  constexpr std::string_view text = R"(name: app
sources:
  - topics: [in]
steps:
  - filter: value.a > 1
  - map: value
  - filter: lowr(value.name) == "x"
window:
  type: tumbling
  size: 10 seconds
  aggregate:
    - { name: n, function: count }
sink:
  topic: out
)";
  auto r = load_pipeline(text, "pipeline.yaml", no_functions);
  ASSERT_EQ(r.errors.size(), 2U) << joined(r);
  EXPECT_EQ(r.errors[0].line, 7);
  EXPECT_EQ(r.errors[0].column, 13);  // at "lowr"
  EXPECT_EQ(r.errors[0].path, "steps[2].filter");
  EXPECT_EQ(messages(r)[0].rfind("pipeline.yaml:7:13: steps[2].filter: unknown function 'lowr'", 0),
            0U)
      << messages(r)[0];
  EXPECT_EQ(messages(r)[1],
            "pipeline.yaml:10:9: window.size: expected a duration like 10s, 5m, 250ms (units ms, "
            "s, m, h, d)");
}

TEST(yaml_loader, the_kafka_section_takes_client_settings_by_their_java_names) {
  std::string text(minimal);
  text += R"(kafka:
  consumer:
    max.poll.records: 1000
    partition.assignment.strategy: roundrobin
  producer:
    linger.ms: 20
    compression.type: zstd
  admin:
    request.timeout.ms: 60000
)";
  auto r = load_pipeline(text, "p.yaml", no_functions);
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  const auto& kafka = r.pipeline->kafka;
  EXPECT_EQ(kafka.consumer,
            (std::map<std::string, std::string>{{"max.poll.records", "1000"},
                                                {"partition.assignment.strategy", "roundrobin"}}));
  EXPECT_EQ(kafka.producer, (std::map<std::string, std::string>{{"compression.type", "zstd"},
                                                                {"linger.ms", "20"}}));
  EXPECT_EQ(kafka.admin, (std::map<std::string, std::string>{{"request.timeout.ms", "60000"}}));
}

TEST(yaml_loader, kafka_settings_are_checked_where_they_stand) {
  std::string text(minimal);
  text += R"(kafka:
  consumer:
    max.pol.records: 1000
    linger.ms: 5
  producer:
    acks: most
  brokers: {}
)";
  auto r = load_pipeline(text, "p.yaml", no_functions);
  const auto all = joined(r);
  EXPECT_NE(all.find("p.yaml:8:5: kafka.consumer.max.pol.records: unknown client property "
                     "'max.pol.records'; did "
                     "you mean 'max.poll.records'?"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("kafka.consumer.linger.ms: 'linger.ms' is not a consumer setting"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("kafka.producer.acks: acks: 'most' is not 0, 1, all or -1"), std::string::npos)
      << all;
  EXPECT_NE(all.find("kafka.brokers: unknown key 'brokers'"), std::string::npos) << all;
}

TEST(yaml_loader, unknown_keys_are_rejected_with_a_suggestion) {
  constexpr std::string_view text = R"(name: app
sources:
  - topic: in
    key_formt: string
sink:
  topic: out
  partitons: 3
)";
  auto r = load_pipeline(text, "p.yaml", no_functions);
  ASSERT_EQ(r.errors.size(), 2U) << joined(r);
  EXPECT_EQ(
      messages(r)[0],
      "p.yaml:4:5: sources[0].key_formt: unknown key 'key_formt' (did you mean "
      "'key_format'?); expected one of: topic, topics, key_format, value_format, cluster, as");
  EXPECT_EQ(r.errors[1].line, 7);
  EXPECT_EQ(r.errors[1].path, "sink.partitons");
}

TEST(yaml_loader, missing_sections_and_bad_values_are_all_reported) {
  constexpr std::string_view text = R"(delivery: exactly_twice
sources:
  - topic: in
    value_format: avro
)";
  auto r = load_pipeline(text, "p.yaml", no_functions);
  const auto all = joined(r);
  EXPECT_NE(all.find("p.yaml:1:1: name: missing: the pipeline name"), std::string::npos) << all;
  EXPECT_NE(all.find("p.yaml:1:1: sink: missing: the sink topic"), std::string::npos) << all;
  EXPECT_NE(all.find("p.yaml:1:11: delivery: unknown value 'exactly_twice'"), std::string::npos)
      << all;
  EXPECT_NE(all.find("p.yaml:4:19: sources[0].value_format: unknown value 'avro'"),
            std::string::npos)
      << all;
}

TEST(yaml_loader, a_table_section_is_checked_where_it_stands) {
  constexpr std::string_view text = R"(name: t
sources: [{ topic: in }]
table:
  nme: per-user
window: { type: tumbling, size: 1m, aggregate: [{ name: n, function: count }] }
sink: { topic: out }
)";
  auto r = load_pipeline(text, "p.yaml", no_functions);
  const auto all = joined(r);
  EXPECT_NE(all.find("p.yaml:4:3: table.nme: unknown key 'nme'"), std::string::npos) << all;
  EXPECT_NE(all.find("did you mean 'name'"), std::string::npos) << all;
  EXPECT_NE(all.find("table.aggregate: missing: a list of {name, function, expression}"),
            std::string::npos)
      << all;
}

TEST(yaml_loader, tables_and_joins_are_checked_where_they_stand) {
  constexpr std::string_view text = R"(name: j
sources: [{ topic: orders }]
tables:
  - { name: customers, topik: c }
steps:
  - join: { table: customers, type: full }
  - join: { tabel: customers }
sink: { topic: out }
)";
  auto r = load_pipeline(text, "p.yaml", no_functions);
  const auto all = joined(r);
  EXPECT_NE(all.find("p.yaml:4:24: tables[0].topik: unknown key 'topik' (did you mean 'topic'?)"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("tables[0].topic: missing: the topic read as a table"), std::string::npos)
      << all;
  EXPECT_NE(all.find("p.yaml:6:37: steps[0].join.type: unknown value 'full'"), std::string::npos)
      << all;
  EXPECT_NE(all.find("steps[1].join.tabel: unknown key 'tabel' (did you mean 'table'?)"),
            std::string::npos)
      << all;
}

TEST(yaml_loader, restore_from_is_a_tables_choice_only) {
  constexpr std::string_view text = R"(name: j
sources: [{ topic: orders }]
tables:
  - { name: customers, topic: c, restore_from: compacted }
streams:
  - { name: payments, topic: payments, restore_from: source }
steps:
  - join: { table: customers }
  - join: { stream: payments, within: 1m }
sink: { topic: out }
)";
  auto r = load_pipeline(text, "p.yaml", no_functions);
  const auto all = joined(r);
  EXPECT_NE(all.find("tables[0].restore_from: unknown value 'compacted'"), std::string::npos)
      << all;
  EXPECT_NE(all.find("expected one of: changelog, source"), std::string::npos) << all;
  EXPECT_NE(all.find("streams[0].restore_from: unknown key 'restore_from'"), std::string::npos)
      << all;
}

TEST(yaml_loader, stream_joins_are_checked_where_they_stand) {
  constexpr std::string_view text = R"(name: j
sources: [{ topic: orders }]
streams:
  - { name: payments, topic: payments }
steps:
  - join: { stream: payments, type: outer, grace: soon }
  - join: { table: customers, stream: payments, within: 1m }
sink: { topic: out }
)";
  auto r = load_pipeline(text, "p.yaml", no_functions);
  const auto all = joined(r);
  EXPECT_NE(
      all.find(
          "steps[0].join.within: missing: how far apart the joined records' timestamps may be"),
      std::string::npos)
      << all;
  EXPECT_NE(all.find("p.yaml:6:51: steps[0].join.grace:"), std::string::npos) << all;
}

TEST(yaml_loader, a_join_with_a_table_is_not_outer) {
  auto r = load_pipeline(R"(name: j
sources: [{ topic: orders }]
tables: [{ name: customers, topic: customers }]
steps:
  - join: { table: customers, type: outer }
sink: { topic: out }
)",
                         "p.yaml", no_functions);
  const auto all = joined(r);
  EXPECT_NE(
      all.find("steps[0].join.type: a join with a table is inner or left (outer joins two streams, "
               "or a source read as a table with a table)"),
      std::string::npos)
      << all;
}

TEST(yaml_loader, a_source_read_as_a_table_is_checked_where_it_stands) {
  auto r = load_pipeline(R"(name: j
sources:
  - { topic: accounts, as: table }
  - { topic: orders, as: tabel }
tables: [{ name: owners, topic: owners }]
steps:
  - filter: "true"
  - join: { table: owners, type: outer }
sink: { topic: out }
)",
                         "p.yaml", no_functions);
  const auto all = joined(r);
  EXPECT_NE(all.find("p.yaml:4:26: sources[1].as: unknown value 'tabel'"), std::string::npos)
      << all;
  EXPECT_NE(all.find("p.yaml:3:28: sources[0].as: a source read as a table is the pipeline's only "
                     "source"),
            std::string::npos)
      << all;
  EXPECT_NE(
      all.find("steps[0].filter: a source read as a table is joined with a table by the first "
               "step"),
      std::string::npos)
      << all;
}

TEST(yaml_loader, invalid_yaml_is_reported_with_its_position) {
  auto r = load_pipeline("name: [unclosed\n", "p.yaml", no_functions);
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_NE(r.errors[0].message.find("not valid YAML"), std::string::npos);
}

TEST(yaml_loader, an_expression_error_in_a_quoted_scalar_points_inside_the_quotes) {
  constexpr std::string_view text = R"(name: app
sources: [{ topic: in }]
steps:
  - select_key: "value.a +"
sink: { topic: out }
)";
  auto r = load_pipeline(text, "p.yaml", no_functions);
  ASSERT_EQ(r.errors.size(), 1U) << joined(r);
  EXPECT_EQ(r.errors[0].line, 4);
  // the quote is at column 17; the expression ends 9 characters after it
  EXPECT_EQ(r.errors[0].column, 17 + 1 + 9);
}

TEST(yaml_loader, window_fields_must_fit_the_window_type) {
  constexpr std::string_view text = R"(name: app
sources: [{ topic: in }]
window:
  type: session
  size: 1m
  aggregate: [{ name: n, function: count }]
sink: { topic: out }
)";
  auto r = load_pipeline(text, "p.yaml", no_functions);
  const auto all = joined(r);
  EXPECT_NE(all.find("p.yaml:4:3: window.gap: missing: a session window needs one"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("p.yaml:5:9: window.size: session windows have a gap, not a size"),
            std::string::npos)
      << all;
}

TEST(yaml_loader, reads_windows_aggregations_and_steps) {
  constexpr std::string_view text = R"(name: app
delivery: exactly_once
commit_interval: 250ms
sources:
  - topics: [a, b]
    key_format: int64
    value_format: json
steps:
  - name: by-user
    select_key: value.user
  - map: { user: value.user, amount: value.amount }
  - flat_map: { values: value.items, key: value.sku }
  - user: { function: enrich, changes_key: true }
window:
  name: hourly
  type: hopping
  size: 1h
  advance: 15m
  grace: 30s
  time: value.at
  emit: on_close
  late: side_topic
  late_topic: late
  aggregate:
    - { name: total, function: sum, expression: value.amount }
after:
  - filter: value.total > 0
sink: { topic: out, key_format: string, value_format: json }
)";
  ops::function_registry registry;
  registry.add_step("enrich", [](const ops::record& r) { return std::vector<ops::record>{r}; });
  auto r = load_pipeline(text, "p.yaml", registry);
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  const auto& t = r.pipeline->topology;
  EXPECT_EQ(t.delivery, ops::delivery_guarantee::exactly_once);
  EXPECT_EQ(t.commit_interval, 250ms);
  EXPECT_EQ(t.sources[0].topics, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t.sources[0].key_format, ops::data_format::int64);
  ASSERT_EQ(t.steps.size(), 4U);
  EXPECT_EQ(t.steps[0].name, "by-user");
  EXPECT_EQ(t.steps[1].name, "map-1");
  EXPECT_EQ(t.steps[1].fields, (std::vector<ops::field_expression>{{"user", "value.user"},
                                                                   {"amount", "value.amount"}}));
  EXPECT_EQ(t.steps[2].key_expression, "value.sku");
  EXPECT_TRUE(t.steps[3].changes_key);
  ASSERT_TRUE(t.aggregation);
  EXPECT_EQ(t.aggregation->window,
            (ops::window_spec{ops::window_kind::hopping, 1h, 15min, 0ms, 30s}));
  EXPECT_EQ(t.aggregation->emit, ops::emit_mode::on_close);
  EXPECT_EQ(t.aggregation->late_topic, "late");
  ASSERT_EQ(t.after.size(), 1U);
  EXPECT_EQ(t.after[0].name, "after-filter-0");
}

TEST(yaml_loader, tests_section_converts_yaml_to_json_values) {
  std::string text(minimal);
  text += R"(tests:
  - name: types
    inputs:
      - { key: 42, value: { n: 1, f: 1.5, s: "007", b: true, z: ~, l: [1, two] }, timestamp: 5,
          headers: { h: v } }
    outputs:
      - { topic: out, key: "42", value: plain text }
)";
  auto r = load_pipeline(text, "p.yaml", no_functions);
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  ASSERT_EQ(r.pipeline->tests.size(), 1U);
  const auto& test = r.pipeline->tests[0];
  EXPECT_EQ(test.name, "types");
  ASSERT_EQ(test.inputs.size(), 1U);
  EXPECT_EQ(test.inputs[0].key, boost::json::value(42));
  EXPECT_EQ(test.inputs[0].value,
            boost::json::parse(R"({"n":1,"f":1.5,"s":"007","b":true,"z":null,"l":[1,"two"]})"));
  EXPECT_EQ(test.inputs[0].timestamp, 5);
  EXPECT_EQ(test.inputs[0].headers, (std::vector<ops::header>{{"h", std::string("v")}}));
  EXPECT_EQ(test.outputs[0].key, boost::json::value("42"));
  EXPECT_EQ(test.outputs[0].value, boost::json::value("plain text"));
  EXPECT_FALSE(test.outputs[0].timestamp);
}

TEST(yaml_loader, durations) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("10s"), 10s);
  EXPECT_EQ(parse_duration("5m"), 5min);
  EXPECT_EQ(parse_duration("2h"), 2h);
  EXPECT_EQ(parse_duration("1d"), 24h);
  EXPECT_EQ(parse_duration("0"), 0ms);
  EXPECT_FALSE(parse_duration("10"));
  EXPECT_FALSE(parse_duration("10 s"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("1.5s"));
  EXPECT_FALSE(parse_duration("99999999999999999d"));
  EXPECT_EQ(format_duration(70s), "1m10s");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(0ms), "0");
}

TEST(yaml_loader, standby_replicas_is_a_small_whole_number) {
  EXPECT_FALSE(load_pipeline(minimal, "p.yaml", no_functions).pipeline->standby_replicas)
      << "unset: the command line or 0";
  for (const auto* replicas : {"0", "1", "16"}) {
    auto r = load_pipeline(std::string(minimal) + "standby_replicas: " + replicas + "\n", "p.yaml",
                           no_functions);
    ASSERT_TRUE(r.errors.empty()) << joined(r);
    EXPECT_EQ(r.pipeline->standby_replicas, std::stoi(replicas));
  }
}

TEST(yaml_loader, a_bad_standby_replicas_is_reported_where_it_stands) {
  for (const auto* replicas : {"-1", "17", "one", "1.5", "[1]", "\"\""}) {
    auto r = load_pipeline(std::string("name: app\nstandby_replicas: ") + replicas +
                               "\nsources:\n  - topic: in\nsink:\n  topic: out\n",
                           "p.yaml", no_functions);
    ASSERT_EQ(r.errors.size(), 1U) << replicas << ": " << joined(r);
    EXPECT_EQ(messages(r)[0], "p.yaml:2:19: standby_replicas: expected a whole number from 0 to 16")
        << replicas;
  }
}

TEST(yaml_loader, a_missing_file_is_an_error) {
  auto r = load_pipeline_file("/nonexistent/pipeline.yaml", no_functions);
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].to_string(), "/nonexistent/pipeline.yaml: cannot open the file");
}

}  // namespace
}  // namespace sluice::pipelines
