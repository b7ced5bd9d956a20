#include "operators/windowed_aggregator.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <memory>

#include "state/serdes.hpp"
#include "tests/operators/operator_test_support.hpp"

namespace sluice::operators {
namespace {

using testing::json;
using namespace std::chrono_literals;

windowed_aggregation_spec tumbling_count(duration size, duration grace = 0ms,
                                         emit_mode emit = emit_mode::every_update) {
  windowed_aggregation_spec spec;
  spec.window.kind = window_kind::tumbling;
  spec.window.size = size;
  spec.window.grace = grace;
  spec.emit = emit;
  spec.aggregations = {aggregation_spec{"n", aggregate_function::count, "", ""}};
  return spec;
}

windowed_aggregation_spec session_count(duration gap, duration grace = 0ms,
                                        emit_mode emit = emit_mode::every_update) {
  windowed_aggregation_spec spec = tumbling_count(0ms, grace, emit);
  spec.window.kind = window_kind::session;
  spec.window.gap = gap;
  return spec;
}

// One aggregator over in-memory stores, fed like a task would feed it.
class harness {
 public:
  explicit harness(windowed_aggregation_spec spec, function_registry registry = {})
      : spec_(std::move(spec)), registry_(std::move(registry)) {
    const bool session = spec_.window.kind == window_kind::session;
    plans_ = {store_plan{spec_.store_name(), session ? store_kind::session : store_kind::window, "",
                         store_retention(spec_)},
              store_plan{spec_.meta_store_name(), store_kind::key_value, "", 0ms}};
    open();
  }

  // Outputs of one record; fails the test on a processing error.
  std::vector<record> feed(std::string_view key, std::int64_t timestamp,
                           std::string_view value = "{}") {
    std::vector<record> out;
    auto e =
        aggregator_->process(testing::make_record(key, value, timestamp, offset_++), out, late);
    EXPECT_FALSE(e) << (e ? e->describe() : "");
    return out;
  }

  std::optional<processing_error> feed_error(std::string_view key, std::int64_t timestamp,
                                             std::string_view value) {
    std::vector<record> out;
    auto e =
        aggregator_->process(testing::make_record(key, value, timestamp, offset_++), out, late);
    EXPECT_TRUE(out.empty());
    return e;
  }

  // Commits the stores and builds a new aggregator over them, as after a restart.
  void restart() {
    commit();
    open();
  }

  void commit() {
    aggregator_->before_commit();
    stores.commit_all(state::changelog_offset{++commits_});
  }

  // Drops the uncommitted writes and builds a new aggregator, as after an aborted transaction.
  void abort() {
    stores.abort_all();
    open();
  }

  windowed_aggregator& aggregator() { return *aggregator_; }
  const std::vector<store_plan>& plans() const { return plans_; }

  in_memory_store_provider stores;
  operator_metrics metrics;
  std::vector<record> late;

 private:
  void open() {
    aggregator_ = std::make_unique<windowed_aggregator>(spec_, plans_, stores, registry_, metrics);
  }

