#include "pipelines/spec/pipeline_builder.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "pipelines/spec/describe.hpp"
#include "pipelines/spec/yaml_loader.hpp"

namespace sluice::pipelines {
namespace {

using namespace std::chrono_literals;
namespace ops = sluice::operators;

TEST(pipeline_builder, gives_the_same_topology_as_the_equivalent_yaml) {
  constexpr std::string_view text = R"(name: page-views
delivery: exactly_once
commit_interval: 200ms
sources:
  - topics: [views, more-views]
    key_format: string
    value_format: json
steps:
  - filter: value.status == 200
  - map: { page: value.page, bytes: "value.bytes ?? 0" }
  - name: by-page
    select_key: value.page
  - flat_map: { values: "[value]", key: value.page }
window:
  type: tumbling
  size: 1m
  grace: 10s
  time: "value.at ?? timestamp"
  emit: on_close
  late: side_topic
  late_topic: views-late
  aggregate:
    - { name: views, function: count }
    - { name: bytes, function: sum, expression: value.bytes }
    - { name: pages, function: count_distinct, expression: value.page }
after:
  - filter: value.views > 1
sink: { topic: view-counts, key_format: string, value_format: json }
)";
  auto loaded = load_pipeline(text, "p.yaml", {});
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors[0].to_string();

  auto built =
      pipeline_builder("page-views")
          .delivery(ops::delivery_guarantee::exactly_once)
          .commit_interval(200ms)
          .source({"views", "more-views"}, ops::data_format::string, ops::data_format::json)
          .filter("value.status == 200")
          .map_fields({{"page", "value.page"}, {"bytes", "value.bytes ?? 0"}})
          .select_key("value.page", "by-page")
          .flat_map("[value]", "value.page")
          .window(tumbling(1min)
                      .grace(10s)
                      .time("value.at ?? timestamp")
                      .emit(ops::emit_mode::on_close)
                      .late_to("views-late"))
          .aggregate("views", ops::aggregate_function::count)
          .aggregate("bytes", ops::aggregate_function::sum, "value.bytes")
          .aggregate("pages", ops::aggregate_function::count_distinct, "value.page")
          .filter("value.views > 1")
          .to("view-counts")
          .build();
  EXPECT_EQ(built, loaded.pipeline->topology);
  EXPECT_EQ(describe_topology(built), describe_topology(loaded.pipeline->topology));
}

TEST(pipeline_builder, session_and_hopping_windows_match_yaml) {
  auto session_yaml = load_pipeline(R"(name: s
sources: [{ topic: in }]
window: { type: session, gap: 30s, aggregate: [{ name: n, function: count }] }
sink: { topic: out }
)",
                                    "s.yaml", {});
  ASSERT_TRUE(session_yaml.errors.empty()) << session_yaml.errors[0].to_string();
  auto session_built = pipeline_builder("s")
                           .source({"in"})
                           .window(session(30s))
                           .aggregate("n", ops::aggregate_function::count)
                           .to("out")
                           .build();
  EXPECT_EQ(session_built, session_yaml.pipeline->topology);

  auto hopping_yaml = load_pipeline(R"(name: h
sources: [{ topic: in }]
window: { type: hopping, size: 10m, advance: 1m, aggregate: [{ name: a, function: avg, expression: value.x }] }
sink: { topic: out }
)",
                                    "h.yaml", {});
  ASSERT_TRUE(hopping_yaml.errors.empty()) << hopping_yaml.errors[0].to_string();
  auto hopping_built = pipeline_builder("h")
                           .source({"in"})
                           .window(hopping(10min, 1min))
                           .aggregate("a", ops::aggregate_function::avg, "value.x")
                           .to("out")
                           .build();
  EXPECT_EQ(hopping_built, hopping_yaml.pipeline->topology);
}

