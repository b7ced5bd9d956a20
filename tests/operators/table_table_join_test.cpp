// Table-table joins in the operators: the planner (the right table read in the join's
// sub-topology, one store per side), validation, and the join's results, which follow Kafka
// Streams' KTable-KTable joins (KTableKTableInnerJoin, -LeftJoin, -RightJoin, -OuterJoin) update
// by update: the expected lines below are what those processors emit for the same updates.
#include <gtest/gtest.h>

#include "operators/topology_validation.hpp"
#include "tests/operators/operator_test_support.hpp"
#include "tests/operators/sub_topology_harness.hpp"

namespace sluice::operators {
namespace {

using testing::contains;
using testing::make_step;
using testing::problems;
using namespace std::chrono_literals;

step table_join_step(join_kind kind, std::string name = "j") {
  step s;
  s.kind = step_kind::join;
  s.name = std::move(name);
  s.table = "owners";
  s.into = "owner";
  s.join = kind;
  return s;
}

// accounts (read as a table) joined with owners (a table), keyed alike.
topology accounts_with_owners(std::vector<step> steps) {
  topology t;
  t.name = "app";
  source_spec accounts{{"accounts"}, data_format::string, data_format::json};
  accounts.as_table = true;
  t.sources = {accounts};
  t.tables = {table_source_spec{"owners", "owner-topic", data_format::string, data_format::json}};
  t.steps = std::move(steps);
  t.sinks = {sink_spec{"out", data_format::string, data_format::json}};
  return t;
}

TEST(table_table_join_plan, the_join_reads_the_right_table_and_keeps_each_side_in_its_own_store) {
  const auto plan = plan_topology(accounts_with_owners({table_join_step(join_kind::outer)}));
  ASSERT_EQ(plan.sub_topologies.size(), 1U);
  const auto& sub = plan.sub_topologies[0];
  ASSERT_EQ(sub.sources.size(), 2U);
  EXPECT_TRUE(sub.sources[0].as_table);
  EXPECT_EQ(sub.sources[1], (source_spec{{"owner-topic"}, data_format::string, data_format::json}));
  EXPECT_TRUE(sub.tables.empty());  // not a stream-table join's table: no "owners-table" store
  ASSERT_EQ(sub.joined_tables.size(), 1U);
  EXPECT_EQ(sub.joined_tables[0].name, "owners");
  EXPECT_EQ(sub.joined_table_of(sub.steps[0]), &sub.joined_tables[0]);
  EXPECT_EQ(sub.stores, (std::vector<store_plan>{
                            {"j-left", store_kind::key_value, "app-j-left-changelog", 0ms},
                            {"j-right", store_kind::key_value, "app-j-right-changelog", 0ms}}));
  EXPECT_EQ(plan.changelog_topics,
            (std::vector<std::string>{"app-j-left-changelog", "app-j-right-changelog"}));
}

TEST(table_table_join_validation, a_valid_join_of_every_kind_passes) {
  for (auto kind : {join_kind::inner, join_kind::left, join_kind::outer}) {
    EXPECT_TRUE(problems(accounts_with_owners({table_join_step(kind),
                                               make_step(step_kind::filter, "true", "after")}))
                    .empty())
        << to_string(kind);
  }
}

// Aggregating the table's updates (table:) is table_regroup_test's.
TEST(table_table_join_validation, a_table_source_is_alone_joined_once_first_and_not_windowed) {
  auto t = accounts_with_owners(
      {make_step(step_kind::filter, "true", "f"), table_join_step(join_kind::left)});
  t.sources[0].topics.push_back("more-accounts");
  t.sources.push_back(source_spec{{"events"}, data_format::string, data_format::json});
  t.aggregation = windowed_aggregation_spec{
      "w", window_spec{window_kind::tumbling, 1min}, "", {aggregation_spec{"n"}}};
  const auto all = problems(t);
  EXPECT_TRUE(contains(all, "sources[0].as: a source read as a table is the pipeline's only"))
      << ::testing::PrintToString(all);
  EXPECT_TRUE(contains(all, "sources[0].topics: a table is read from one topic"));
  EXPECT_TRUE(contains(all,
                       "steps[0].filter: a source read as a table is joined with a table by "
                       "the first step"));
  EXPECT_TRUE(contains(all, "steps[1].join: a pipeline whose source is a table joins once"));
  EXPECT_TRUE(contains(all, "window: the updates of a table are not windowed"));
}

TEST(table_table_join_validation, an_outer_join_needs_a_source_read_as_a_table) {
  auto t = accounts_with_owners({table_join_step(join_kind::outer)});
  t.sources[0].as_table = false;
  EXPECT_TRUE(contains(problems(t), "steps[0].join.type: a join with a table is inner or left"));
}

// The join's sub-topology; account() and owner() return "key value @timestamp" per result.
class join_harness {
 public:
  explicit join_harness(join_kind kind)
      : harness_(
            plan_topology(accounts_with_owners({table_join_step(kind)})).sub_topologies.at(0)) {}

