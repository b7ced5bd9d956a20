// Aggregating a table's updates (Kafka Streams' KTable#groupBy(...).aggregate(adder, subtractor)):
// the aggregations' inverses, the table_changes node that sends each key's previous value to be
// subtracted before its new value is added, the plan (the node first, its store, the repartition,
// the aggregation that folds changes), validation, and whole pipelines through their
// sub-topologies, the repartition's records (and their headers) passed on as the runtime does.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "operators/aggregation.hpp"
#include "operators/table_aggregator.hpp"
#include "operators/table_changes.hpp"
#include "operators/topology_validation.hpp"
#include "tests/operators/operator_test_support.hpp"
#include "tests/operators/sub_topology_harness.hpp"

namespace sluice::operators {
namespace {

namespace json = boost::json;
using testing::contains;
using testing::make_step;
using namespace std::chrono_literals;
using strings = std::vector<std::string>;

// ---- the aggregations' inverses ----

json::value folded(const aggregation& a, const std::vector<int>& added,
                   const std::vector<int>& subtracted) {
  auto state = a.init();
  for (int v : added) a.add(state, json::value(v), 0);
  for (int v : subtracted) a.subtract(state, json::value(v), 0);
  return a.result(state);
}

TEST(table_regroup_aggregation, count_sum_and_avg_take_a_value_back_out) {
  const auto count = make_builtin_aggregation(aggregate_function::count, true);
  const auto sum = make_builtin_aggregation(aggregate_function::sum, false);
  const auto avg = make_builtin_aggregation(aggregate_function::avg, false);
  for (const auto* a : {count.get(), sum.get(), avg.get()}) EXPECT_TRUE(a->subtracts());
  EXPECT_EQ(folded(*count, {5, 7, 9}, {7}), json::value(2));
  EXPECT_EQ(folded(*count, {5}, {5}), json::value(0));  // an empty group counts 0
  EXPECT_EQ(folded(*sum, {5, 7, 9}, {7}), json::value(14));
  EXPECT_EQ(folded(*sum, {5}, {5}), json::value(0));
  EXPECT_EQ(folded(*avg, {5, 7, 9}, {9}), json::value(6.0));
  EXPECT_EQ(folded(*avg, {5}, {5}), json::value(nullptr));  // the average of nothing
  auto state = sum->init();
  sum->add(state, json::value(1), 0);
  EXPECT_THROW(sum->subtract(state, json::value("x"), 0), aggregation_error);
}

TEST(table_regroup_aggregation, min_max_first_last_and_count_distinct_have_no_inverse) {
  for (auto f : {aggregate_function::min, aggregate_function::max, aggregate_function::first,
                 aggregate_function::last, aggregate_function::count_distinct}) {
    const auto a = make_builtin_aggregation(f, false);
    EXPECT_FALSE(a->subtracts()) << to_string(f);
    auto state = a->init();
    a->add(state, json::value(1), 0);
    EXPECT_THROW(a->subtract(state, json::value(1), 0), aggregation_error) << to_string(f);
  }
}

user_aggregate total_of(bool with_subtract) {
  user_aggregate u{
      [] { return json::value(0); },
      [](json::value s, const json::value& in) {
        return json::value(s.to_number<std::int64_t>() + in.to_number<std::int64_t>());
      },
      [](json::value s, const json::value& other) {
        return json::value(s.to_number<std::int64_t>() + other.to_number<std::int64_t>());
      },
      [](const json::value& s) { return s; }};
  if (with_subtract) {
    u.subtract = [](json::value s, const json::value& in) {
      return json::value(s.to_number<std::int64_t>() - in.to_number<std::int64_t>());
    };
  }
  return u;
}

TEST(table_regroup_aggregation, a_user_aggregate_subtracts_when_it_gives_a_subtract) {
  const auto with = make_user_aggregation(total_of(true));
  const auto without = make_user_aggregation(total_of(false));
  EXPECT_TRUE(with->subtracts());
  EXPECT_FALSE(without->subtracts());
  EXPECT_EQ(folded(*with, {4, 6}, {4}), json::value(6));
  auto state = without->init();
  without->add(state, json::value(4), 0);
  EXPECT_THROW(without->subtract(state, json::value(4), 0), aggregation_error);
}

TEST(table_regroup_aggregation,
     only_an_aggregator_of_a_tables_changes_subtracts_and_needs_inverses) {
  const table_aggregation_spec counts{"t", {aggregation_spec{"n"}}, 0ms};
  const table_aggregation_spec maxima{
      "t", {aggregation_spec{"m", aggregate_function::max, "value", ""}}, 0ms};
  const std::vector<store_plan> plans{{"t-store", store_kind::key_value, "", 0ms}};
  in_memory_store_provider stores;
  operator_metrics metrics;
  const function_registry registry;
  EXPECT_THROW(table_aggregator(maxima, plans, stores, registry, metrics, true),
               std::invalid_argument);
  EXPECT_NO_THROW(table_aggregator(maxima, plans, stores, registry, metrics, false));

  auto marked = testing::make_record(R"("k")", "1", 5);
  marked.headers.push_back(header{std::string(subtract_header), "1"});
  auto count_of = [&](bool folds_changes) {
    in_memory_store_provider own_stores;
    table_aggregator aggregator(counts, plans, own_stores, registry, metrics, folds_changes);
    std::vector<record> out;
    EXPECT_FALSE(aggregator.process(testing::make_record(R"("k")", "1", 4), out));
    EXPECT_FALSE(aggregator.process(marked, out));
    return boost::json::serialize(out.back().value);
  };
  EXPECT_EQ(count_of(true), R"({"n":0})");
  // A stream's aggregation counts a record whatever its headers: the mark means nothing there.
  EXPECT_EQ(count_of(false), R"({"n":2})");
}

// ---- the node ----

// table_changes_node over an in-memory store; what it forwards as "key value [-]" ("-": marked
// to subtract).
class changes_harness {
 public:
  changes_harness()
      : node_(stores_.kv_store(store_plan{"t-previous", store_kind::key_value, "", 0ms}),
              dropped_) {}