TEST(pipeline_builder, a_table_aggregation_matches_yaml) {
  auto yaml = load_pipeline(R"(name: t
sources: [{ topic: in }]
steps:
  - select_key: value.user
table:
  name: per-user
  aggregate:
    - { name: n, function: count }
    - { name: spent, function: sum, expression: value.amount }
after:
  - filter: value.n > 1
sink: { topic: out }
)",
                            "t.yaml", {});
  ASSERT_TRUE(yaml.errors.empty()) << yaml.errors[0].to_string();
  auto built = pipeline_builder("t")
                   .source({"in"})
                   .select_key("value.user")
                   .table("per-user")
                   .aggregate("n", ops::aggregate_function::count)
                   .aggregate("spent", ops::aggregate_function::sum, "value.amount")
                   .filter("value.n > 1")
                   .to("out")
                   .build();
  EXPECT_EQ(built, yaml.pipeline->topology);
  const auto described = describe_topology(built);
  EXPECT_EQ(described, describe_topology(yaml.pipeline->topology));
  EXPECT_NE(described.find("table   per-user: group by key, every update emitted"),
            std::string::npos)
      << described;
  EXPECT_NE(
      described.find("store   per-user-store  (key_value), changelog t-per-user-store-changelog"),
      std::string::npos)
      << described;
  EXPECT_NE(described.find("internal    t-select_key-0-repartition  (repartition)"),
            std::string::npos)
      << described;
}

TEST(pipeline_builder, a_stream_table_join_matches_yaml) {
  auto yaml = load_pipeline(R"(name: j
sources: [{ topic: orders }]
tables:
  - { name: customers, topic: customer-records, value_format: json, restore_from: source }
  - { topic: regions }
steps:
  - join: { table: customers, type: left, into: customer }
  - join: regions
sink: { topic: out }
)",
                            "j.yaml", {});
  ASSERT_TRUE(yaml.errors.empty()) << yaml.errors[0].to_string();
  auto built = pipeline_builder("j")
                   .source({"orders"})
                   .table_source("customers", "customer-records", ops::data_format::string,
                                 ops::data_format::json, ops::table_restore::source)
                   .table_source("regions", "regions")
                   .join("customers", ops::join_kind::left, "customer")
                   .join("regions")
                   .to("out")
                   .build();
  EXPECT_EQ(built, yaml.pipeline->topology);
  EXPECT_EQ(built.steps[1].into, "regions");
  EXPECT_EQ(built.steps[1].join, ops::join_kind::inner);
  const auto described = describe_topology(built);
  EXPECT_NE(described.find("step    join-0: left join with table customers, its value as customer"),
            std::string::npos)
      << described;
  EXPECT_NE(
      described.find("source  customer-records  (key string, value json, read as table customers)"),
      std::string::npos)
      << described;
  // customers is restored from its own topic (restore_from: source), regions from a changelog.
  EXPECT_EQ(built.tables[1].restore_from, ops::table_restore::changelog);
  EXPECT_NE(described.find(
                "store   customers-table  (key_value), restored from its topic customer-records"),
            std::string::npos)
      << described;
  EXPECT_NE(
      described.find("store   regions-table  (key_value), changelog j-regions-table-changelog"),
      std::string::npos)
      << described;
  EXPECT_EQ(described.find("j-customers-table-changelog"), std::string::npos) << described;
}

TEST(pipeline_builder, a_stream_stream_join_matches_yaml) {
  auto yaml = load_pipeline(R"(name: j
sources: [{ topic: orders }]
streams:
  - { name: payments, topic: payment-events, value_format: json }
  - { topic: refunds }
steps:
  - join: { stream: payments, within: 5m, grace: 30s, type: outer, into: payment }
  - join: { stream: refunds, within: 1h }
sink: { topic: out }
)",
                            "j.yaml", {});
  ASSERT_TRUE(yaml.errors.empty()) << yaml.errors[0].to_string();
  using namespace std::chrono_literals;
  auto built = pipeline_builder("j")
                   .source({"orders"})
                   .stream_source("payments", "payment-events")
                   .stream_source("refunds", "refunds")
                   .join_stream("payments", 5min, ops::join_kind::outer, "payment", 30s)
                   .join_stream("refunds", 1h)
                   .to("out")
                   .build();
  EXPECT_EQ(built, yaml.pipeline->topology);
  EXPECT_EQ(built.steps[1].into, "refunds");
  EXPECT_EQ(built.steps[1].join, ops::join_kind::inner);
  const auto described = describe_topology(built);
  EXPECT_NE(
      described.find(
          "step    join-0: outer join with stream payments within 5m (grace 30s), its value as "
          "payment; unmatched records emitted with null once within + grace has passed"),
      std::string::npos)
      << described;
  EXPECT_NE(
      described.find("source  payment-events  (key string, value json, joined stream payments)"),
      std::string::npos)
      << described;
  EXPECT_NE(
      described.find(
          "store   join-0-left  (window, retention 10m30s), changelog j-join-0-left-changelog"),
      std::string::npos)
      << described;
  EXPECT_NE(
      described.find("store   join-0-pending  (key_value), changelog j-join-0-pending-changelog"),
      std::string::npos)
      << described;
}

