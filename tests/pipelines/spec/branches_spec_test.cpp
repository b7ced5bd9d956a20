// Branches from YAML and from the builder: the same graph (operator==), the same description,
// errors at the branch's lines, and the example pipeline's tests.
#include <gtest/gtest.h>

#include <string>

#include "pipelines/spec/commands.hpp"
#include "pipelines/spec/describe.hpp"
#include "pipelines/spec/describe_graph.hpp"
#include "pipelines/spec/pipeline_builder.hpp"
#include "pipelines/spec/yaml_loader.hpp"

namespace sluice::pipelines {
namespace {

namespace ops = sluice::operators;
using namespace std::chrono_literals;

constexpr const char* order_stats = R"(name: stats
sources: [{ topic: orders }]
steps:
  - filter: value.amount > 0
branches:
  - name: per-customer
    from: main
    table:
      aggregate: [ { name: n, function: count } ]
    sink: { topic: customer-counts }
  - name: per-region
    from: main
    steps:
      - select_key: value.region
    window:
      type: tumbling
      size: 1h
      aggregate: [ { name: revenue, function: sum, expression: value.amount } ]
    after:
      - filter: value.revenue > 10
    sinks:
      - { topic: region-revenue }
      - { topic: region-revenue-text, value_format: string, steps: [ { map: string(value.revenue) } ] }
  - name: alerts
    from: [per-customer, per-region]
    steps:
      - map: '{ what: "alert" }'
    sink: { topic: alerts }
)";

TEST(branches_spec, the_builder_builds_the_graph_the_yaml_file_declares) {
  auto yaml = load_pipeline(order_stats, "stats.yaml", {});
  ASSERT_TRUE(yaml.errors.empty()) << yaml.errors[0].to_string();
  auto built =
      pipeline_builder("stats")
          .source({"orders"})
          .filter("value.amount > 0")
          .branch("per-customer", {"main"})
          .table()
          .aggregate("n", ops::aggregate_function::count)
          .to("customer-counts")
          .branch("per-region", {"main"})
          .select_key("value.region")
          .window(tumbling(1h))
          .aggregate("revenue", ops::aggregate_function::sum, "value.amount")
          .filter("value.revenue > 10")
          .to("region-revenue")
          .to(ops::sink_spec{"region-revenue-text",
                             ops::data_format::string,
                             ops::data_format::string,
                             {},
                             {ops::step{ops::step_kind::map, {}, "string(value.revenue)"}}})
          .branch("alerts", {"per-customer", "per-region"})
          .map(R"({ what: "alert" })")
          .to("alerts")
          .build();
  EXPECT_EQ(built, yaml.pipeline->topology);
  const auto& per_region = built.branches.at(1);
  EXPECT_EQ(per_region.steps.at(0).name, "per-region-select_key-0");
  EXPECT_EQ(per_region.after.at(0).name, "per-region-after-filter-0");
  EXPECT_EQ(per_region.sinks.at(1).steps.at(0).name, "per-region-sink1-map-0");
  EXPECT_EQ(per_region.aggregation->store_name(), "per-region-store");
  EXPECT_EQ(built.branches.at(0).table->store_name(), "per-customer-store");
  EXPECT_EQ(describe_topology(built), describe_topology(yaml.pipeline->topology));
}

TEST(branches_spec, describe_shows_each_branch_where_it_runs) {
  auto yaml = load_pipeline(order_stats, "stats.yaml", {});
  ASSERT_TRUE(yaml.errors.empty()) << yaml.errors[0].to_string();
  const auto text = describe_topology(yaml.pipeline->topology);
  // The part of per-region before its window: the select_key, writing the repartition topic.
  const std::string per_region_part =
      std::string("  branch  per-region  from main\n") +
      "    step    per-region-select_key-0: select_key value.region  (changes the key)\n" +
      "    sink    stats-per-region-repartition";
  for (const auto* expected :
       {"  branch  per-customer  from main\n    table   per-customer: group by key",
        per_region_part.c_str(),
        "sub-topology 1  (branch per-region)\n  source  stats-per-region-repartition",
        "  branch  alerts  from per-region\n", "sub-topology 2  (branch alerts)",
        "internal    stats-alerts-repartition  (repartition)"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n---\n" << text;
  }
  const auto json_text = to_json(yaml.pipeline->topology);
  EXPECT_NE(json_text.find(R"("branches":[{"name":"per-customer","from":["main"],"steps":[],)"
                           R"("aggregation":{"kind":"table","name":"per-customer"},)"
                           R"("sinks":[{"topic":"customer-counts"}]})"),
            std::string::npos)
      << json_text;
  EXPECT_NE(json_text.find(R"("branch":"alerts")"), std::string::npos) << json_text;
  // Both parents of the merge write its topic: per-customer in sub-topology 0, per-region in 1.
  const auto graph = to_mermaid(yaml.pipeline->topology);
  const auto label = graph.find(R"x((["stats-alerts-repartition (repartition)"]))x");
  ASSERT_NE(label, std::string::npos) << graph;
  const auto line_start = graph.rfind('\n', label) + 1;
  const auto id = graph.substr(line_start + 2, label - line_start - 2);  // after the indent
  std::vector<std::string> writers;
  std::size_t begin = 0;
  while (begin < graph.size()) {
    const auto end = graph.find('\n', begin);
    const auto line = graph.substr(begin, end - begin);
    if (line.ends_with(" --> " + id)) writers.push_back(line.substr(2, 3));
    begin = end + 1;
  }
  EXPECT_EQ(writers, (std::vector<std::string>{"s0_", "s1_"})) << id << "\n" << graph;
}

TEST(branches_spec, yaml_errors_point_at_the_branchs_lines) {
  auto loaded = load_pipeline(R"(name: bad
sources: [{ topic: in }]
branches:
  - name: counts
    from: mian
    table:
      aggregate: [ { name: n, function: count } ]
    sink: { topic: out }
  - name: sums
    from: counts
    window:
      type: tumbling
      size: -1m
      aggregate: [ { name: n, function: count } ]
)",
                              "bad.yaml", {});
  std::vector<std::string> errors;
  for (const auto& e : loaded.errors) errors.push_back(e.to_string());
  // That no branch is from main (the typo) is a consequence of the structural error below it.
  ASSERT_EQ(errors.size(), 3U) << ::testing::PrintToString(errors);
  EXPECT_NE(errors[0].find("bad.yaml:5:"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("no node 'mian'"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("did you mean 'main'?"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("bad.yaml:9:"), std::string::npos) << errors[1];
  EXPECT_NE(errors[1].find("no sinks and no branch takes its results"), std::string::npos)
      << errors[1];
  EXPECT_NE(errors[2].find("bad.yaml:13:"), std::string::npos) << errors[2];
}

TEST(branches_spec, the_order_stats_example_passes_its_tests) {
  const auto path = std::string(SLUICE_EXAMPLES_DIR) + "/order_stats.yaml";
  const auto validated = validate_pipeline_file(path);
  EXPECT_TRUE(validated.ok) << validated.text;
  const auto run = run_pipeline_tests(path);
  EXPECT_TRUE(run.ok) << run.text;
  ASSERT_GE(run.cases.size(), 1U) << run.text;
  for (const auto& c : run.cases) EXPECT_TRUE(c.passed) << c.name << "\n" << c.report;
}

}  // namespace
}  // namespace sluice::pipelines
