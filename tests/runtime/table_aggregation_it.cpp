// A table aggregation (group by key, no window) against the real broker, under each delivery
// guarantee: a first process aggregates, a second one with an empty state directory joins the
// group in the middle of the input (a rebalance moves a partition to it, whose store it restores
// from the changelog), then the first stops in the middle of the input and the second takes its
// partition over too, restoring that store as well.
//
// Each key's amounts are distinct and increasing (user-a's 0, 1, ...; user-b's 100, 101, ...),
// and the aggregation emits, with every update, count_distinct and max of them, which a record
// processed twice does not change, next to count and sum, which it does. Checked as each mode
// promises (delivery_checks.hpp):
//   exactly_once   each key's updates are exactly (count = distinct = k, max, sum of the first k)
//                  for k = 1..n;
//   at_least_once  each key's (distinct, max) updates, repeats dropped, are exactly k = 1..n (a
//                  replay of records whose effects were stored repeats the last update), and
//                  count is never below distinct (it may be above: a replay counts again);
//   at_most_once   each key's max values are 0..n-1 (100..) with none twice and some possibly
//                  missing, and its i-th update has count = distinct = i: no record counted
//                  twice, and a record lost is lost from the state and the output together.
#include <fmt/format.h>

#include "tests/runtime/app_test_support.hpp"
#include "tests/runtime/delivery_checks.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;

constexpr std::int32_t partitions = 2;
constexpr int per_round = 5;
constexpr int rounds = 4;

operators::topology per_user(const std::string& app, const std::string& input,
                             const std::string& output, operators::delivery_guarantee delivery) {
  auto t = table_counting_pipeline(app, input, output, delivery);
  t.table->aggregations.push_back(
      {"distinct", operators::aggregate_function::count_distinct, "value.amount", ""});
  t.table->aggregations.push_back({"max", operators::aggregate_function::max, "value.amount", ""});
  return t;
}

struct update {
  std::int64_t count;
  std::int64_t distinct;
  std::int64_t max;
  double total;
};

// Every update per key, in log order, read_committed.
std::map<std::string, std::vector<update>> updates(const std::string& output) {
  std::map<std::string, std::vector<update>> out;
  read_committed_topic(output, partitions, [&](const kafka::consumer_record& r) {
    const auto v = json::parse(r.value_string()).as_object();
    out[std::string(r.key_string())].push_back(
        {v.at("count").to_number<std::int64_t>(), v.at("distinct").to_number<std::int64_t>(),
         v.at("max").to_number<std::int64_t>(), v.at("total").to_number<double>()});
  });
  return out;
}

// Per key, its updates as "distinct=<n> max=<m>": what a record processed twice does not change.
keyed_results distinct_and_max(const std::map<std::string, std::vector<update>>& all) {
  keyed_results out;
  for (const auto& [key, list] : all) {
    for (const auto& u : list)
      out[key].push_back(fmt::format("distinct={} max={}", u.distinct, u.max));
  }
  return out;
}

class runtime_table_aggregation : public ::testing::TestWithParam<operators::delivery_guarantee> {};

TEST_P(runtime_table_aggregation, a_second_process_takes_over_mid_input_as_the_mode_promises) {
  const auto delivery = GetParam();
  const two_process_fixture f("orders", "user-totals", "table-agg-app", partitions);
  const auto& input = f.input();
  const auto& output = f.output;
  const auto topology = per_user(f.app, input, output, delivery);
  int produced = 0;  // per key
  auto produce_round = [&] {
    run_coroutine([&](asio::any_io_executor executor) {
      return produce_orders(executor, input, 0, "user-a", produced, per_round);
    });
    run_coroutine([&](asio::any_io_executor executor) {
      return produce_orders(executor, input, 1, "user-b", 100 + produced, per_round);
    });
    produced += per_round;
  };
  auto wait_for = [&](const running_app& running, std::size_t per_key) {
    return wait_until(running, [&] {
      return distinct_results(distinct_and_max(updates(output))) >= 2 * per_key;
    });
  };

  produce_round();
  running_app a(topology, f.config);
  a.start();
  ASSERT_TRUE(wait_for(a, produced));
  {
    running_app b(topology, f.config_b);
    b.start();        // a rebalance: one partition moves to b, whose state directory is empty
    produce_round();  // arrives while the group rebalances
    ASSERT_TRUE(wait_for(b, produced));
    produce_round();
    a.stop();  // in the middle of the input: b takes over the other partition too
    produce_round();
    ASSERT_TRUE(wait_for(b, produced));
    std::this_thread::sleep_for(std::chrono::seconds(1));  // anything doubled would show now
    b.stop();
    EXPECT_GT(b.metrics().restored_records.load(), 0u)
        << "b restored the aggregation's store from its changelog";
  }
  ASSERT_EQ(produced, per_round * rounds);

  // user-a's amounts are 0..n-1, user-b's 100..100+n-1: update k of a key has k distinct amounts,
  // the largest first + k - 1.
  const std::map<std::string, std::int64_t> first_amount{{"user-a", 0}, {"user-b", 100}};
  const auto read = updates(output);
  keyed_results expected;
  for (const auto& [key, first] : first_amount) {
    for (std::int64_t k = 1; k <= produced; ++k) {
      expected[key].push_back(delivery == operators::delivery_guarantee::at_most_once
                                  ? fmt::format("max={}", first + k - 1)
                                  : fmt::format("distinct={} max={}", k, first + k - 1));
    }
  }
  if (delivery == operators::delivery_guarantee::at_most_once) {
    keyed_results maxima;
    for (const auto& [key, list] : read) {
      for (std::size_t i = 0; i < list.size(); ++i) {
        maxima[key].push_back(fmt::format("max={}", list[i].max));
        const auto position = static_cast<std::int64_t>(i + 1);
        EXPECT_EQ(list[i].distinct, position) << key << ": update " << position;
        EXPECT_EQ(list[i].count, position) << key << ": update " << position;
      }
    }
    expect_delivered(delivery, maxima, expected);
    return;
  }
  expect_delivered(delivery, distinct_and_max(read), expected);
  for (const auto& [key, list] : read) {
    const std::int64_t first = first_amount.at(key);
    for (const auto& u : list) {
      if (delivery == operators::delivery_guarantee::at_least_once) {
        EXPECT_GE(u.count, u.distinct) << key << ": a record left out of the count";
        continue;
      }
      // exactly_once: the first `count` amounts, each once.
      EXPECT_EQ(u.count, u.distinct) << key << ": a record counted twice";
      EXPECT_EQ(u.total, static_cast<double>(u.count * (2 * first + u.count - 1)) / 2) << key;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(delivery, runtime_table_aggregation, every_delivery(), delivery_name);

}  // namespace
}  // namespace sluice::runtime