TEST(pipeline_builder, a_table_table_join_matches_yaml) {
  auto yaml = load_pipeline(R"(name: t
sources: [{ topic: accounts, as: table, key_format: string }]
tables:
  - { name: owners, topic: owner-events, value_format: json }
steps:
  - join: { table: owners, type: outer, into: owner }
  - filter: value == null or value.owner != null
sink: { topic: out }
)",
                            "t.yaml", {});
  ASSERT_TRUE(yaml.errors.empty()) << yaml.errors[0].to_string();
  auto built = pipeline_builder("t")
                   .source_table("accounts")
                   .table_source("owners", "owner-events")
                   .join("owners", ops::join_kind::outer, "owner")
                   .filter("value == null or value.owner != null")
                   .to("out")
                   .build();
  EXPECT_EQ(built, yaml.pipeline->topology);
  EXPECT_TRUE(built.sources[0].as_table);
  const auto described = describe_topology(built);
  constexpr const char* join_line =
      "step    join-0: outer join of the source table with table owners, its value as owner; "
      "every update of either side emits the key's joined value (null: deleted)";
  for (const auto* line :
       {"source  accounts  (key string, value json, read as a table)",
        "source  owner-events  (key string, value json, read as table owners)", join_line,
        "store   join-0-left  (key_value), changelog t-join-0-left-changelog",
        "store   join-0-right  (key_value), changelog t-join-0-right-changelog",
        "input       accounts  (read as a table)"}) {
    EXPECT_NE(described.find(line), std::string::npos) << line << "\n" << described;
  }
  EXPECT_EQ(described.find("owners-table"), std::string::npos) << described;
}

// The example of a table regrouped per region, from the builder: the same topology.
TEST(pipeline_builder, a_table_regrouped_per_region_is_the_example_file) {
  std::ifstream file(std::string(SLUICE_EXAMPLES_DIR) + "/customers_per_region.yaml");
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto yaml = load_pipeline(text, "customers_per_region.yaml", {});
  ASSERT_TRUE(yaml.errors.empty()) << yaml.errors[0].to_string();
  const auto built = pipeline_builder("customers-per-region")
                         .delivery(ops::delivery_guarantee::exactly_once)
                         .commit_interval(100ms)
                         .source_table("customers")
                         .select_key("value.region")
                         .table("per-region")
                         .aggregate("customers", ops::aggregate_function::count)
                         .aggregate("spend", ops::aggregate_function::sum, "value.spend")
                         .aggregate("average_spend", ops::aggregate_function::avg, "value.spend")
                         .to("customers-per-region")
                         .build();
  EXPECT_EQ(built, yaml.pipeline->topology);
}