  windowed_aggregation_spec spec_;
  function_registry registry_;
  std::vector<store_plan> plans_;
  std::unique_ptr<windowed_aggregator> aggregator_;
  std::int64_t offset_ = 0;
  std::int64_t commits_ = 0;
};

std::string show(const std::vector<record>& records) {
  std::string out;
  for (const auto& r : records) {
    out += boost::json::serialize(r.key) + " " + boost::json::serialize(r.value) + "\n";
  }
  return out;
}

void expect_window(const record& r, std::string_view key, std::string_view value) {
  EXPECT_EQ(r.key, json(key)) << boost::json::serialize(r.key);
  EXPECT_EQ(r.value, json(value)) << boost::json::serialize(r.value);
}

TEST(windowed_aggregator, tumbling_windows_are_half_open_and_every_update_emits_each_change) {
  harness h(tumbling_count(10ms));
  auto first = h.feed("\"a\"", 0);
  ASSERT_EQ(first.size(), 1U);
  expect_window(first[0], "\"a\"", R"({"window_start":0,"window_end":10,"n":1})");
  auto second = h.feed("\"a\"", 9);
  ASSERT_EQ(second.size(), 1U);
  expect_window(second[0], "\"a\"", R"({"window_start":0,"window_end":10,"n":2})");
  EXPECT_EQ(second[0].timestamp, 9);  // the largest event time in the window
  auto next = h.feed("\"a\"", 10);    // the end is exclusive: 10 opens the next window
  ASSERT_EQ(next.size(), 1U);
  expect_window(next[0], "\"a\"", R"({"window_start":10,"window_end":20,"n":1})");
  auto other_key = h.feed("\"b\"", 15);
  ASSERT_EQ(other_key.size(), 1U);
  expect_window(other_key[0], "\"b\"", R"({"window_start":10,"window_end":20,"n":1})");
  EXPECT_EQ(h.metrics.windows_emitted.load(), 4U);
}

TEST(windowed_aggregator, on_close_emits_each_window_once_when_end_plus_grace_is_reached) {
  harness h(tumbling_count(10ms, 5ms, emit_mode::on_close));
  EXPECT_TRUE(h.feed("\"a\"", 1).empty());
  EXPECT_TRUE(h.feed("\"a\"", 3).empty());
  EXPECT_TRUE(h.feed("\"b\"", 14).empty());  // stream time 14 < 10 + 5
  auto closed = h.feed("\"c\"", 15);         // 10 + 5 <= 15: [0, 10) closes
  ASSERT_EQ(closed.size(), 1U) << show(closed);
  expect_window(closed[0], "\"a\"", R"({"window_start":0,"window_end":10,"n":2})");
  EXPECT_EQ(closed[0].timestamp, 3);
  EXPECT_TRUE(h.feed("\"c\"", 16).empty());  // never twice
  auto later = h.feed("\"d\"", 40);          // closes [10, 20) for b and c, in key order
  ASSERT_EQ(later.size(), 2U) << show(later);
  expect_window(later[0], "\"b\"", R"({"window_start":10,"window_end":20,"n":1})");
  expect_window(later[1], "\"c\"", R"({"window_start":10,"window_end":20,"n":2})");
}

TEST(windowed_aggregator, on_close_emits_several_closed_windows_in_start_order) {
  harness h(tumbling_count(10ms, 100ms, emit_mode::on_close));
  EXPECT_TRUE(h.feed("\"z\"", 1).empty());
  EXPECT_TRUE(h.feed("\"a\"", 12).empty());
  EXPECT_TRUE(h.feed("\"z\"", 25).empty());
  auto all = h.feed("\"q\"", 200);
  ASSERT_EQ(all.size(), 3U) << show(all);
  expect_window(all[0], "\"z\"", R"({"window_start":0,"window_end":10,"n":1})");
  expect_window(all[1], "\"a\"", R"({"window_start":10,"window_end":20,"n":1})");
  expect_window(all[2], "\"z\"", R"({"window_start":20,"window_end":30,"n":1})");
}

TEST(windowed_aggregator, records_within_grace_count_and_later_ones_are_dropped_and_counted) {
  harness h(tumbling_count(10ms, 5ms));
  h.feed("\"a\"", 12);
  auto in_grace = h.feed("\"a\"", 4);  // [0, 10) closes at 15; stream time is 12
  ASSERT_EQ(in_grace.size(), 1U);
  expect_window(in_grace[0], "\"a\"", R"({"window_start":0,"window_end":10,"n":1})");
  h.feed("\"a\"", 20);
  EXPECT_TRUE(h.feed("\"a\"", 5).empty());  // 15 <= 20: late
  EXPECT_EQ(h.metrics.late_dropped.load(), 1U);
  EXPECT_TRUE(h.late.empty());
  EXPECT_EQ(h.aggregator().stream_time(), 20);
}

TEST(windowed_aggregator, late_records_go_to_the_side_output_when_configured) {
  auto spec = tumbling_count(10ms);
  spec.late = late_policy::side_topic;
  spec.late_topic = "late";
  harness h(spec);
  h.feed("\"a\"", 30);
  EXPECT_TRUE(h.feed("\"a\"", 3, R"({"v":1})").empty());
  ASSERT_EQ(h.late.size(), 1U);
  EXPECT_EQ(h.late[0].value, json(R"({"v":1})"));
  EXPECT_EQ(h.late[0].timestamp, 3);
  EXPECT_EQ(h.metrics.late_to_side.load(), 1U);
  EXPECT_EQ(h.metrics.late_dropped.load(), 0U);
}

TEST(windowed_aggregator, hopping_windows_overlap) {
  auto spec = tumbling_count(10ms);
  spec.window.kind = window_kind::hopping;
  spec.window.advance = 5ms;
  harness h(spec);
  auto out = h.feed("\"a\"", 7);  // in [0, 10) and [5, 15)
  ASSERT_EQ(out.size(), 2U) << show(out);
  expect_window(out[0], "\"a\"", R"({"window_start":0,"window_end":10,"n":1})");
  expect_window(out[1], "\"a\"", R"({"window_start":5,"window_end":15,"n":1})");
  out = h.feed("\"a\"", 12);  // in [5, 15) and [10, 20)
  ASSERT_EQ(out.size(), 2U) << show(out);
  expect_window(out[0], "\"a\"", R"({"window_start":5,"window_end":15,"n":2})");
  expect_window(out[1], "\"a\"", R"({"window_start":10,"window_end":20,"n":1})");
  out = h.feed("\"a\"", 3);  // [0, 10) is closed at stream time 12; no earlier windows exist
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(h.metrics.late_dropped.load(), 1U);
}

TEST(windowed_aggregator, hopping_record_updates_its_open_windows_and_skips_closed_ones) {
  auto spec = tumbling_count(10ms);
  spec.window.kind = window_kind::hopping;
  spec.window.advance = 5ms;
  harness h(spec);
  h.feed("\"a\"", 12);
  auto out = h.feed("\"a\"", 6);  // [0, 10) closed at 12, [5, 15) open
  ASSERT_EQ(out.size(), 1U) << show(out);
  expect_window(out[0], "\"a\"", R"({"window_start":5,"window_end":15,"n":2})");
  EXPECT_EQ(h.metrics.late_dropped.load(), 0U);
}

TEST(windowed_aggregator, a_record_between_two_sessions_merges_them) {
  harness h(session_count(10ms, 100ms));
  h.feed("\"a\"", 0);
  auto second = h.feed("\"a\"", 20);  // 20 > 0 + 10: a new session
  ASSERT_EQ(second.size(), 1U);
  expect_window(second[0], "\"a\"", R"({"window_start":20,"window_end":20,"n":1})");
  auto merged = h.feed("\"a\"", 10);  // within the gap of both
  ASSERT_EQ(merged.size(), 1U);
  expect_window(merged[0], "\"a\"", R"({"window_start":0,"window_end":20,"n":3})");
  EXPECT_EQ(merged[0].timestamp, 20);

  int sessions = 0;
  h.stores.session_store(h.plans()[0])
      .all([&](state::bytes_view, std::int64_t start, std::int64_t end, state::bytes_view) {
        ++sessions;
        EXPECT_EQ(start, 0);
        EXPECT_EQ(end, 20);
        return true;
      });
  EXPECT_EQ(sessions, 1);  // the two merged sessions were removed
}

TEST(windowed_aggregator, session_extends_within_the_gap_and_keys_are_separate) {
  harness h(session_count(10ms, 100ms));
  h.feed("\"a\"", 0);
  auto b = h.feed("\"b\"", 5);
  expect_window(b[0], "\"b\"", R"({"window_start":5,"window_end":5,"n":1})");
  auto a = h.feed("\"a\"", 10);  // exactly the gap: still the same session
  expect_window(a[0], "\"a\"", R"({"window_start":0,"window_end":10,"n":2})");
}

TEST(windowed_aggregator, session_on_close_emits_when_last_plus_gap_plus_grace_is_reached) {
  harness h(session_count(10ms, 2ms, emit_mode::on_close));
  EXPECT_TRUE(h.feed("\"a\"", 0).empty());
  EXPECT_TRUE(h.feed("\"a\"", 5).empty());
  EXPECT_TRUE(h.feed("\"b\"", 16).empty());  // 5 + 10 + 2 = 17 > 16
  auto closed = h.feed("\"b\"", 17);
  ASSERT_EQ(closed.size(), 1U) << show(closed);
  expect_window(closed[0], "\"a\"", R"({"window_start":0,"window_end":5,"n":2})");
  EXPECT_TRUE(h.feed("\"b\"", 18).empty());
}

TEST(windowed_aggregator, session_on_close_emits_merged_sessions_once_and_cleans_its_index) {
  harness h(session_count(10ms, 20ms, emit_mode::on_close));
  EXPECT_TRUE(h.feed("\"a\"", 0).empty());
  EXPECT_TRUE(h.feed("\"a\"", 20).empty());
  EXPECT_TRUE(h.feed("\"b\"", 21).empty());
  EXPECT_TRUE(h.feed("\"a\"", 10).empty());  // merges [0, 0] and [20, 20]
  auto closed = h.feed("\"c\"", 51);         // a [0, 20] and b [21, 21] close at 50 and 51
  ASSERT_EQ(closed.size(), 2U) << show(closed);
  expect_window(closed[0], "\"a\"", R"({"window_start":0,"window_end":20,"n":3})");
  expect_window(closed[1], "\"b\"", R"({"window_start":21,"window_end":21,"n":1})");

  // Only c's open session is left in the close index (besides the two counters).
  std::size_t index_entries = 0;
  h.stores.kv_store(h.plans()[1]).all([&](state::bytes_view key, state::bytes_view) {
    if (!key.empty() && key[0] == '\x01') ++index_entries;
    return true;
  });
  EXPECT_EQ(index_entries, 1U);
  h.restart();
  auto after_restart = h.feed("\"d\"", 100);
  ASSERT_EQ(after_restart.size(), 1U) << show(after_restart);
  expect_window(after_restart[0], "\"c\"", R"({"window_start":51,"window_end":51,"n":1})");
}

TEST(windowed_aggregator, a_closed_session_is_final_and_late_records_are_counted) {
  harness h(session_count(10ms));
  h.feed("\"a\"", 0);
  h.feed("\"b\"", 10);            // a's [0, 0] closes at 0 + 10 = 10
  auto out = h.feed("\"a\"", 5);  // not late itself (5 + 10 > 10) but cannot join [0, 0]
  ASSERT_EQ(out.size(), 1U);
  expect_window(out[0], "\"a\"", R"({"window_start":5,"window_end":5,"n":1})");
  EXPECT_TRUE(h.feed("\"a\"", 0).empty());  // 0 + 10 <= 10: late
  EXPECT_EQ(h.metrics.late_dropped.load(), 1U);
}

TEST(windowed_aggregator, built_in_aggregations) {
  windowed_aggregation_spec spec = tumbling_count(100ms);
  spec.aggregations = {
      {"n", aggregate_function::count, "", ""},
      {"with_x", aggregate_function::count, "value.x", ""},
      {"sum", aggregate_function::sum, "value.x", ""},
      {"min", aggregate_function::min, "value.x", ""},
      {"max", aggregate_function::max, "value.x", ""},
      {"avg", aggregate_function::avg, "value.x", ""},
      {"first", aggregate_function::first, "value.name", ""},
      {"last", aggregate_function::last, "value.name", ""},
      {"distinct", aggregate_function::count_distinct, "value.name", ""},
  };
  harness h(spec);
  h.feed("\"k\"", 50, R"({"x":4,"name":"b"})");
  h.feed("\"k\"", 10, R"({"x":1.5,"name":"a"})");  // earlier event time: becomes first
  h.feed("\"k\"", 60, R"({"name":"b"})");          // no x: skipped by x aggregations
  auto out = h.feed("\"k\"", 70, R"({"x":-2,"name":"c"})");
  ASSERT_EQ(out.size(), 1U);
  expect_window(out[0], "\"k\"",
                R"({"window_start":0,"window_end":100,"n":4,"with_x":3,"sum":3.5,"min":-2,
                    "max":4,"avg":1.1666666666666667,"first":"a","last":"c","distinct":3})");
}

TEST(windowed_aggregator, sum_of_integers_stays_an_integer) {
  windowed_aggregation_spec spec = tumbling_count(100ms);
  spec.aggregations = {{"sum", aggregate_function::sum, "value", ""}};
  harness h(spec);
  h.feed("1", 1, "40");
  auto out = h.feed("1", 2, "2");
  ASSERT_EQ(out.size(), 1U);
  ASSERT_TRUE(out[0].value.as_object().at("sum").is_int64());
  EXPECT_EQ(out[0].value.as_object().at("sum").as_int64(), 42);
}

// Tumbling 100 ms windows counting records and summing value.x.
windowed_aggregation_spec count_and_sum_of_x() {
  windowed_aggregation_spec spec = tumbling_count(100ms);
  spec.aggregations = {{"n", aggregate_function::count, "", ""},
                       {"sum", aggregate_function::sum, "value.x", ""}};
  return spec;
}

TEST(windowed_aggregator, a_record_that_does_not_fit_changes_nothing) {
  harness h(count_and_sum_of_x());
  h.feed("\"k\"", 1, R"({"x":1})");
  auto e = h.feed_error("\"k\"", 200, R"({"x":"ten"})");
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("aggregation 'sum' (sum): cannot sum a string"), std::string::npos)
      << e->message;
  EXPECT_EQ(h.aggregator().stream_time(), 1);  // stream time did not move either
  auto out = h.feed("\"k\"", 2, R"({"x":2})");
  ASSERT_EQ(out.size(), 1U);
  expect_window(out[0], "\"k\"", R"({"window_start":0,"window_end":100,"n":2,"sum":3})");
}