  strings update(std::string_view key, std::string_view value, std::vector<header> headers = {}) {
    testing::collecting_context context;
    auto in = testing::make_record(key, value, 7, offset_++);
    in.headers = std::move(headers);
    EXPECT_FALSE(testing::process_through(node_, in, context));
    strings out;
    for (const auto& r : context.forwarded) {
      EXPECT_EQ(r.timestamp, 7);
      const auto marks = std::count_if(r.headers.begin(), r.headers.end(),
                                       [](const header& h) { return h.key == subtract_header; });
      EXPECT_LE(marks, 1);
      out.push_back(boost::json::serialize(r.key) + " " + boost::json::serialize(r.value) +
                    (is_subtract(r) ? " -" : ""));
    }
    return out;
  }
  std::uint64_t dropped() const { return dropped_.load(); }

 private:
  in_memory_store_provider stores_;
  std::atomic<std::uint64_t> dropped_{0};
  table_changes_node node_;
  std::int64_t offset_ = 0;
};

TEST(table_changes_node, an_update_subtracts_the_previous_value_then_adds_the_new_one) {
  changes_harness h;
  EXPECT_EQ(h.update(R"("c1")", R"({"region":"eu"})"), (strings{R"("c1" {"region":"eu"})"}));
  EXPECT_EQ(h.update(R"("c1")", R"({"region":"us"})"),
            (strings{R"("c1" {"region":"eu"} -)", R"("c1" {"region":"us"})"}));
  EXPECT_EQ(h.update(R"("c2")", R"({"region":"eu"})"), (strings{R"("c2" {"region":"eu"})"}));
  // A tombstone only subtracts; one for a key the table does not have does nothing.
  EXPECT_EQ(h.update(R"("c1")", "null"), (strings{R"("c1" {"region":"us"} -)"}));
  EXPECT_EQ(h.update(R"("c1")", "null"), strings{});
  EXPECT_EQ(h.update(R"("c1")", R"({"region":"ap"})"), (strings{R"("c1" {"region":"ap"})"}));
}

TEST(table_changes_node, a_record_without_a_key_is_dropped_and_an_input_mark_is_not_trusted) {
  changes_harness h;
  EXPECT_EQ(h.update("null", R"({"region":"eu"})"), strings{});
  EXPECT_EQ(h.dropped(), 1U);
  // A header of the mark's name on the input is the producer's, not ours: the value is added.
  EXPECT_EQ(h.update(R"("c1")", "1", {header{std::string(subtract_header), "1"}}),
            (strings{R"("c1" 1)"}));
  EXPECT_EQ(h.update(R"("c1")", "2", {header{"trace", "t1"}}),
            (strings{R"("c1" 1 -)", R"("c1" 2)"}));
}

// ---- the plan ----

// customers (read as a table, keyed by id, {region, spend}) counted and summed per region.
topology customers_per_region(std::vector<aggregation_spec> aggregations = {
                                  aggregation_spec{"customers", aggregate_function::count, "", ""},
                                  aggregation_spec{"spend", aggregate_function::sum, "value.spend",
                                                   ""}}) {
  topology t;
  t.name = "app";
  source_spec customers{{"customers"}, data_format::string, data_format::json};
  customers.as_table = true;
  t.sources = {customers};
  t.steps = {make_step(step_kind::select_key, "value.region", "by-region")};
  t.table = table_aggregation_spec{"per-region", std::move(aggregations), 0ms};
  t.sinks = {sink_spec{"out", data_format::string, data_format::json}};
  return t;
}

// The customers joined with their tier (inner: a customer without one is in no region) first.
void joined_with_tiers(topology& t) {
  t.tables = {table_source_spec{"tiers", "tier-topic", data_format::string, data_format::json}};
  step join;
  join.kind = step_kind::join;
  join.name = "with-tier";
  join.table = "tiers";
  join.into = "tier";
  join.join = join_kind::inner;
  t.steps.insert(t.steps.begin(), join);
}

TEST(table_regroup_plan, the_changes_step_comes_first_and_the_aggregation_after_the_repartition) {
  const auto plan = plan_topology(customers_per_region());
  ASSERT_EQ(plan.sub_topologies.size(), 2U);
  const auto& first = plan.sub_topologies[0];
  ASSERT_EQ(first.steps.size(), 2U);
  EXPECT_EQ(first.steps[0], table_changes_step(table_aggregation_spec{"per-region", {}, 0ms}));
  EXPECT_EQ(first.steps[0].name, "per-region-changes");
  EXPECT_EQ(first.steps[1].name, "by-region");
  EXPECT_EQ(first.stores, (std::vector<store_plan>{{"per-region-previous", store_kind::key_value,
                                                    "app-per-region-previous-changelog", 0ms}}));
  EXPECT_TRUE(first.writes_internal);
  EXPECT_FALSE(first.folds_table_changes);
  const auto& second = plan.sub_topologies[1];
  EXPECT_TRUE(second.reads_internal);
  EXPECT_TRUE(second.folds_table_changes);
  ASSERT_TRUE(second.table);
  EXPECT_EQ(plan.repartition_topics, strings{"app-by-region-repartition"});
}

TEST(table_regroup_plan, after_a_table_table_join_the_changes_step_follows_the_join) {
  auto t = customers_per_region();
  joined_with_tiers(t);
  EXPECT_TRUE(testing::problems(t).empty()) << ::testing::PrintToString(testing::problems(t));
  const auto plan = plan_topology(t);
  ASSERT_EQ(plan.sub_topologies.size(), 2U);
  const auto& first = plan.sub_topologies[0];
  ASSERT_EQ(first.steps.size(), 3U);
  EXPECT_EQ(first.steps[0].name, "with-tier");
  EXPECT_EQ(first.steps[1].kind, step_kind::table_changes);
  EXPECT_EQ(first.stores.size(), 3U);  // the join's two sides and the previous values
}

// ---- validation ----

TEST(table_regroup_validation, count_sum_avg_and_user_aggregates_with_a_subtract_pass) {
  EXPECT_TRUE(testing::problems(customers_per_region()).empty());
  auto avg =
      customers_per_region({aggregation_spec{"mean", aggregate_function::avg, "value.spend", ""}});
  avg.steps.clear();  // grouped by the table's own key: no repartition
  EXPECT_TRUE(testing::problems(avg).empty());
  function_registry registry;
  registry.add_aggregate("total", total_of(true));
  const auto user = customers_per_region(
      {aggregation_spec{"t", aggregate_function::user, "value.spend", "total"}});
  EXPECT_TRUE(validate_topology(user, registry).empty());
}

TEST(table_regroup_validation, aggregations_without_an_inverse_are_refused_with_the_reason) {
  const auto all = testing::problems(customers_per_region(
      {aggregation_spec{"n", aggregate_function::count, "", ""},
       aggregation_spec{"top", aggregate_function::max, "value.spend", ""},
       aggregation_spec{"kinds", aggregate_function::count_distinct, "value.kind", ""}}));
  EXPECT_TRUE(contains(all,
                       "table.aggregate[1].function: max cannot aggregate a table: when a "
                       "key's value changes or is deleted, its old value leaves its group"))
      << ::testing::PrintToString(all);
  EXPECT_TRUE(contains(all, "Kafka Streams asks for a subtractor too"));
  EXPECT_TRUE(contains(all, "table.aggregate[2].function: count_distinct cannot aggregate"));
  EXPECT_FALSE(contains(all, "table.aggregate[0]"));

  function_registry registry;
  registry.add_aggregate("total", total_of(false));
  std::vector<std::string> user;
  for (const auto& e : validate_topology(
           customers_per_region(
               {aggregation_spec{"t", aggregate_function::user, "value.spend", "total"}}),
           registry)) {
    user.push_back(e.path + ": " + e.message);
  }
  EXPECT_TRUE(contains(user, "table.aggregate[0].function: user aggregate 'total' has no subtract"))
      << ::testing::PrintToString(user);
}

TEST(table_regroup_validation, only_stateless_built_in_steps_run_between_the_table_and_it) {
  auto t = customers_per_region();
  step user;
  user.kind = step_kind::user;
  user.name = "mine";
  user.function = "f";
  t.steps.push_back(user);
  t.aggregation = windowed_aggregation_spec{};
  const auto all = testing::problems(t);
  EXPECT_TRUE(contains(all, "steps[1].user: between a table and its aggregation only filter, map"))
      << ::testing::PrintToString(all);
  EXPECT_TRUE(contains(all, "window: the updates of a table are not windowed"));
}

TEST(table_regroup_validation, a_table_is_joined_first_or_aggregated_and_not_in_a_branch) {
  auto lone = customers_per_region();
  lone.table.reset();
  EXPECT_TRUE(contains(testing::problems(lone),
                       "steps[0].select_key: a source read as a table is joined with a table by "
                       "the first step (join: {table: NAME, type: inner|left|outer}) or "
                       "aggregated (table:)"));
  auto branched = customers_per_region();
  branched.table.reset();
  branched.steps.clear();
  joined_with_tiers(branched);
  branch_spec b;
  b.name = "regions";
  b.from = {std::string(main_chain)};
  b.table = table_aggregation_spec{"per-region", {aggregation_spec{"n"}}, 0ms};
  b.sinks = {sink_spec{"region-counts", data_format::string, data_format::json}};
  branched.branches = {b};
  EXPECT_TRUE(contains(testing::problems(branched),
                       "branches[0].table: the updates of a source read as a table are "
                       "aggregated in the main chain (table:), not in a branch"));
}

// ---- whole pipelines ----

// Every sub-topology of a plan, the repartition topic's records handed to the next one with their
// headers (as the runtime reads them back); results() gives the pipeline's outputs as
// "key value".
class pipeline_harness {
 public:
  explicit pipeline_harness(const topology& t, function_registry registry = {})
      : plan_(plan_topology(t)) {
    for (const auto& sub : plan_.sub_topologies) {
      subs_.push_back(std::make_unique<testing::sub_topology_harness>(sub, registry));
    }
  }

