#include "operators/table_aggregator.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <memory>

#include "operators/topology_validation.hpp"
#include "tests/operators/operator_test_support.hpp"

namespace sluice::operators {
namespace {

using testing::json;
using namespace std::chrono_literals;

table_aggregation_spec count_and_sum() {
  table_aggregation_spec spec;
  spec.name = "per-key";
  spec.aggregations = {aggregation_spec{"n", aggregate_function::count, "", ""},
                       aggregation_spec{"total", aggregate_function::sum, "value.amount", ""}};
  return spec;
}

// One aggregator over in-memory stores, fed like a task would feed it.
class harness {
 public:
  explicit harness(table_aggregation_spec spec, function_registry registry = {})
      : spec_(std::move(spec)), registry_(std::move(registry)) {
    plans_ = {store_plan{spec_.store_name(), store_kind::key_value, "", 0ms}};
    if (spec_.emit_every.count() > 0)
      plans_.push_back(store_plan{spec_.pending_store_name(), store_kind::key_value, "", 0ms});
    open();
  }

  std::vector<record> feed(std::string_view key, std::string_view value, std::int64_t timestamp) {
    std::vector<record> out;
    auto e = aggregator_->process(testing::make_record(key, value, timestamp, offset_++), out);
    EXPECT_FALSE(e) << (e ? e->describe() : "");
    return out;
  }

  std::optional<processing_error> feed_error(std::string_view key, std::string_view value) {
    std::vector<record> out;
    auto e = aggregator_->process(testing::make_record(key, value, 0, offset_++), out);
    EXPECT_TRUE(out.empty());
    return e;
  }

  // What the interval's punctuation emits: "key=value" per result.
  std::vector<std::string> emit_pending() {
    std::vector<record> out;
    auto e = aggregator_->emit_pending(out);
    EXPECT_FALSE(e) << (e ? e->describe() : "");
    std::vector<std::string> got;
    got.reserve(out.size());
    for (const auto& r : out)
      got.push_back(boost::json::serialize(r.key) + "=" + boost::json::serialize(r.value));
    return got;
  }

  // Commits the store and builds a new aggregator over it, as after a restart.
  void restart() {
    stores.commit_all(state::changelog_offset{++commits_});
    open();
  }
  void abort() {
    stores.abort_all();
    open();
  }

  in_memory_store_provider stores;
  operator_metrics metrics;

 private:
  void open() {
    aggregator_ = std::make_unique<table_aggregator>(spec_, plans_, stores, registry_, metrics);
  }