// A table-table join's results are a table's changelog: a table aggregation regroups them (each
// update subtracting the key's previous value), from YAML and from the builder alike; a window,
// or an aggregation without an inverse, is refused with the same error and the reason.
TEST(pipeline_builder, a_table_table_join_is_aggregated_with_inverses_and_never_windowed) {
  constexpr const char* joined = R"(name: t
sources: [{ topic: accounts, as: table }]
tables: [{ name: owners, topic: owners }]
steps:
  - join: { table: owners, type: outer, into: owner }
  - select_key: value.owner.country
)";
  const auto table_yaml = load_pipeline(std::string(joined) + R"(table:
  name: per-country
  aggregate: [{ name: n, function: count }, { name: total, function: sum, expression: value.balance }]
sink: { topic: out }
)",
                                        "t.yaml", {});
  const auto max_yaml = load_pipeline(std::string(joined) + R"(table:
  name: per-country
  aggregate: [{ name: top, function: max, expression: value.balance }]
sink: { topic: out }
)",
                                      "t.yaml", {});
  const auto window_yaml = load_pipeline(std::string(joined) + R"(window:
  type: tumbling
  size: 1m
  aggregate: [{ name: n, function: count }]
sink: { topic: out }
)",
                                         "t.yaml", {});
  auto joined_tables = [] {
    return pipeline_builder("t")
        .source_table("accounts")
        .table_source("owners", "owners")
        .join("owners", ops::join_kind::outer, "owner")
        .select_key("value.owner.country");
  };
  auto built_error = [](pipeline_builder builder) {
    try {
      (void)builder.to("out").build();
    } catch (const pipeline_error& e) {
      return std::string(e.what());
    }
    return std::string("built");
  };
  ASSERT_TRUE(table_yaml.errors.empty()) << table_yaml.errors[0].to_string();
  const auto table_built = joined_tables()
                               .table("per-country")
                               .aggregate("n", ops::aggregate_function::count)
                               .aggregate("total", ops::aggregate_function::sum, "value.balance")
                               .to("out")
                               .build();
  EXPECT_EQ(table_built, table_yaml.pipeline->topology);
  const auto described = describe_topology(table_built);
  for (const auto* line :
       {"step    per-country-changes: the table's updates: each key's previous value (kept in "
        "per-country-previous) leaves its group, subtracted, before the new value joins its new "
        "group",
        "store   per-country-previous  (key_value), changelog t-per-country-previous-changelog",
        "table   per-country: group by key (a table's updates: subtract the old value, add the "
        "new), every update emitted"}) {
    EXPECT_NE(described.find(line), std::string::npos) << line << "\n" << described;
  }

  const auto max_built =
      built_error(joined_tables()
                      .table("per-country")
                      .aggregate("top", ops::aggregate_function::max, "value.balance"));
  const auto window_built = built_error(
      joined_tables().window(tumbling(1min)).aggregate("n", ops::aggregate_function::count));
  constexpr const char* max_error =
      "table.aggregate[0].function: max cannot aggregate a table: when a key's value changes or is "
      "deleted, its old value leaves its group, and max has no inverse";
  constexpr const char* window_error =
      "window: the updates of a table are not windowed (a window would count updates, not rows; "
      "aggregate the table with table: instead)";
  auto all_errors = [](const auto& loaded) {
    std::string all;
    for (const auto& e : loaded.errors) all += e.to_string() + "\n";
    return all;
  };
  EXPECT_NE(all_errors(max_yaml).find(max_error), std::string::npos) << all_errors(max_yaml);
  EXPECT_NE(all_errors(window_yaml).find(window_error), std::string::npos)
      << all_errors(window_yaml);
  EXPECT_NE(max_built.find(max_error), std::string::npos) << max_built;
  EXPECT_NE(window_built.find(window_error), std::string::npos) << window_built;
}

TEST(pipeline_builder, a_processor_step_matches_yaml) {
  ops::function_registry registry;
  registry.add_processor("dedup", [] { return std::unique_ptr<ops::processor>(); }, {"seen"});
  registry.add_processor("recent", {.factory = [] { return std::unique_ptr<ops::processor>(); },
                                    .stores = {"seen", ops::window_store_spec("counts", 1h, 5min),
                                               ops::session_store_spec("visits", 30min)},
                                    .punctuate_every_stream_time = 1min});
  auto yaml = load_pipeline(R"(name: p
sources: [{ topic: in }]
steps:
  - processor: { function: dedup, stores: [seen, stats] }
  - name: rekey
    processor: { function: dedup, stores: [seen], changes_key: true }
  - name: recent
    processor:
      function: recent
      stores:
        - seen
        - { name: counts, kind: window, retention: 2h, window: 5m }
        - { name: visits, kind: session, retention: 30m }
sink: { topic: out }
)",
                            "p.yaml", registry);
  ASSERT_TRUE(yaml.errors.empty()) << yaml.errors[0].to_string();
  auto built = pipeline_builder("p")
                   .source({"in"})
                   .process("dedup", {"seen", "stats"})
                   .process("dedup", {"seen"}, true, "rekey")
                   .process("recent",
                            {"seen", ops::window_store_spec("counts", 2h, 5min),
                             ops::session_store_spec("visits", 30min)},
                            false, "recent")
                   .to("out")
                   .build(registry);
  EXPECT_EQ(built, yaml.pipeline->topology);
  const auto described = describe_topology(built);
  for (const auto* line :
       {"step    processor-0: processor dedup with stores seen, stats",
        "store   processor-0-stats  (key_value), changelog p-processor-0-stats-changelog",
        "store   processor-0-time  (key_value), changelog p-processor-0-time-changelog",
        "recent: processor recent with stores seen, counts (windows of 5m), visits (sessions)",
        "store   recent-counts  (window, retention 2h), changelog p-recent-counts-changelog",
        "store   recent-visits  (session, retention 30m), changelog p-recent-visits-changelog"}) {
    EXPECT_NE(described.find(line), std::string::npos) << line << "\n" << described;
  }
  auto missing = load_pipeline(
      "name: p\nsources: [{ topic: in }]\nsteps:\n  - processor: dedup\nsink: { topic: out }\n",
      "m.yaml", registry);
  ASSERT_EQ(missing.errors.size(), 1U);
  EXPECT_EQ(missing.errors[0].to_string(),
            "m.yaml:4:16: steps[0].processor.stores: processor 'dedup' uses store 'seen': declare "
            "it (stores: [seen])");
}

