// Table-table joins against the real broker, under each delivery guarantee: accounts (the source,
// read as a table) outer-joined with owners (a table), both keyed alike. A first process joins the
// first updates; a second one with an empty state directory joins the group while it runs (a
// rebalance moves a partition to it), then the first stops in the middle of the input and the
// second takes everything over, so it must restore both sides' stores, values and timestamps, from
// their changelogs: a later update is joined with the other side's value (and timestamp) from
// before the restart, a delete of the last side left deletes the key's result. Each key's results
// are read back in order (read_committed): under exactly_once exactly the expected sequence,
// nothing lost, nothing doubled; under the other two what they promise (delivery_checks.hpp).
#include <map>

#include "tests/runtime/app_test_support.hpp"
#include "tests/runtime/delivery_checks.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;

constexpr std::int32_t partitions = 2;

operators::topology accounts_with_owners(const std::string& app, const std::string& accounts,
                                         const std::string& owners, const std::string& output,
                                         operators::delivery_guarantee delivery) {
  auto t = table_source_pipeline(app, accounts, output, delivery);
  t.tables.push_back(
      {"owners", owners, operators::data_format::string, operators::data_format::json});
  operators::step join;
  join.kind = operators::step_kind::join;
  join.name = "with-owner";
  join.table = "owners";
  join.join = operators::join_kind::outer;
  join.into = "owner";
  t.steps.push_back(join);
  return t;
}

timed_record update(const char* key, std::optional<json::object> value, std::int64_t at) {
  return {key, value ? std::optional<std::string>(json::serialize(*value)) : std::nullopt, at};
}

// Per key, its results in order: "value @at" ("null" for a deleted result), read_committed.
keyed_results results(const std::string& output) {
  return values_at_by_key(output, partitions);
}

class runtime_table_join : public ::testing::TestWithParam<operators::delivery_guarantee> {};

TEST_P(runtime_table_join,
       a_second_process_restores_both_tables_and_every_update_is_joined_as_the_mode_promises) {
  const two_process_fixture f("accounts", "owners", "account-owners", "table-join-app", partitions);
  const auto& accounts = f.left;
  const auto& owners = f.right;
  const auto& output = f.output;
  const auto topology = accounts_with_owners(f.app, accounts, owners, output, GetParam());
  auto wait_for = [&](const running_app& running, std::size_t n) {
    return wait_until(running, [&] { return distinct_results(results(output)) >= n; });
  };

  // k1 and k2 live in partition 0 of both topics, k3 in partition 1: co-partitioned by hand. The
  // timestamps order each task's records across its two topics.
  f.produce(owners, 0, {update("k1", json::object{{"n", "x"}}, 1000)});
  f.produce(
      accounts, 0,
      {update("k1", json::object{{"a", 1}}, 2000), update("k2", json::object{{"a", 2}}, 3000)});
  f.produce(accounts, 1, {update("k3", json::object{{"a", 3}}, 1000)});
  f.produce(owners, 1, {update("k3", json::object{{"n", "z"}}, 4000)});
  running_app a(topology, f.config);
  a.start();
  ASSERT_TRUE(wait_for(a, 5));
  {
    running_app b(topology, f.config_b);
    b.start();  // a rebalance: one partition moves to b, whose state directory is empty
    // Older than k3's owner: joined with it, at the owner's timestamp, whoever runs partition 1.
    f.produce(accounts, 1, {update("k3", json::object{{"a", 4}}, 3500)});
    ASSERT_TRUE(wait_for(b, 6));
    a.stop();  // in the middle of the input: b takes over partition 0 too, from the changelogs
    f.produce(accounts, 0, {update("k1", std::nullopt, 5000)});
    f.produce(owners, 0,
              {update("k2", json::object{{"n", "y"}}, 6000), update("k1", std::nullopt, 7000)});
    ASSERT_TRUE(wait_for(b, 9));
    std::this_thread::sleep_for(std::chrono::seconds(1));  // anything doubled would show now
    b.stop();
    EXPECT_GT(b.metrics().restored_records.load(), 0u)
        << "b restored the join's stores from their changelogs";
  }
  const keyed_results expected{
      {"k1",
       {R"({"owner":{"n":"x"}} @1000)", R"({"a":1,"owner":{"n":"x"}} @2000)",
        R"({"owner":{"n":"x"}} @5000)", "null @7000"}},
      {"k2", {R"({"a":2,"owner":null} @3000)", R"({"a":2,"owner":{"n":"y"}} @6000)"}},
      {"k3",
       {R"({"a":3,"owner":null} @1000)", R"({"a":3,"owner":{"n":"z"}} @4000)",
        R"({"a":4,"owner":{"n":"z"}} @4000)"}}};
  expect_delivered(GetParam(), results(output), expected);
}

INSTANTIATE_TEST_SUITE_P(delivery, runtime_table_join, every_delivery(), delivery_name);

}  // namespace
}  // namespace sluice::runtime
