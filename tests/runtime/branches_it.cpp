// A pipeline graph against the real broker, under each delivery guarantee: one input feeds three
// branches, a table aggregation per user (in the input's sub-topology), a count of distinct
// amounts per parity after a select_key (its own sub-topology, reading
// <app>-per-parity-repartition), and two filters merged into one sink. A first process runs it, a
// second one with an empty state directory joins in the middle of the input (a rebalance: it
// restores the stores of what it takes over from their changelogs), then the first stops in the
// middle of the input and the second takes everything over.
//
// Each key's amounts are distinct and increasing (user-a's 0, 1, ...; user-b's 100, 101, ...), so
// every update of a count_distinct is its position: what a record processed twice does not
// change. Checked as each mode promises (delivery_checks.hpp):
//   per-user    each user's updates "distinct=k max=m" for k = 1..n (at_most_once: "max=m",
//               since a lost record shifts the later counts);
//   per-parity  "even" and "odd": "distinct=k" for k = 1..(amounts of that parity) (which user's
//               record comes first through the repartition topic is not fixed, so no max);
//   edges       user-a's amounts below 2 and user-b's from 102 on, each once (the merge of two
//               branches: each record reaches it through the one filter it passes).
#include <fmt/format.h>

#include "tests/runtime/app_test_support.hpp"
#include "tests/runtime/delivery_checks.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;
namespace ops = operators;

constexpr std::int32_t partitions = 2;
constexpr int per_round = 5;
constexpr int rounds = 4;
constexpr int user_b_first = 100;

ops::step step_of(ops::step_kind kind, std::string name, std::string expression) {
  ops::step s;
  s.kind = kind;
  s.name = std::move(name);
  s.expression = std::move(expression);
  return s;
}

ops::table_aggregation_spec distinct_amounts(std::string name) {
  ops::table_aggregation_spec table;
  table.name = std::move(name);
  table.aggregations = {{"distinct", ops::aggregate_function::count_distinct, "value.amount", ""},
                        {"max", ops::aggregate_function::max, "value.amount", ""}};
  return table;
}

struct outputs {
  std::string per_user;
  std::string per_parity;
  std::string edges;
};

ops::topology graph(const std::string& app, const std::string& input, const outputs& out,
                    ops::delivery_guarantee delivery) {
  auto t = json_source_pipeline(app, input, delivery, std::chrono::milliseconds(200));
  const ops::sink_spec per_user{out.per_user, ops::data_format::string, ops::data_format::json};
  const ops::sink_spec per_parity{out.per_parity, ops::data_format::string, ops::data_format::json};
  const ops::sink_spec edges{out.edges, ops::data_format::string, ops::data_format::json};
  t.branches = {
      {"per-user", {"main"}, {}, {}, distinct_amounts("per-user"), {}, {per_user}},
      {"per-parity",
       {"main"},
       {step_of(ops::step_kind::select_key, "parity", R"(value.amount % 2 == 0 ? "even" : "odd")")},
       {},
       distinct_amounts("per-parity"),
       {},
       {per_parity}},
      {"low",
       {"main"},
       {step_of(ops::step_kind::filter, "low-f", "value.amount < 2")},
       {},
       {},
       {},
       {}},
      {"high",
       {"main"},
       {step_of(ops::step_kind::filter, "high-f",
                fmt::format("value.amount >= {}", user_b_first + 2))},
       {},
       {},
       {},
       {}},
      {"edges", {"low", "high"}, {}, {}, {}, {}, {edges}},
  };
  return t;
}

// Per output key, `describe` of each record in log order, read_committed.
keyed_results read_all(const std::string& topic,
                       const std::function<std::string(const json::object&)>& describe) {
  keyed_results out;
  read_committed_topic(topic, partitions, [&](const kafka::consumer_record& r) {
    out[std::string(r.key_string())].push_back(describe(json::parse(r.value_string()).as_object()));
  });
  return out;
}

std::string distinct_and_max(const json::object& v) {
  return fmt::format("distinct={} max={}", v.at("distinct").to_number<std::int64_t>(),
                     v.at("max").to_number<std::int64_t>());
}

// Under at_most_once a lost record shifts the distinct count of every later update; the maxima
// are each amount once.
std::string max_only(const json::object& v) {
  return fmt::format("max={}", v.at("max").to_number<std::int64_t>());
}

