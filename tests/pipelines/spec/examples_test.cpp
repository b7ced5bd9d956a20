// The example pipelines in examples/pipelines/ carry their own `tests:`; they must load, validate
// and pass offline through run_pipeline_tests, exactly as `sluice test FILE` runs them.

#include <gtest/gtest.h>

#include <string>

#include "pipelines/spec/commands.hpp"

namespace sluice::pipelines {
namespace {

std::string example(const char* name) {
  return std::string(SLUICE_EXAMPLES_DIR) + "/" + name;
}

void expect_tests_pass(const char* name, std::size_t min_cases) {
  const auto path = example(name);
  const auto validated = validate_pipeline_file(path);
  EXPECT_TRUE(validated.ok) << validated.text;
  const auto run = run_pipeline_tests(path);
  EXPECT_TRUE(run.ok) << run.text;
  EXPECT_GE(run.cases.size(), min_cases) << run.text;
  for (const auto& c : run.cases) EXPECT_TRUE(c.passed) << c.name << "\n" << c.report;
}

TEST(pipeline_examples, tumbling_window_counts_pass_their_tests) {
  expect_tests_pass("page_view_stats.yaml", 2);
}

TEST(pipeline_examples, session_windows_pass_their_tests) {
  expect_tests_pass("user_sessions.yaml", 1);
}

TEST(pipeline_examples, exactly_once_transformation_passes_its_tests) {
  expect_tests_pass("order_cleanup.yaml", 1);
}

TEST(pipeline_examples, the_demo_pipeline_passes_its_tests) {
  expect_tests_pass("order_totals.yaml", 2);
}

TEST(pipeline_examples, the_local_state_counter_table_passes_its_tests) {
  expect_tests_pass("key_counts.yaml", 1);
}

TEST(pipeline_examples, the_enrichment_join_passes_its_tests) {
  expect_tests_pass("order_enrichment.yaml", 2);
}

TEST(pipeline_examples, the_stream_stream_join_passes_its_tests) {
  expect_tests_pass("order_payments.yaml", 2);
}

TEST(pipeline_examples, the_table_table_join_passes_its_tests) {
  expect_tests_pass("customer_accounts.yaml", 2);
}

TEST(pipeline_examples, a_table_aggregated_per_region_subtracts_moves_and_deletes) {
  expect_tests_pass("customers_per_region.yaml", 3);
  const auto described = describe_pipeline(example("customers_per_region.yaml"));
  ASSERT_TRUE(described.ok) << described.text;
  for (const auto* line : {"step    per-region-changes: the table's updates",
                           "internal    customers-per-region-select_key-0-repartition",
                           "internal    customers-per-region-per-region-previous-changelog"}) {
    EXPECT_NE(described.text.find(line), std::string::npos) << line << "\n" << described.text;
  }
}

TEST(pipeline_examples, branches_to_two_sinks_pass_their_tests) {
  expect_tests_pass("order_routing.yaml", 1);
}

TEST(pipeline_examples, a_topic_per_record_passes_its_tests_and_describe_lists_every_topic) {
  expect_tests_pass("orders_by_region.yaml", 1);
  const auto described = describe_pipeline(example("orders_by_region.yaml"));
  ASSERT_TRUE(described.ok) << described.text;
  EXPECT_NE(
      described.text.find(
          R"(concat("orders-", lower(value.region ?? "unknown")) -> one of orders-eu, orders-us, orders-unknown)"),
      std::string::npos)
      << described.text;
  EXPECT_NE(described.text.find("output      orders-unknown"), std::string::npos) << described.text;
}

TEST(pipeline_examples, a_migration_between_two_clusters_passes_its_tests) {
  expect_tests_pass("orders_migration.yaml", 1);
}

TEST(pipeline_examples, describe_names_internal_and_changelog_topics) {
  const auto described = describe_pipeline(example("page_view_stats.yaml"));
  ASSERT_TRUE(described.ok) << described.text;
  EXPECT_NE(described.text.find("sub-topology 1"), std::string::npos) << described.text;
  EXPECT_NE(described.text.find("page-view-stats-by-page-repartition"), std::string::npos)
      << described.text;
  EXPECT_NE(described.text.find("page-view-stats-per-minute-store-changelog"), std::string::npos)
      << described.text;
  EXPECT_NE(described.text.find("page-views-late"), std::string::npos) << described.text;
}

}  // namespace
}  // namespace sluice::pipelines
