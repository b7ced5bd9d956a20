// The idempotent producer's bookkeeping without a broker: sequence numbers per partition (wrap,
// restamp after an epoch bump), the in-flight rules that keep a partition's order, and when an
// epoch bump may start.
#include "kafka/producer/idempotence.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <climits>
#include <limits>

#include "tests/kafka/producer/topic_test_support.hpp"

namespace sluice::kafka {
namespace {

// A partition with `batches` batches queued, each of a few records (a small batch_size fills
// them).
struct fixture {
  boost::asio::io_context context;
  record_accumulator accumulator{context.get_executor(), accumulator_options{200, 100'000}};
  topic_queue& topic = accumulator.update(orders_topic());
  partition_queue& queue = topic.partitions.front();

  explicit fixture(std::size_t batches) {
    const std::string value(40, 'x');
    const auto view = protocol::as_bytes_view(value);
    const auto size = record_accumulator::estimated_size(std::nullopt, view, {});
    while (queue.batches.size() < batches + 1)
      accumulator.append(topic, queue, 1000, std::nullopt, view, {}, size);
  }
  producer_batch& batch(std::size_t index) { return *queue.batches[index]; }
};

TEST(increment_sequence, wraps_to_zero_after_int32_max) {
  EXPECT_EQ(increment_sequence(5, 3), 8);
  EXPECT_EQ(increment_sequence(INT32_MAX - 3, 3), INT32_MAX);
  EXPECT_EQ(increment_sequence(INT32_MAX, 1), 0);
  EXPECT_EQ(increment_sequence(INT32_MAX - 1, 3), 1);
}

TEST(idempotence, stamps_consecutive_sequences_per_partition_once) {
  fixture f(2);
  idempotence ids(true);
  ids.set_producer(7, 3);
  const auto first_count = f.batch(0).builder.record_count();
  ASSERT_GT(first_count, 1);
  EXPECT_TRUE(ids.stamp(f.batch(0)));
  EXPECT_TRUE(ids.stamp(f.batch(1)));
  EXPECT_EQ(f.batch(0).base_sequence, 0);
  EXPECT_EQ(f.batch(1).base_sequence, first_count);
  EXPECT_EQ(f.batch(1).producer_id, 7);
  EXPECT_EQ(f.batch(1).producer_epoch, 3);
  EXPECT_EQ(f.queue.next_sequence, first_count + f.batch(1).builder.record_count());
  // A retry keeps its stamp (and so its encoded bytes).
  EXPECT_FALSE(ids.stamp(f.batch(0)));
  EXPECT_EQ(f.batch(0).base_sequence, 0);
}

TEST(idempotence, restamps_from_sequence_zero_after_an_epoch_bump) {
  fixture f(1);
  idempotence ids(true);
  ids.set_producer(7, 3);
  ids.stamp(f.batch(0));
  ASSERT_GT(f.queue.next_sequence, 0);
  ASSERT_TRUE(ids.bump_epoch_locally());
  idempotence::reset_sequences(f.accumulator);
  EXPECT_EQ(f.queue.next_sequence, 0);
  EXPECT_TRUE(ids.stamp(f.batch(0)));
  EXPECT_EQ(f.batch(0).base_sequence, 0);
  EXPECT_EQ(f.batch(0).producer_epoch, 4);
}

TEST(idempotence, asks_for_a_new_producer_id_when_the_epoch_runs_out) {
  idempotence ids(true);
  const std::int16_t last = std::numeric_limits<std::int16_t>::max();
  ids.set_producer(7, static_cast<std::int16_t>(last - 2));
  EXPECT_TRUE(ids.bump_epoch_locally());
  EXPECT_EQ(ids.producer_epoch(), last - 1);
  EXPECT_FALSE(ids.bump_epoch_locally());
  EXPECT_EQ(ids.producer_epoch(), last - 1);
}

TEST(idempotence, stamps_nothing_when_disabled) {
  fixture f(1);
  idempotence ids(false);
  EXPECT_FALSE(ids.stamp(f.batch(0)));
  EXPECT_FALSE(f.batch(0).stamped);
  EXPECT_EQ(f.queue.next_sequence, 0);
}

TEST(idempotence, keeps_one_batch_in_flight_until_the_epoch_is_acknowledged) {
  fixture f(2);
  idempotence ids(true);
  ids.set_producer(7, 0);
  ids.stamp(f.batch(0));
  EXPECT_TRUE(ids.in_flight_allows(f.queue));
  mark_in_flight(f.batch(0));
  EXPECT_FALSE(ids.in_flight_allows(f.queue));
  ids.acknowledged(f.batch(0));
  EXPECT_TRUE(f.queue.sequence_confirmed);
  EXPECT_TRUE(ids.in_flight_allows(f.queue));
}

TEST(idempotence, an_answer_for_an_older_epoch_confirms_nothing) {
  fixture f(1);
  idempotence ids(true);
  ids.set_producer(7, 0);
  ids.stamp(f.batch(0));
  ASSERT_TRUE(ids.bump_epoch_locally());
  ids.acknowledged(f.batch(0));
  EXPECT_FALSE(f.queue.sequence_confirmed);
}

TEST(idempotence, without_idempotence_several_batches_may_be_in_flight) {
  fixture f(2);
  idempotence ids(false);
  mark_in_flight(f.batch(0));
  EXPECT_TRUE(ids.in_flight_allows(f.queue));
}

TEST(in_flight, a_retried_batch_holds_its_partition_until_what_followed_it_is_back) {
  fixture f(2);
  idempotence ids(false);
  mark_in_flight(f.batch(0));
  mark_in_flight(f.batch(1));
  EXPECT_TRUE(first_unacknowledged(f.batch(0)));
  EXPECT_FALSE(first_unacknowledged(f.batch(1)));
  hold_for_retry(f.batch(0));
  EXPECT_TRUE(f.queue.retrying);
  EXPECT_FALSE(ids.in_flight_allows(f.queue));
  // While the partition retries, a later batch's sequence error is only a consequence.
  EXPECT_FALSE(first_unacknowledged(f.batch(1)));
  remove_in_flight(f.batch(1));
  EXPECT_FALSE(f.queue.retrying);
  EXPECT_TRUE(f.queue.in_flight.empty());
  EXPECT_TRUE(ids.in_flight_allows(f.queue));
}

TEST(in_flight, a_lone_retried_batch_does_not_hold_its_partition) {
  fixture f(1);
  mark_in_flight(f.batch(0));
  hold_for_retry(f.batch(0));
  EXPECT_FALSE(f.queue.retrying);
  EXPECT_TRUE(f.queue.in_flight.empty());
}

TEST(idempotence, bumps_the_epoch_only_once_nothing_is_in_flight) {
  idempotence ids(true);
  EXPECT_FALSE(ids.start_epoch_bump(0));
  ids.request_epoch_bump();
  EXPECT_FALSE(ids.start_epoch_bump(2));
  EXPECT_TRUE(ids.start_epoch_bump(0));
  EXPECT_FALSE(ids.start_epoch_bump(0));  // one bump at a time
  ids.end_epoch_bump(false);
  EXPECT_TRUE(ids.epoch_bump_needed());  // a failed bump is tried again
  EXPECT_TRUE(ids.start_epoch_bump(0));
  ids.end_epoch_bump(true);
  EXPECT_FALSE(ids.epoch_bump_needed());
}

}  // namespace
}  // namespace sluice::kafka