// The aggregator keeps the states it wrote decoded (aggregate_state_cache.hpp): a record that
// fails after taking its window's state from there must leave that window to the store.
TEST(windowed_aggregator, a_record_that_fails_in_a_window_it_read_before_changes_nothing) {
  harness h(count_and_sum_of_x());
  h.feed("\"k\"", 1, R"({"x":1})");
  h.feed("\"k\"", 2, R"({"x":2})");
  ASSERT_TRUE(h.feed_error("\"k\"", 3, R"({"x":"ten"})"));
  auto out = h.feed("\"k\"", 4, R"({"x":4})");
  ASSERT_EQ(out.size(), 1U);
  expect_window(out[0], "\"k\"", R"({"window_start":0,"window_end":100,"n":3,"sum":7})");
}

// Every update still reaches the store (and so the changelog): a new aggregator over the same
// stores, which starts with nothing decoded, counts on from what the store holds.
TEST(windowed_aggregator, every_update_is_written_to_the_store) {
  harness h(tumbling_count(100ms));
  for (std::int64_t t = 1; t <= 3; ++t) {
    h.feed("\"k\"", t);
    auto stored = h.stores.window_store(h.plans()[0]).fetch("\"k\"", 0);
    ASSERT_TRUE(stored);
    EXPECT_EQ(json(*stored).at("a").at(0), t) << *stored;
  }
  h.restart();
  auto out = h.feed("\"k\"", 4);
  ASSERT_EQ(out.size(), 1U);
  expect_window(out[0], "\"k\"", R"({"window_start":0,"window_end":100,"n":4})");
}