  table_aggregation_spec spec_;
  function_registry registry_;
  std::vector<store_plan> plans_;
  std::unique_ptr<table_aggregator> aggregator_;
  std::int64_t offset_ = 0;
  std::int64_t commits_ = 0;
};

std::string value_of(const std::vector<record>& out) {
  EXPECT_EQ(out.size(), 1U);
  return out.empty() ? "" : boost::json::serialize(out[0].value);
}

TEST(table_aggregator, every_record_emits_its_keys_new_result) {
  harness h(count_and_sum());
  EXPECT_EQ(value_of(h.feed(R"("a")", R"({"amount":2})", 10)), R"({"n":1,"total":2})");
  EXPECT_EQ(value_of(h.feed(R"("b")", R"({"amount":5})", 20)), R"({"n":1,"total":5})");
  auto out = h.feed(R"("a")", R"({"amount":3})", 30);
  EXPECT_EQ(value_of(out), R"({"n":2,"total":5})");
  EXPECT_EQ(out[0].key, json(R"("a")"));
  EXPECT_EQ(out[0].timestamp, 30);
  EXPECT_EQ(h.metrics.table_updates.load(), 3U);
}

TEST(table_aggregator, the_timestamp_is_the_largest_one_folded_in) {
  harness h(count_and_sum());
  h.feed(R"("a")", R"({"amount":1})", 500);
  auto out = h.feed(R"("a")", R"({"amount":1})", 100);  // an older record, still counted
  EXPECT_EQ(value_of(out), R"({"n":2,"total":2})");
  EXPECT_EQ(out[0].timestamp, 500);
}

TEST(table_aggregator, committed_state_survives_a_restart_and_aborted_writes_do_not) {
  harness h(count_and_sum());
  h.feed(R"("a")", R"({"amount":1})", 1);
  h.feed(R"("a")", R"({"amount":1})", 2);
  h.restart();
  h.feed(R"("a")", R"({"amount":10})", 3);  // lost with the abort
  h.abort();
  EXPECT_EQ(value_of(h.feed(R"("a")", R"({"amount":4})", 4)), R"({"n":3,"total":6})");
}

TEST(table_aggregator, a_bad_record_changes_nothing) {
  harness h(count_and_sum());
  h.feed(R"("a")", R"({"amount":1})", 1);
  auto e = h.feed_error(R"("a")", R"({"amount":"lots"})");
  ASSERT_TRUE(e);
  EXPECT_NE(e->describe().find("total"), std::string::npos) << e->describe();
  EXPECT_EQ(value_of(h.feed(R"("a")", R"({"amount":1})", 2)), R"({"n":2,"total":2})");
}

TEST(table_aggregator, with_emit_every_a_key_emits_its_latest_result_once_per_interval) {
  auto spec = count_and_sum();
  spec.emit_every = 1000ms;
  harness h(spec);
  EXPECT_TRUE(h.feed(R"("a")", R"({"amount":1})", 1).empty());
  EXPECT_TRUE(h.feed(R"("a")", R"({"amount":2})", 2).empty());
  EXPECT_TRUE(h.feed(R"("b")", R"({"amount":5})", 3).empty());
  EXPECT_EQ(h.emit_pending(),
            (std::vector<std::string>{R"("a"={"n":2,"total":3})", R"("b"={"n":1,"total":5})"}));
  EXPECT_TRUE(h.emit_pending().empty()) << "nothing changed since";
  h.feed(R"("b")", R"({"amount":1})", 4);
  h.restart();  // the mark is committed with the state: a crash does not lose the result
  EXPECT_EQ(h.emit_pending(), std::vector<std::string>{R"("b"={"n":2,"total":6})"});
  h.abort();  // the emission was not committed: the mark is back
  EXPECT_EQ(h.emit_pending(), std::vector<std::string>{R"("b"={"n":2,"total":6})"});
  EXPECT_EQ(h.metrics.table_updates.load(), 4U);
}

TEST(table_aggregator, keys_of_any_json_type_are_kept_apart) {
  harness h(count_and_sum());
  h.feed("1", R"({"amount":1})", 1);
  h.feed(R"("1")", R"({"amount":1})", 1);
  h.feed("null", R"({"amount":1})", 1);
  EXPECT_EQ(value_of(h.feed("1", R"({"amount":1})", 2)), R"({"n":2,"total":2})");
  EXPECT_EQ(value_of(h.feed("null", R"({"amount":1})", 2)), R"({"n":2,"total":2})");
}

topology table_pipeline(std::vector<step> steps) {
  topology t;
  t.name = "app";
  t.sources = {source_spec{{"in"}, data_format::string, data_format::json}};
  t.steps = std::move(steps);
  t.table = count_and_sum();
  t.sinks = {sink_spec{"out", data_format::string, data_format::json}};
  return t;
}

TEST(table_aggregation_plan, one_key_value_store_with_a_compacted_changelog) {
  auto plan = plan_topology(table_pipeline({}));
  ASSERT_EQ(plan.sub_topologies.size(), 1U);
  const auto& sub = plan.sub_topologies[0];
  EXPECT_TRUE(sub.table);
  EXPECT_FALSE(sub.aggregation);
  ASSERT_EQ(sub.stores.size(), 1U);
  EXPECT_EQ(sub.stores[0], (store_plan{"per-key-store", store_kind::key_value,
                                       "app-per-key-store-changelog", 0ms}));
  EXPECT_EQ(plan.changelog_topics, std::vector<std::string>{"app-per-key-store-changelog"});
}

TEST(table_aggregation_plan, emit_every_adds_the_pending_store) {
  auto t = table_pipeline({});
  t.table->emit_every = 5s;
  auto plan = plan_topology(t);
  EXPECT_EQ(plan.changelog_topics, (std::vector<std::string>{"app-per-key-store-changelog",
                                                             "app-per-key-pending-changelog"}));
  t.table->emit_every = -1ms;
  auto errors = validate_topology(t, {});
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(errors[0].path, "table.emit_every");
}

TEST(table_aggregation_plan, a_key_change_before_the_table_repartitions) {
  auto plan = plan_topology(
      table_pipeline({testing::make_step(step_kind::select_key, "value.user", "by-user")}));
  ASSERT_EQ(plan.sub_topologies.size(), 2U);
  EXPECT_EQ(plan.repartition_topics, std::vector<std::string>{"app-by-user-repartition"});
  EXPECT_FALSE(plan.sub_topologies[0].table);
  EXPECT_TRUE(plan.sub_topologies[0].stores.empty());
  EXPECT_TRUE(plan.sub_topologies[1].table);
  EXPECT_EQ(plan.sub_topologies[1].stores.size(), 1U);
}

TEST(table_aggregation_validation, names_what_is_wrong_and_where) {
  auto t = table_pipeline({});
  t.table->name = "bad name";
  t.table->aggregations.push_back(aggregation_spec{"n", aggregate_function::max, "", ""});
  windowed_aggregation_spec window;
  window.window.size = 1min;
  window.aggregations = {aggregation_spec{"c", aggregate_function::count, "", ""}};
  t.aggregation = window;
  std::vector<std::string> got;
  for (const auto& e : validate_topology(t, {})) got.push_back(e.path + ": " + e.message);
  auto has = [&](std::string_view text) {
    return std::any_of(got.begin(), got.end(),
                       [&](const std::string& g) { return g.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has("table.name: 'bad name' cannot be part of a store or topic name"))
      << ::testing::PrintToString(got);
  EXPECT_TRUE(has("table: a pipeline aggregates once: a window or a table, not both"));
  EXPECT_TRUE(has("table.aggregate[2].name: output 'n' is used twice"));
  EXPECT_TRUE(has("table.aggregate[2].expression: max needs an expression to aggregate"));
}

TEST(table_aggregation_validation, an_empty_table_is_an_error) {
  auto t = table_pipeline({});
  t.table->aggregations.clear();
  auto errors = validate_topology(t, {});
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(errors[0].path, "table.aggregate");
  EXPECT_EQ(errors[0].message, "expected at least one aggregation");
}

// A user aggregation written against the built-in aggregations' interface (aggregation.hpp):
// the longest string seen.
class longest final : public aggregation {
 public:
  boost::json::value init() const override { return ""; }
  void add(boost::json::value& state, const boost::json::value& input,
           std::int64_t /*timestamp*/) const override {
    if (!input.is_string()) throw aggregation_error("needs strings");
    if (input.get_string().size() > state.get_string().size()) state = input;
  }
  void merge(boost::json::value& state, const boost::json::value& other) const override {
    add(state, other, 0);
  }
  boost::json::value result(const boost::json::value& state) const override { return state; }
};

TEST(table_aggregator, a_user_aggregation_implements_the_built_in_aggregations_interface) {
  function_registry registry;
  registry.add_aggregate("longest", std::make_shared<longest>());
  table_aggregation_spec spec;
  spec.name = "per-key";
  spec.aggregations = {aggregation_spec{"n", aggregate_function::count, "", ""},
                       aggregation_spec{"name", aggregate_function::user, "value.name", "longest"}};
  harness h(spec, std::move(registry));
  EXPECT_EQ(value_of(h.feed(R"("a")", R"({"name":"ann"})", 1)), R"({"n":1,"name":"ann"})");
  EXPECT_EQ(value_of(h.feed(R"("a")", R"({"name":"jo"})", 2)), R"({"n":2,"name":"ann"})");
  auto e = h.feed_error(R"("a")", R"({"name":7})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, error_kind::user_function);
  EXPECT_NE(e->message.find("user aggregate 'longest' threw: needs strings"), std::string::npos)
      << e->message;
  EXPECT_EQ(value_of(h.feed(R"("a")", R"({"name":"maria"})", 3)), R"({"n":3,"name":"maria"})");
}

}  // namespace
}  // namespace sluice::operators
