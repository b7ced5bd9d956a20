// Aggregating a table against the real broker, under each delivery guarantee: customers (the
// source, read as a table, keyed by id) counted and their spend summed per region, through the
// repartition topic. A first process aggregates the first updates; a second one with an empty
// state directory joins the group while it runs (a rebalance moves partitions to it), then the
// first stops in the middle of the input and the second takes everything over, so it must restore
// the customers' previous values (per-region-previous) and the regions' aggregates from their
// changelogs: a customer who moves afterwards leaves the region it joined before the takeover, a
// deleted one leaves it too, and an update within a region takes the old spend back out.
//
// Customers that change regions (eu, us) live in partition 0 and those of region ap in partition
// 1, so each region's updates come from one input partition, in order, and its results are one
// sequence: under exactly_once exactly the expected one (each subtraction and each addition once),
// under the other two what they promise (delivery_checks.hpp).
#include "tests/runtime/app_test_support.hpp"
#include "tests/runtime/delivery_checks.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;

constexpr std::int32_t partitions = 2;

operators::topology customers_per_region(const std::string& app, const std::string& customers,
                                         const std::string& output,
                                         operators::delivery_guarantee delivery) {
  auto t = table_source_pipeline(app, customers, output, delivery);
  operators::step by_region;
  by_region.kind = operators::step_kind::select_key;
  by_region.name = "by-region";
  by_region.expression = "value.region";
  t.steps.push_back(by_region);
  t.table = operators::table_aggregation_spec{
      "per-region",
      {{"customers", operators::aggregate_function::count, "", ""},
       {"spend", operators::aggregate_function::sum, "value.spend", ""}},
      std::chrono::milliseconds(0)};
  return t;
}

timed_record customer(const char* id, const char* region, int spend, std::int64_t at) {
  return {id, json::serialize(json::object{{"region", region}, {"spend", spend}}), at};
}
timed_record deleted(const char* id, std::int64_t at) {
  return {id, std::nullopt, at};
}

// Per key, its results in order: "value @at" ("null" for a deleted result), read_committed.
keyed_results results(const std::string& output) {
  return values_at_by_key(output, partitions);
}

class runtime_table_regroup : public ::testing::TestWithParam<operators::delivery_guarantee> {};

TEST_P(runtime_table_regroup,
       a_second_process_restores_the_previous_values_and_moves_and_deletes_subtract_once) {
  const two_process_fixture f("customers", "region-stats", "table-regroup-app", partitions);
  const auto& customers = f.input();
  const auto& output = f.output;
  const auto topology = customers_per_region(f.app, customers, output, GetParam());
  auto wait_for = [&](const running_app& running, std::size_t n) {
    return wait_until(running, [&] { return distinct_results(results(output)) >= n; });
  };

  f.produce(customers, 0, {customer("c1", "eu", 10, 1000), customer("c2", "eu", 20, 2000)});
  f.produce(customers, 1, {customer("c3", "ap", 5, 1000)});
  running_app a(topology, f.config);
  a.start();
  ASSERT_TRUE(wait_for(a, 3));
  {
    running_app b(topology, f.config_b);
    b.start();  // a rebalance: partitions move to b, whose state directory is empty
    f.produce(customers, 1, {customer("c3", "ap", 7, 3000)});  // within ap: 5 out, 7 in
    ASSERT_TRUE(wait_for(b, 5));
    a.stop();  // in the middle of the input: b takes everything over, from the changelogs
    f.produce(customers, 0, {customer("c1", "us", 15, 4000), deleted("c2", 5000)});
    f.produce(customers, 1, {customer("c4", "ap", 1, 4000)});
    ASSERT_TRUE(wait_for(b, 9));
    std::this_thread::sleep_for(std::chrono::seconds(1));  // anything doubled would show now
    b.stop();
    EXPECT_GT(b.metrics().restored_records.load(), 0u)
        << "b restored the previous values and the aggregates from their changelogs";
  }
  const keyed_results expected{
      {"eu",
       {R"({"customers":1,"spend":10} @1000)", R"({"customers":2,"spend":30} @2000)",
        R"({"customers":1,"spend":20} @4000)", R"({"customers":0,"spend":0} @5000)"}},
      {"us", {R"({"customers":1,"spend":15} @4000)"}},
      {"ap",
       {R"({"customers":1,"spend":5} @1000)", R"({"customers":0,"spend":0} @3000)",
        R"({"customers":1,"spend":7} @3000)", R"({"customers":2,"spend":8} @4000)"}}};
  expect_delivered(GetParam(), results(output), expected);
}

INSTANTIATE_TEST_SUITE_P(delivery, runtime_table_regroup, every_delivery(), delivery_name);

}  // namespace
}  // namespace sluice::runtime