  strings feed(std::string topic, std::string key, std::optional<std::string> value,
               std::int64_t timestamp) {
    strings results;
    std::vector<raw_record> queue{raw_record{
        record_origin{std::move(topic), 0, 0}, std::move(key), std::move(value), timestamp, {}}};
    std::size_t next = 0;
    while (next < queue.size()) {
      const auto in = queue[next++];
      for (std::size_t i = 0; i < subs_.size(); ++i) {
        if (!reads(plan_.sub_topologies[i], in.origin.topic)) continue;
        std::vector<output_record> out;
        auto e = subs_[i]->process(in, out);
        EXPECT_FALSE(e) << (e ? e->describe() : "");
        for (auto& o : out) {
          if (is_internal(o.topic)) {
            queue.push_back(
                raw_record{record_origin{o.topic, 0, 0}, o.key, o.value, o.timestamp, o.headers});
          } else {
            results.push_back(o.key.value_or("<null>") + " " + o.value.value_or("<null>"));
          }
        }
      }
    }
    return results;
  }

 private:
  static bool reads(const sub_topology& sub, const std::string& topic) {
    return std::any_of(sub.sources.begin(), sub.sources.end(), [&](const source_spec& s) {
      return std::find(s.topics.begin(), s.topics.end(), topic) != s.topics.end();
    });
  }
  bool is_internal(const std::string& topic) const {
    const auto& internal = plan_.repartition_topics;
    return std::find(internal.begin(), internal.end(), topic) != internal.end();
  }

