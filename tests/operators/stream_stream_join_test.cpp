// Stream-stream joins in the operators: the planner (the other stream read in the join's
// sub-topology, the join's stores), validation, and the join's results, which follow Kafka
// Streams' KStreamKStreamJoin (3.x+) record by record.
#include <gtest/gtest.h>

#include "operators/sub_topology_processor.hpp"
#include "operators/topology_validation.hpp"
#include "tests/operators/operator_test_support.hpp"
#include "tests/operators/sub_topology_harness.hpp"

namespace sluice::operators {
namespace {

using testing::contains;
using testing::make_step;
using testing::problems;
using namespace std::chrono_literals;

step stream_join_step(join_kind kind, duration within = 10ms, duration grace = 5ms,
                      std::string name = "j") {
  step s;
  s.kind = step_kind::join;
  s.name = std::move(name);
  s.stream = "payments";
  s.into = "paid";
  s.within = within;
  s.grace = grace;
  s.join = kind;
  return s;
}

topology matching(std::vector<step> steps) {
  topology t;
  t.name = "app";
  t.sources = {source_spec{{"orders"}, data_format::string, data_format::json}};
  t.streams = {
      stream_source_spec{"payments", "payment-topic", data_format::string, data_format::json}};
  t.steps = std::move(steps);
  t.sinks = {sink_spec{"out", data_format::string, data_format::json}};
  return t;
}

TEST(stream_stream_join_plan,
     the_join_reads_the_other_stream_and_keeps_both_sides_in_window_stores) {
  auto plan = plan_topology(matching({stream_join_step(join_kind::left)}));
  ASSERT_EQ(plan.sub_topologies.size(), 1U);
  const auto& sub = plan.sub_topologies[0];
  ASSERT_EQ(sub.sources.size(), 2U);
  EXPECT_EQ(sub.sources[1],
            (source_spec{{"payment-topic"}, data_format::string, data_format::json}));
  ASSERT_EQ(sub.streams.size(), 1U);
  EXPECT_EQ(sub.stores, (std::vector<store_plan>{
                            {"j-left", store_kind::window, "app-j-left-changelog", 25ms},
                            {"j-right", store_kind::window, "app-j-right-changelog", 25ms},
                            {"j-pending", store_kind::key_value, "app-j-pending-changelog", 0ms},
                            {"j-time", store_kind::key_value, "app-j-time-changelog", 0ms}}));
  // An inner join never emits unmatched records: no pending store.
  EXPECT_EQ(
      plan_topology(matching({stream_join_step(join_kind::inner)})).sub_topologies[0].stores.size(),
      2U);
}

TEST(stream_stream_join_plan, a_key_change_before_the_join_repartitions_the_main_stream_only) {
  auto plan =
      plan_topology(matching({make_step(step_kind::select_key, "value.customer", "by-customer"),
                              stream_join_step(join_kind::inner)}));
  ASSERT_EQ(plan.sub_topologies.size(), 2U);
  EXPECT_TRUE(plan.sub_topologies[0].streams.empty());
  EXPECT_EQ(plan.sub_topologies[1].sources.size(), 2U);  // the repartition topic and the payments
  EXPECT_EQ(plan.sub_topologies[1].streams.size(), 1U);
}

TEST(stream_stream_join_validation, every_mistake_names_its_field) {
  auto bad = stream_join_step(join_kind::outer, 0ms, -1ms, "a");
  bad.stream = "paymnts";
  auto t = matching({bad});
  t.streams.push_back(
      stream_source_spec{"again", "orders", data_format::string, data_format::json});
  auto table_outer = make_step(step_kind::join, "", "b");
  table_outer.table = "customers";
  table_outer.into = "c";
  table_outer.join = join_kind::outer;
  t.tables = {
      table_source_spec{"customers", "customer-topic", data_format::string, data_format::json}};
  t.steps.push_back(table_outer);
  const auto all = problems(t);
  EXPECT_TRUE(
      contains(all, "steps[0].join.stream: no stream 'paymnts' in streams: (payments, again)"))
      << ::testing::PrintToString(all);
  EXPECT_TRUE(contains(all, "steps[0].join.within: expected how far apart"));
  EXPECT_TRUE(contains(all, "steps[0].join.grace: must not be negative"));
  EXPECT_TRUE(contains(all, "streams[0]: stream 'payments' is not joined by any step"));
  EXPECT_TRUE(contains(all, "streams[1].topic: topic 'orders' is also a stream source"));
  EXPECT_TRUE(contains(all, "steps[1].join.type: a join with a table is inner or left"));
}

TEST(stream_stream_join_validation, a_valid_join_passes) {
  EXPECT_TRUE(problems(matching({stream_join_step(join_kind::outer)})).empty());
}

// The join's sub-topology; order() and payment() return "key value @timestamp" per result.
class join_harness {
 public:
  explicit join_harness(join_kind kind)
      : harness_(plan_topology(matching({stream_join_step(kind)})).sub_topologies.at(0)) {}