TEST(windowed_aggregator, user_aggregates_fold_and_merge_sessions) {
  function_registry registry;
  registry.add_aggregate(
      "pages", user_aggregate{[] { return boost::json::value(boost::json::array()); },
                              [](boost::json::value state, const boost::json::value& in) {
                                state.as_array().push_back(in);
                                return state;
                              },
                              [](boost::json::value state, const boost::json::value& other) {
                                for (const auto& v : other.as_array())
                                  state.as_array().push_back(v);
                                return state;
                              },
                              [](const boost::json::value& state) { return state; }});
  windowed_aggregation_spec spec = session_count(10ms, 100ms);
  spec.aggregations = {{"pages", aggregate_function::user, "value.page", "pages"}};
  harness h(spec, registry);
  h.feed("\"u\"", 0, R"({"page":"a"})");
  h.feed("\"u\"", 20, R"({"page":"c"})");
  auto out = h.feed("\"u\"", 10, R"({"page":"b"})");
  ASSERT_EQ(out.size(), 1U);
  // merge order: the sessions found (by end), then the new record
  expect_window(out[0], "\"u\"", R"({"window_start":0,"window_end":20,"pages":["a","c","b"]})");
}

TEST(windowed_aggregator, event_time_can_come_from_an_expression) {
  auto spec = tumbling_count(10ms);
  spec.time_expression = "value.at";
  harness h(spec);
  auto out = h.feed("\"a\"", 999, R"({"at":25})");
  ASSERT_EQ(out.size(), 1U);
  expect_window(out[0], "\"a\"", R"({"window_start":20,"window_end":30,"n":1})");
  EXPECT_EQ(out[0].timestamp, 25);
  auto e = h.feed_error("\"a\"", 1, R"({"at":"noon"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, error_kind::invalid_timestamp);
}

TEST(windowed_aggregator, a_record_without_a_timestamp_is_an_error) {
  harness h(tumbling_count(10ms));
  auto e = h.feed_error("\"a\"", -1, "{}");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, error_kind::invalid_timestamp);
}