  std::vector<std::string> account(std::optional<std::string> key, std::optional<std::string> value,
                                   std::int64_t timestamp) {
    return harness_.feed("accounts", std::move(key), std::move(value), timestamp);
  }
  std::vector<std::string> owner(std::optional<std::string> key, std::optional<std::string> value,
                                 std::int64_t timestamp) {
    return harness_.feed("owner-topic", std::move(key), std::move(value), timestamp);
  }
  testing::sub_topology_harness& harness() { return harness_; }

 private:
  testing::sub_topology_harness harness_;
};

using strings = std::vector<std::string>;
const std::nullopt_t deleted = std::nullopt;

TEST(table_table_join, an_inner_join_emits_while_both_sides_have_the_key_and_tombstones_after) {
  join_harness h(join_kind::inner);
  EXPECT_EQ(h.account("k1", R"({"a":1})", 10), strings{});  // no owner yet
  EXPECT_EQ(h.owner("k1", R"({"n":"x"})", 20), (strings{R"(k1 {"a":1,"owner":{"n":"x"}} @20)"}));
  // The result's timestamp is the larger of the update's and the other side's.
  EXPECT_EQ(h.account("k1", R"({"a":2})", 15), (strings{R"(k1 {"a":2,"owner":{"n":"x"}} @20)"}));
  EXPECT_EQ(h.owner("k1", R"({"n":"y"})", 30), (strings{R"(k1 {"a":2,"owner":{"n":"y"}} @30)"}));
  EXPECT_EQ(h.owner("k1", deleted, 40), (strings{"k1 <null> @40"}));  // the result is deleted
  EXPECT_EQ(h.account("k1", deleted, 50), strings{});                 // nothing left to delete
  EXPECT_EQ(h.owner("k1", R"({"n":"z"})", 60), strings{});            // no account any more
  EXPECT_EQ(h.account("k2", deleted, 70), strings{});
  EXPECT_EQ(h.owner("k2", R"({"n":"w"})", 80), strings{});
  // Kafka Streams emits a tombstone for a delete while the other side has the key, even when the
  // deleted side never had it (a repeated tombstone is harmless in a changelog).
  EXPECT_EQ(h.account("k2", deleted, 90), (strings{"k2 <null> @90"}));
}

TEST(table_table_join, a_left_join_keeps_accounts_without_an_owner_and_ignores_lone_owners) {
  join_harness h(join_kind::left);
  EXPECT_EQ(h.owner("k1", R"({"n":"x"})", 5), strings{});  // no account: nothing
  EXPECT_EQ(h.account("k1", R"({"a":1})", 10), (strings{R"(k1 {"a":1,"owner":{"n":"x"}} @10)"}));
  EXPECT_EQ(h.account("k2", R"({"a":2})", 12), (strings{R"(k2 {"a":2,"owner":null} @12)"}));
  // An owner deleted under an account: the account stays, with a null owner.
  EXPECT_EQ(h.owner("k1", deleted, 20), (strings{R"(k1 {"a":1,"owner":null} @20)"}));
  EXPECT_EQ(h.owner("k2", R"({"n":"y"})", 25), (strings{R"(k2 {"a":2,"owner":{"n":"y"}} @25)"}));
  EXPECT_EQ(h.account("k2", deleted, 30), (strings{"k2 <null> @30"}));
  EXPECT_EQ(h.account("k1", deleted, 35), (strings{"k1 <null> @35"}));
  EXPECT_EQ(h.account("k3", deleted, 40), strings{});  // neither side ever had k3
  EXPECT_EQ(h.owner("k3", deleted, 45), strings{});
  EXPECT_EQ(h.owner("k2", deleted, 50), strings{});  // its account is gone
}

TEST(table_table_join, an_outer_join_emits_either_side_alone_and_a_tombstone_when_both_are_gone) {
  join_harness h(join_kind::outer);
  EXPECT_EQ(h.owner("k1", R"({"n":"x"})", 5), (strings{R"(k1 {"owner":{"n":"x"}} @5)"}));
  EXPECT_EQ(h.account("k1", R"({"a":1})", 10), (strings{R"(k1 {"a":1,"owner":{"n":"x"}} @10)"}));
  EXPECT_EQ(h.account("k2", R"({"a":2})", 12), (strings{R"(k2 {"a":2,"owner":null} @12)"}));
  EXPECT_EQ(h.account("k1", deleted, 20), (strings{R"(k1 {"owner":{"n":"x"}} @20)"}));
  EXPECT_EQ(h.owner("k1", deleted, 25), (strings{"k1 <null> @25"}));
  EXPECT_EQ(h.owner("k1", deleted, 26), strings{});  // already gone on both sides
  // A delete of an owner k2 never had still re-emits the account (Kafka Streams' OuterJoin).
  EXPECT_EQ(h.owner("k2", deleted, 30), (strings{R"(k2 {"a":2,"owner":null} @30)"}));
  EXPECT_EQ(h.account("k2", deleted, 40), (strings{"k2 <null> @40"}));
}

TEST(table_table_join, a_record_without_a_key_is_dropped_and_counted) {
  join_harness h(join_kind::outer);
  EXPECT_EQ(h.account(std::nullopt, R"({"a":1})", 10), strings{});
  EXPECT_EQ(h.owner(std::nullopt, R"({"n":"x"})", 10), strings{});
  EXPECT_EQ(h.harness().metrics().join_dropped, 2U);
  EXPECT_EQ(h.account("k1", R"({"a":1})", 11), (strings{R"(k1 {"a":1,"owner":null} @11)"}));
  EXPECT_EQ(h.harness().metrics().table_records, 1U);
}

TEST(table_table_join, an_account_that_is_not_an_object_fails_and_is_not_stored) {
  join_harness h(join_kind::inner);
  h.owner("k1", R"({"n":"x"})", 5);
  std::vector<std::string> results;
  const auto error = h.harness().try_feed("accounts", "k1", R"("text")", 10, results);
  ASSERT_TRUE(error);
  EXPECT_NE(error->message.find("join with table 'owners' adds member 'owner' to the value, which "
                                "must be an object"),
            std::string::npos)
      << error->message;
  EXPECT_TRUE(results.empty());
  EXPECT_EQ(h.owner("k1", R"({"n":"y"})", 20), strings{});  // the account was not kept
}

TEST(table_table_join, both_sides_values_and_timestamps_survive_a_restart) {
  join_harness h(join_kind::left);
  h.account("k1", R"({"a":1})", 10);
  h.owner("k1", R"({"n":"x"})", 20);
  h.harness().restart();
  EXPECT_EQ(h.account("k1", R"({"a":2})", 15), (strings{R"(k1 {"a":2,"owner":{"n":"x"}} @20)"}));
  EXPECT_EQ(h.owner("k1", deleted, 30), (strings{R"(k1 {"a":2,"owner":null} @30)"}));
}

}  // namespace
}  // namespace sluice::operators