  std::vector<std::string> order(std::optional<std::string> key, std::string value,
                                 std::int64_t timestamp) {
    return harness_.feed("orders", std::move(key), std::move(value), timestamp);
  }
  std::vector<std::string> payment(std::optional<std::string> key, std::optional<std::string> value,
                                   std::int64_t timestamp) {
    return harness_.feed("payment-topic", std::move(key), std::move(value), timestamp);
  }
  std::uint64_t dropped() const { return harness_.metrics().join_dropped; }
  void restart() { harness_.restart(); }
  void abort() { harness_.abort(); }

 private:
  testing::sub_topology_harness harness_;
};

using strings = std::vector<std::string>;

TEST(stream_stream_join, an_inner_join_pairs_every_record_within_the_window_in_time_order) {
  join_harness h(join_kind::inner);
  EXPECT_EQ(h.order("k1", R"({"o":"a"})", 100), strings{});
  EXPECT_EQ(h.payment("k1", R"({"p":"b"})", 105),
            (strings{R"(k1 {"o":"a","paid":{"p":"b"}} @105)"}));
  EXPECT_EQ(h.payment("k1", R"({"p":"c"})", 120), strings{});  // 20 ms from the order
  EXPECT_EQ(h.payment("k2", R"({"p":"x"})", 106), strings{});  // another key
  // Both bounds are inclusive; the result's timestamp is the later of the two.
  EXPECT_EQ(h.order("k1", R"({"o":"d"})", 110), (strings{R"(k1 {"o":"d","paid":{"p":"b"}} @110)",
                                                         R"(k1 {"o":"d","paid":{"p":"c"}} @120)"}));
  // A second payment at the same time joins too: both sides keep duplicates, in arrival order.
  EXPECT_EQ(
      h.payment("k1", R"({"p":"e"})", 105),
      (strings{R"(k1 {"o":"a","paid":{"p":"e"}} @105)", R"(k1 {"o":"d","paid":{"p":"e"}} @110)"}));
}

TEST(stream_stream_join, records_older_than_their_stores_retention_are_not_seen) {
  join_harness h(join_kind::inner);
  h.order("k1", R"({"o":"a"})", 100);
  h.order("k2", R"({"o":"z"})", 126);  // the order store now keeps 102..126 (retention 2*10+5)
  EXPECT_EQ(h.payment("k1", R"({"p":"b"})", 105), strings{});
  h.order("k1", R"({"o":"late"})", 103);  // late by stream time, but its store still keeps it
  EXPECT_EQ(h.payment("k1", R"({"p":"c"})", 104),
            (strings{R"(k1 {"o":"late","paid":{"p":"c"}} @104)"}));
}

TEST(stream_stream_join,
     a_left_join_emits_an_unmatched_order_once_its_window_and_grace_have_passed) {
  join_harness h(join_kind::left);
  EXPECT_EQ(h.order("k1", R"({"o":"a"})", 100), strings{});  // waits: a payment may still come
  EXPECT_EQ(h.order("k2", R"({"o":"x"})", 115), strings{});  // 100 + 10 + 5 is not past 115
  EXPECT_EQ(h.order("k3", R"({"o":"y"})", 116), (strings{R"(k1 {"o":"a","paid":null} @100)"}));
  // A payment matches a waiting order: joined, and the order no longer waits.
  EXPECT_EQ(h.payment("k2", R"({"p":"b"})", 112),
            (strings{R"(k2 {"o":"x","paid":{"p":"b"}} @115)"}));
  // Unmatched payments are never emitted by a left join.
  EXPECT_EQ(h.payment("k9", R"({"p":"lost"})", 116), strings{});
  EXPECT_EQ(h.order("k4", R"({"o":"w"})", 200), (strings{R"(k3 {"o":"y","paid":null} @116)"}));
  // An order whose window is already behind stream time goes out at once.
  EXPECT_EQ(h.order("k5", R"({"o":"late"})", 150),
            (strings{R"(k5 {"o":"late","paid":null} @150)"}));
}

TEST(stream_stream_join,
     an_outer_join_emits_unmatched_records_of_both_sides_in_time_then_side_order) {
  join_harness h(join_kind::outer);
  h.order("k2", R"({"o":"a"})", 100);
  h.payment("k1", R"({"p":"b"})", 100);
  h.payment("k3", R"({"p":"c"})", 101);
  // Same timestamp: the payment (right side) before the order, as Kafka Streams orders them.
  EXPECT_EQ(h.order("k4", R"({"o":"d"})", 130),
            (strings{R"(k1 {"paid":{"p":"b"}} @100)", R"(k2 {"o":"a","paid":null} @100)",
                     R"(k3 {"paid":{"p":"c"}} @101)"}));
  EXPECT_EQ(h.payment("k4", R"({"p":"e"})", 125),
            (strings{R"(k4 {"o":"d","paid":{"p":"e"}} @130)"}));
}

TEST(stream_stream_join,
     keyless_and_valueless_records_are_dropped_except_a_keyless_record_of_an_outer_side) {
  join_harness h(join_kind::left);
  EXPECT_EQ(h.order(std::nullopt, R"({"o":"a"})", 100),
            (strings{R"(<null> {"o":"a","paid":null} @100)"}));
  EXPECT_EQ(h.payment(std::nullopt, R"({"p":"b"})", 100), strings{});
  EXPECT_EQ(h.payment("k1", std::nullopt, 100), strings{});
  EXPECT_EQ(h.order("k1", R"({"o":"c"})", 100), strings{});  // waits: the null payment was not kept
  EXPECT_EQ(h.dropped(), 2U);
}

TEST(stream_stream_join, waiting_records_and_stream_time_survive_a_restart) {
  join_harness h(join_kind::left);
  h.order("k1", R"({"o":"a"})", 100);
  h.order("k2", R"({"o":"x"})", 114);
  h.restart();
  // Stream time 114 was kept: an order at 102, whose window ends at 112, goes out at once (after a
  // restart from stream time 102 it would wait), and the waiting order still goes out at 116.
  EXPECT_EQ(h.order("k3", R"({"o":"early"})", 102),
            (strings{R"(k3 {"o":"early","paid":null} @102)"}));
  EXPECT_EQ(h.order("k4", R"({"o":"y"})", 116), (strings{R"(k1 {"o":"a","paid":null} @100)"}));
}

TEST(stream_stream_join, an_abort_goes_back_to_the_committed_stream_time) {
  join_harness h(join_kind::left);
  h.order("k1", R"({"o":"a"})", 100);
  h.restart();
  for (std::int64_t t = 101; t <= 300; ++t) h.payment("other", R"({"p":"z"})", t);
  h.abort();
  // Back at stream time 100: an order at 102 waits for its payment (at 300 it would go out at
  // once), and the waiting order of k1 goes out when stream time passes 115 again.
  EXPECT_EQ(h.order("k3", R"({"o":"early"})", 102), strings{});
  EXPECT_EQ(h.order("k4", R"({"o":"y"})", 116), (strings{R"(k1 {"o":"a","paid":null} @100)"}));
}

}  // namespace
}  // namespace sluice::operators