  topology_plan plan_;
  std::vector<std::unique_ptr<testing::sub_topology_harness>> subs_;
};

TEST(table_regroup, a_customer_who_moves_leaves_the_old_region_and_a_deleted_one_leaves_it_too) {
  pipeline_harness h(customers_per_region());
  EXPECT_EQ(h.feed("customers", "c1", R"({"region":"eu","spend":10})", 1),
            (strings{R"(eu {"customers":1,"spend":10})"}));
  EXPECT_EQ(h.feed("customers", "c2", R"({"region":"eu","spend":5})", 2),
            (strings{R"(eu {"customers":2,"spend":15})"}));
  // c1 moves: eu loses it (and its spend), us gains it with its new spend.
  EXPECT_EQ(h.feed("customers", "c1", R"({"region":"us","spend":12})", 3),
            (strings{R"(eu {"customers":1,"spend":5})", R"(us {"customers":1,"spend":12})"}));
  // An update within a region takes the old spend out and puts the new one in.
  EXPECT_EQ(h.feed("customers", "c2", R"({"region":"eu","spend":8})", 4),
            (strings{R"(eu {"customers":0,"spend":0})", R"(eu {"customers":1,"spend":8})"}));
  // A tombstone only subtracts; the empty group stays at 0, as in Kafka Streams.
  EXPECT_EQ(h.feed("customers", "c2", std::nullopt, 5),
            (strings{R"(eu {"customers":0,"spend":0})"}));
  EXPECT_EQ(h.feed("customers", "c2", std::nullopt, 6), strings{});
}

TEST(table_regroup, a_filter_before_the_aggregation_applies_to_the_old_and_the_new_value_alike) {
  auto t = customers_per_region({aggregation_spec{"n", aggregate_function::count, "", ""}});
  t.steps.insert(t.steps.begin(), make_step(step_kind::filter, "value.spend >= 10", "big"));
  pipeline_harness h(t);
  EXPECT_EQ(h.feed("customers", "c1", R"({"region":"eu","spend":10})", 1),
            (strings{R"(eu {"n":1})"}));
  // It drops below the filter: its old value, which passed, is subtracted; the new one is not
  // added.
  EXPECT_EQ(h.feed("customers", "c1", R"({"region":"eu","spend":3})", 2),
            (strings{R"(eu {"n":0})"}));
  // Deleting it then subtracts nothing: its value never passed the filter.
  EXPECT_EQ(h.feed("customers", "c1", std::nullopt, 3), strings{});
}

TEST(table_regroup, the_results_of_a_table_table_join_are_regrouped_with_a_user_aggregate) {
  auto t = customers_per_region(
      {aggregation_spec{"total", aggregate_function::user, "value.tier.discount", "total"}});
  joined_with_tiers(t);
  function_registry registry;
  registry.add_aggregate("total", total_of(true));
  ASSERT_TRUE(validate_topology(t, registry).empty());
  pipeline_harness h(t, registry);
  EXPECT_EQ(h.feed("customers", "c1", R"({"region":"eu"})", 1), strings{});  // no tier yet
  EXPECT_EQ(h.feed("tier-topic", "c1", R"({"discount":3})", 2), (strings{R"(eu {"total":3})"}));
  EXPECT_EQ(h.feed("tier-topic", "c1", R"({"discount":5})", 3),
            (strings{R"(eu {"total":0})", R"(eu {"total":5})"}));
  // The inner join's result is deleted with the tier: the key leaves its group.
  EXPECT_EQ(h.feed("tier-topic", "c1", std::nullopt, 4), (strings{R"(eu {"total":0})"}));
}

}  // namespace
}  // namespace sluice::operators