TEST(pipeline_builder, a_mistake_in_a_processor_store_points_at_its_line) {
  ops::function_registry registry;
  registry.add_processor("recent", [] { return std::unique_ptr<ops::processor>(); });
  auto wrong = load_pipeline(R"(name: p
sources: [{ topic: in }]
steps:
  - processor:
      function: recent
      stores: [seen, { name: counts, kind: windows }, { name: visits, kind: session }]
sink: { topic: out }
)",
                             "w.yaml", registry);
  ASSERT_FALSE(wrong.errors.empty());
  EXPECT_EQ(wrong.errors[0].to_string(),
            "w.yaml:6:44: steps[0].processor.stores[1].kind: unknown value 'windows' (did you mean "
            "'window'?); expected one of: key_value, window, session");
}

TEST(pipeline_builder, several_sinks_match_yaml) {
  const std::string text = R"(name: s
sources: [{ topic: in }]
sinks:
  - { topic: big, when: value.n > 10 }
  - topic: rest
    value_format: string
    steps:
      - map: string(value.n)
)";
  auto typo = load_pipeline(text + "sink_typo: 1\n", "s.yaml", {});
  ASSERT_EQ(typo.errors.size(), 1U);
  EXPECT_NE(typo.errors[0].to_string().find("sink_typo: unknown key"), std::string::npos);
  auto yaml = load_pipeline(text, "s.yaml", {});
  ASSERT_TRUE(yaml.errors.empty()) << yaml.errors[0].to_string();
  ops::sink_spec rest{"rest", ops::data_format::string, ops::data_format::string, "", {}};
  ops::step to_text;
  to_text.kind = ops::step_kind::map;
  to_text.expression = "string(value.n)";
  rest.steps.push_back(to_text);
  auto built = pipeline_builder("s")
                   .source({"in"})
                   .to(ops::sink_spec{
                       "big", ops::data_format::string, ops::data_format::json, "value.n > 10", {}})
                   .to(rest)
                   .build();
  EXPECT_EQ(built, yaml.pipeline->topology);
  EXPECT_EQ(built.sinks[1].steps[0].name, "sink1-map-0");
  auto both = load_pipeline(
      "name: s\nsources: [{ topic: in }]\nsink: { topic: a }\nsinks: [{ topic: b }]\n", "b.yaml",
      {});
  ASSERT_FALSE(both.errors.empty());
  EXPECT_NE(both.errors[0].to_string().find("give sink (one) or sinks (a list), not both"),
            std::string::npos);
}

TEST(pipeline_builder, build_rejects_what_the_yaml_loader_rejects_with_the_same_paths) {
  try {
    (void)pipeline_builder("app")
        .source({"in"})
        .filter("lowr(value.a) == 1")
        .window(hopping(1min, 2min))
        .aggregate("total", ops::aggregate_function::sum)
        .to("in")
        .build();
    FAIL() << "expected pipeline_error";
  } catch (const pipeline_error& e) {
    std::vector<std::string> paths;
    for (const auto& err : e.errors()) paths.push_back(err.path);
    EXPECT_EQ(paths, (std::vector<std::string>{"steps[0].filter", "window.advance",
                                               "window.aggregate[0].expression", "sink.topic"}));
    EXPECT_NE(std::string(e.what()).find("steps[0].filter: unknown function 'lowr'"),
              std::string::npos)
        << e.what();
  }
}

TEST(pipeline_builder, aggregate_before_window_or_table_is_an_error) {
  pipeline_builder b("app");
  EXPECT_THROW(b.aggregate("n", ops::aggregate_function::count), pipeline_error);
  EXPECT_NO_THROW(b.table().aggregate("n", ops::aggregate_function::count));
}

TEST(pipeline_builder, user_functions_must_be_registered_to_build) {
  auto builder = pipeline_builder("app").source({"in"}).user("enrich").to("out");
  EXPECT_THROW((void)builder.build(), pipeline_error);
  ops::function_registry registry;
  registry.add_step("enrich", [](const ops::record& r) { return std::vector<ops::record>{r}; });
  EXPECT_EQ(builder.build(registry).steps.at(0).function, "enrich");
}

}  // namespace
}  // namespace sluice::pipelines