std::string distinct_only(const json::object& v) {
  return fmt::format("distinct={}", v.at("distinct").to_number<std::int64_t>());
}

std::string amount(const json::object& v) {
  return fmt::format("amount={}", v.at("amount").to_number<std::int64_t>());
}

class runtime_branches : public ::testing::TestWithParam<ops::delivery_guarantee> {};

TEST_P(runtime_branches, three_branches_and_a_merge_survive_a_rebalance_as_the_mode_promises) {
  const auto delivery = GetParam();
  const two_process_fixture f("orders", "per-user", "branches-app", partitions);
  const auto& input = f.input();
  const outputs out{f.output, test::unique_topic("per-parity"), test::unique_topic("edges")};
  const auto topology = graph(f.app, input, out, delivery);
  ASSERT_EQ(ops::plan_topology(topology).sub_topologies.size(), 2U);

  int produced = 0;  // per key
  auto produce_round = [&] {
    run_coroutine([&](asio::any_io_executor executor) {
      return produce_orders(executor, input, 0, "user-a", produced, per_round);
    });
    run_coroutine([&](asio::any_io_executor executor) {
      return produce_orders(executor, input, 1, "user-b", user_b_first + produced, per_round);
    });
    produced += per_round;
  };
  // Every amount produced so far, per user.
  auto amounts = [&] {
    std::map<std::string, std::vector<int>> by_user;
    for (int i = 0; i < produced; ++i) {
      by_user["user-a"].push_back(i);
      by_user["user-b"].push_back(user_b_first + i);
    }
    return by_user;
  };
  // What an uninterrupted run has emitted once the input so far is processed.
  auto expected = [&] {
    std::map<std::string, keyed_results> want;
    std::map<std::string, int> parity_count;
    for (const auto& [user, list] : amounts()) {
      for (std::size_t k = 0; k < list.size(); ++k) {
        want["per-user"][user].push_back(delivery == ops::delivery_guarantee::at_most_once
                                             ? fmt::format("max={}", list[k])
                                             : fmt::format("distinct={} max={}", k + 1, list[k]));
        const auto parity = list[k] % 2 == 0 ? "even" : "odd";
        want["per-parity"][parity].push_back(fmt::format("distinct={}", ++parity_count[parity]));
        if (list[k] < 2 || list[k] >= user_b_first + 2)
          want["edges"][user].push_back(fmt::format("amount={}", list[k]));
      }
    }
    return want;
  };
  auto read = [&] {
    return std::map<std::string, keyed_results>{
        {"per-user",
         read_all(out.per_user,
                  delivery == ops::delivery_guarantee::at_most_once ? max_only : distinct_and_max)},
        {"per-parity", read_all(out.per_parity, distinct_only)},
        {"edges", read_all(out.edges, amount)}};
  };
  auto wait_for_all = [&](const running_app& running) {
    return wait_until(running, [&] {
      const auto got = read();
      for (const auto& [output, want] : expected()) {
        if (distinct_results(got.at(output)) < distinct_results(want)) return false;
      }
      return true;
    });
  };

  produce_round();
  running_app a(topology, f.config);
  a.start();
  ASSERT_TRUE(wait_for_all(a));
  {
    running_app b(topology, f.config_b);
    b.start();        // a rebalance: tasks of both sub-topologies move to b
    produce_round();  // arrives while the group rebalances
    ASSERT_TRUE(wait_for_all(b));
    produce_round();
    a.stop();  // in the middle of the input: b takes over a's tasks too
    produce_round();
    ASSERT_TRUE(wait_for_all(b));
    std::this_thread::sleep_for(std::chrono::seconds(1));  // anything doubled would show now
    b.stop();
    EXPECT_GT(b.metrics().restored_records.load(), 0u)
        << "b restored the branches' stores from their changelogs";
  }
  ASSERT_EQ(produced, per_round * rounds);

  const auto got = read();
  for (const auto& [output, want] : expected()) {
    SCOPED_TRACE(output);
    expect_delivered(delivery, got.at(output), want);
  }
}

INSTANTIATE_TEST_SUITE_P(delivery, runtime_branches, every_delivery(), delivery_name);

}  // namespace
}  // namespace sluice::runtime
