#include "runtime/task_input.hpp"

#include <gtest/gtest.h>

namespace sluice::runtime {
namespace {

using namespace std::chrono_literals;
using tp = kafka::topic_partition;

const tp orders{"orders", 0};
const tp customers{"customers", 0};

kafka::consumer_record record(const tp& from, std::int64_t offset, std::int64_t timestamp) {
  kafka::consumer_record r;
  r.topic = from.topic;  // the test's topic_partition constants outlive the records
  r.partition = from.partition;
  r.offset = offset;
  r.timestamp = timestamp;
  return r;
}

std::string next_of(task_input& input, const std::vector<tp>& lagging = {},
                    task_input::clock::time_point now = task_input::clock::now()) {
  auto r = input.next(lagging, now, 500ms);
  return r ? std::string(r->record.topic) + "@" + std::to_string(r->record.offset) : "none";
}

TEST(task_input, the_smallest_timestamp_goes_first_across_partitions) {
  task_input input({orders, customers});
  input.add(record(orders, 0, 300));
  input.add(record(orders, 1, 400));
  input.add(record(customers, 0, 100));  // fetched after the orders, written before them
  input.add(record(customers, 1, 350));
  EXPECT_EQ(input.buffered(), 4U);
  EXPECT_EQ(next_of(input), "customers@0");
  EXPECT_FALSE(input.emptied_a_partition());
  EXPECT_EQ(next_of(input), "orders@0");
  EXPECT_EQ(next_of(input), "customers@1");
  EXPECT_TRUE(input.emptied_a_partition());
  EXPECT_EQ(next_of(input), "orders@1");
  EXPECT_EQ(next_of(input), "none");
  EXPECT_TRUE(input.empty());
}

TEST(task_input, an_empty_partition_with_records_on_the_broker_holds_the_task_back_up_to_max_idle) {
  task_input input({orders, customers});
  input.add(record(orders, 0, 300));
  EXPECT_EQ(input.empty_partitions(), std::vector<tp>{customers});
  const auto start = task_input::clock::now();
  EXPECT_EQ(next_of(input, {customers}, start), "none");
  EXPECT_EQ(next_of(input, {customers}, start + 499ms), "none");
  EXPECT_EQ(next_of(input, {customers}, start + 500ms), "orders@0");  // waited long enough
}

TEST(task_input, a_caught_up_empty_partition_does_not_hold_anything_back) {
  task_input input({orders, customers});
  input.add(record(orders, 0, 300));
  EXPECT_EQ(next_of(input, {}), "orders@0");
}

TEST(task_input, clear_drops_what_the_rewind_fetches_again_and_other_partitions_are_ignored) {
  task_input input({orders, customers});
  input.add(record(orders, 0, 1));
  input.add(record(tp{"elsewhere", 0}, 0, 1));
  EXPECT_EQ(input.buffered(), 1U);
  input.clear();
  EXPECT_TRUE(input.empty());
  EXPECT_EQ(next_of(input), "none");
}

}  // namespace
}  // namespace sluice::runtime
