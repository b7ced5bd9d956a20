// Stream-stream joins against the real broker, under each delivery guarantee: orders left-joined
// with payments within 10 s (grace 1 s). A first process joins some pairs and keeps two orders
// waiting; a second process with an empty state directory joins the group while the first runs
// (a rebalance moves a partition to it) and then takes everything over when the first stops, so
// it must restore both window stores, the pending orders and the stream time from their
// changelogs: a late payment still finds its order, a waiting order is emitted unmatched once
// stream time passes it, an order that got its payment is not. Every result exactly once. The
// same with the join in a branch of the graph (the payments routed to the branch's join node).
#include <set>
#include <tuple>

#include "tests/runtime/app_test_support.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;

constexpr std::int32_t partitions = 2;
constexpr std::int64_t second = 1000;

operators::topology matching(const std::string& app, const std::string& orders,
                             const std::string& payments, const std::string& output,
                             operators::delivery_guarantee delivery, bool in_branch) {
  auto t = json_source_pipeline(app, orders, delivery);
  t.streams.push_back(
      {"payments", payments, operators::data_format::string, operators::data_format::json});
  operators::step join;
  join.kind = operators::step_kind::join;
  join.name = "with-payment";
  join.stream = "payments";
  join.within = std::chrono::seconds(10);
  join.grace = std::chrono::seconds(1);
  join.join = operators::join_kind::left;
  join.into = "payment";
  const operators::sink_spec sink{output, operators::data_format::string,
                                  operators::data_format::json};
  if (!in_branch) {
    t.steps.push_back(join);
    t.sinks = {sink};
    return t;
  }
  operators::branch_spec paid;
  paid.name = "paid";
  paid.from = {"main"};
  paid.steps.push_back(join);
  paid.sinks = {sink};
  t.branches.push_back(paid);
  return t;
}

timed_record order(const char* id, std::int64_t at) {
  return {id, json::serialize(json::object{{"id", id}}), at};
}
timed_record payment(const char* order, const char* id, std::int64_t at) {
  return {order, json::serialize(json::object{{"p", id}}), at};
}

// "order+payment" per result ("order+" for an unmatched order), read_committed, sorted.
std::multiset<std::string> results(const std::string& output) {
  std::multiset<std::string> out;
  read_committed_topic(output, partitions, [&](const kafka::consumer_record& r) {
    const auto value = json::parse(r.value_string()).as_object();
    const auto& paid = value.at("payment");
    out.insert(std::string(value.at("id").as_string()) + "+" +
               (paid.is_null() ? std::string() : std::string(paid.at("p").as_string())));
  });
  return out;
}

// The delivery guarantee, and whether the join sits in a branch.
class stream_join_it
    : public ::testing::TestWithParam<std::tuple<operators::delivery_guarantee, bool>> {};

TEST_P(stream_join_it,
       a_second_process_takes_over_the_waiting_records_and_every_result_is_written_once) {
  const two_process_fixture f("orders", "payments", "order-status", "stream-join-app", partitions);
  const auto& orders = f.left;
  const auto& payments = f.right;
  const auto& output = f.output;
  const auto [delivery, in_branch] = GetParam();
  const auto topology = matching(f.app, orders, payments, output, delivery, in_branch);
  auto wait_for = [&](const running_app& running, std::size_t count) {
    return wait_until(running, [&] { return results(output).size() >= count; });
  };

  // Each partition on its own: partition N of both topics is one task.
  f.produce(orders, 0, {order("o1", 0), order("o2", 5 * second), order("o5", 6 * second)});
  f.produce(payments, 0, {payment("o1", "p1", 2 * second)});
  f.produce(orders, 1, {order("o3", 0)});
  f.produce(payments, 1, {payment("o3", "p3a", 1 * second)});
  running_app a(topology, f.config);
  a.start();
  ASSERT_TRUE(wait_for(a, 2));  // o1+p1, o3+p3a; o2 and o5 wait for a payment
  {
    running_app b(topology, f.config_b);
    b.start();  // a rebalance: one partition moves to b, whose state directory is empty
    f.produce(payments, 1, {payment("o3", "p3b", 3 * second)});
    ASSERT_TRUE(wait_for(b, 3));
    a.stop();  // b takes over the other partition too
    f.produce(payments, 0, {payment("o2", "p2", 8 * second)});  // o2 waited in a's stores
    f.produce(orders, 0, {order("o9", 30 * second)});           // stream time passes o5's window
    f.produce(orders, 1, {order("o4", 40 * second)});
    ASSERT_TRUE(wait_for(b, 5));
    std::this_thread::sleep_for(std::chrono::seconds(1));  // anything doubled would show now
    b.stop();
    EXPECT_GT(b.metrics().restored_records.load(), 0u)
        << "b restored the join's stores from their changelogs";
  }
  EXPECT_EQ(results(output),
            (std::multiset<std::string>{"o1+p1", "o2+p2", "o3+p3a", "o3+p3b", "o5+"}));
}

INSTANTIATE_TEST_SUITE_P(
    delivery, stream_join_it,
    ::testing::Combine(::testing::Values(operators::delivery_guarantee::at_most_once,
                                         operators::delivery_guarantee::at_least_once,
                                         operators::delivery_guarantee::exactly_once),
                       ::testing::Bool()),
    [](const auto& info) {
      return std::string(operators::to_string(std::get<0>(info.param))) +
             (std::get<1>(info.param) ? "_in_a_branch" : "");
    });

}  // namespace
}  // namespace sluice::runtime