TEST(windowed_aggregator, a_restart_resumes_stream_time_and_the_emitted_boundary) {
  harness h(tumbling_count(10ms, 0ms, emit_mode::on_close));
  h.feed("\"a\"", 1);
  auto closed = h.feed("\"a\"", 12);
  ASSERT_EQ(closed.size(), 1U);
  h.restart();
  EXPECT_EQ(h.aggregator().stream_time(), 12);
  EXPECT_TRUE(h.feed("\"b\"", 13).empty());  // [0, 10) is not emitted again
  EXPECT_TRUE(h.feed("\"a\"", 5).empty());   // still late after the restart
  EXPECT_EQ(h.metrics.late_dropped.load(), 1U);
  auto next = h.feed("\"a\"", 20);
  ASSERT_EQ(next.size(), 2U) << show(next);
  expect_window(next[0], "\"a\"", R"({"window_start":10,"window_end":20,"n":1})");
  expect_window(next[1], "\"b\"", R"({"window_start":10,"window_end":20,"n":1})");
}

TEST(windowed_aggregator,
     stream_time_is_exact_in_the_meta_store_at_a_commit_and_an_abort_restores_it) {
  harness h(tumbling_count(10ms));
  auto& meta = h.stores.kv_store(h.plans().at(1));
  auto stored_stream_time = [&] {
    const auto stored = meta.get("stream_time");
    return stored ? state::int64_serde::deserialize(*stored) : -1;
  };
  for (std::int64_t t = 1; t <= 500; ++t) h.feed("\"a\"", t);
  EXPECT_EQ(stored_stream_time(), -1);  // kept in memory between commits
  h.commit();
  EXPECT_EQ(stored_stream_time(), 500);
  for (std::int64_t t = 501; t <= 900; ++t) h.feed("\"b\"", t);
  h.abort();
  EXPECT_EQ(h.aggregator().stream_time(), 500);
  EXPECT_EQ(stored_stream_time(), 500);
  // At 500 the window [495, 505) is still open; at 900 the record would have been late.
  auto replayed = h.feed("\"b\"", 501);
  ASSERT_EQ(replayed.size(), 1U);
  expect_window(replayed[0], "\"b\"", R"({"window_start":500,"window_end":510,"n":1})");
  EXPECT_EQ(h.metrics.late_dropped.load(), 0U);
  h.restart();
  EXPECT_EQ(h.aggregator().stream_time(), 501);
}

}  // namespace
}  // namespace sluice::operators
