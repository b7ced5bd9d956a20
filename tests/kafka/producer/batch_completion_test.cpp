// What becomes of a batch that came back, without a broker: the broker's answer completes it,
// sends it again (first in its queue), or fails it, with the consequences for idempotence
// (epoch bumps, KIP-360) and for the open transaction (abortable, or fenced and fatal); batches
// past delivery_timeout expire. The sender that drains the batches is tested against the broker
// (producer_it, idempotence_it, transactions_it).
#include "kafka/producer/batch_completion.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <string>

#include "tests/kafka/producer/topic_test_support.hpp"

namespace sluice::kafka {
namespace {

using clock = producer_clock;
using answer = protocol::produce_response::partition_produce_response;

producer_config transactional_config() {
  producer_config config;
  config.transactional_id = "orders-app";
  return config;
}

answer answer_with(error_code code, std::int64_t base_offset = -1) {
  answer result;
  result.error_code = static_cast<std::int16_t>(code);
  result.base_offset = base_offset;
  return result;
}

// The error code a failed delivery throws, or none.
error_code failure_of(const delivery& handle) {
  try {
    handle.result();
  } catch (const kafka_error& e) {
    return e.kafka_code();
  }
  return error_code::none;
}

struct fixture {
  boost::asio::io_context context;
  producer_core core;
  batch_completion outcomes{core};
  topic_queue& topic;
  partition_queue& queue;

  explicit fixture(producer_config config = {})
      : core(context.get_executor(), std::move(config)),
        topic(core.accumulator.update(orders_topic())),
        queue(topic.partitions.front()) {
    core.ids.set_producer(7, 0);
    core.state = producer_core::phase::running;
  }

  // Queues one record in a batch of its own (send_batch's way: closed, so the next one opens a
  // new batch) and returns its delivery.
  delivery queue_batch() {
    records::record_batch_builder_options options;
    options.transactional = core.txn.enabled();
    records::record_batch_builder builder(options);
    const std::string value = "v";
    builder.append(1000, std::nullopt, protocol::as_bytes_view(value), {});
    return core.accumulator.append_batch(topic, queue, std::move(builder), {1000}, 100);
  }
  // The sender's part: the front batch stamped and in a request.
  std::unique_ptr<producer_batch> take() {
    auto batch = std::move(queue.batches.front());
    queue.batches.pop_front();
    core.ids.stamp(*batch);
    mark_in_flight(*batch);
    ++batch->attempts;
    return batch;
  }
};

TEST(batch_completion, an_answer_completes_the_batch_with_its_offset) {
  fixture f;
  auto handle = f.queue_batch();
  f.outcomes.answered(f.take(), answer_with(error_code::none, 42), 1, clock::now());
  ASSERT_TRUE(handle.done());
  EXPECT_EQ(handle.result().offset, 42);
  EXPECT_TRUE(f.queue.in_flight.empty());
  EXPECT_TRUE(f.queue.sequence_confirmed);
  EXPECT_EQ(f.core.accumulator.buffer_used(), 0u);
  EXPECT_EQ(f.core.accumulator.open_batches(), 0u);
}

TEST(batch_completion, a_retriable_error_sends_the_batch_again_first_in_its_queue) {
  fixture f;
  auto first = f.queue_batch();
  f.queue_batch();
  auto batch = f.take();
  auto* taken = batch.get();
  const auto now = clock::now();
  f.outcomes.answered(std::move(batch), answer_with(error_code::not_leader_or_follower), 1, now);
  EXPECT_FALSE(first.done());
  ASSERT_EQ(f.queue.batches.size(), 2u);
  EXPECT_EQ(f.queue.batches.front().get(), taken);
  EXPECT_GT(taken->retry_after, now);
  EXPECT_NE(taken->last_error.find("NOT_LEADER_OR_FOLLOWER"), std::string::npos);
  EXPECT_TRUE(f.core.metadata_needed);
  EXPECT_EQ(f.core.statistics.retried_batches, 1u);
}

TEST(batch_completion, a_duplicate_completes_without_offsets) {
  fixture f;
  auto handle = f.queue_batch();
  f.outcomes.answered(f.take(), answer_with(error_code::duplicate_sequence_number), 1,
                      clock::now());
  ASSERT_TRUE(handle.done());
  EXPECT_EQ(handle.result().offset, -1);
}

TEST(batch_completion, a_lost_sequence_on_the_first_batch_bumps_the_epoch_and_resends) {
  fixture f;
  auto handle = f.queue_batch();
  f.outcomes.answered(f.take(), answer_with(error_code::out_of_order_sequence_number), 1,
                      clock::now());
  EXPECT_TRUE(f.core.ids.epoch_bump_needed());
  EXPECT_FALSE(handle.done());
  EXPECT_EQ(f.queue.batches.size(), 1u);
}

TEST(batch_completion, a_sequence_error_behind_another_batch_is_only_retried) {
  fixture f;
  f.queue_batch();
  auto second = f.queue_batch();
  auto first_batch = f.take();
  f.outcomes.answered(f.take(), answer_with(error_code::out_of_order_sequence_number), 1,
                      clock::now());
  EXPECT_FALSE(f.core.ids.epoch_bump_needed());
  EXPECT_FALSE(second.done());
  EXPECT_TRUE(f.queue.retrying);  // the first batch is still out
  EXPECT_EQ(f.queue.batches.size(), 1u);
}

TEST(batch_completion, retries_run_out_and_the_batch_fails_with_the_last_error) {
  producer_config config;
  config.retries = 0;
  config.enable_idempotence = false;
  fixture f(config);
  auto handle = f.queue_batch();
  f.outcomes.answered(f.take(), answer_with(error_code::not_leader_or_follower), 1, clock::now());
  ASSERT_TRUE(handle.done());
  EXPECT_EQ(failure_of(handle), error_code::request_timed_out);
  try {
    handle.result();
  } catch (const kafka_error& e) {
    EXPECT_NE(std::string(e.what()).find("NOT_LEADER_OR_FOLLOWER"), std::string::npos);
  }
  EXPECT_EQ(f.core.statistics.failed_batches, 1u);
  EXPECT_FALSE(f.core.ids.epoch_bump_needed());  // nothing was stamped
}

TEST(batch_completion, a_stamped_batch_failed_for_good_needs_an_epoch_bump) {
  fixture f;
  auto handle = f.queue_batch();
  f.outcomes.answered(f.take(), answer_with(error_code::message_too_large), 1, clock::now());
  EXPECT_EQ(failure_of(handle), error_code::message_too_large);
  EXPECT_TRUE(f.core.ids.epoch_bump_needed());
}

TEST(batch_completion, a_failed_batch_makes_the_transaction_abortable_and_the_abort_bump) {
  fixture f(transactional_config());
  f.core.txn.begin();
  auto handle = f.queue_batch();
  f.outcomes.answered(f.take(), answer_with(error_code::out_of_order_sequence_number), 1,
                      clock::now());
  EXPECT_EQ(failure_of(handle), error_code::out_of_order_sequence_number);
  EXPECT_EQ(f.core.txn.phase(), transaction_phase::abortable_error);
  EXPECT_TRUE(f.core.txn.sequence_gap());
  EXPECT_FALSE(f.core.ids.epoch_bump_needed());  // a transactional producer bumps on abort
  EXPECT_EQ(f.core.fatal, nullptr);
}

TEST(batch_completion, a_fenced_transactional_producer_fails_fatally) {
  fixture f(transactional_config());
  f.core.txn.begin();
  auto handle = f.queue_batch();
  f.outcomes.answered(f.take(), answer_with(error_code::producer_fenced), 1, clock::now());
  EXPECT_EQ(failure_of(handle), error_code::producer_fenced);
  EXPECT_NE(f.core.fatal, nullptr);
}

TEST(batch_completion, during_an_abort_or_after_stop_nothing_is_sent_again) {
  fixture aborting(transactional_config());
  aborting.core.txn.begin();
  aborting.core.txn.start_abort();
  auto aborted = aborting.queue_batch();
  aborting.outcomes.answered(aborting.take(), answer_with(error_code::not_leader_or_follower), 1,
                             clock::now());
  EXPECT_EQ(failure_of(aborted), error_code::transaction_abortable);

  fixture stopped;
  auto late = stopped.queue_batch();
  stopped.core.state = producer_core::phase::closed;
  stopped.outcomes.answered(stopped.take(), answer_with(error_code::not_leader_or_follower), 1,
                            clock::now());
  EXPECT_EQ(failure_of(late), error_code::request_timed_out);
}

TEST(batch_completion, batches_expire_at_the_delivery_timeout) {
  fixture f;
  auto handle = f.queue_batch();
  const auto due = f.queue.batches.front()->created + f.core.config.delivery_timeout;
  auto next = clock::time_point::max();
  f.outcomes.expire(due - std::chrono::milliseconds(1), next);
  EXPECT_FALSE(handle.done());
  EXPECT_EQ(next, due);
  f.outcomes.expire(due, next);
  EXPECT_EQ(failure_of(handle), error_code::request_timed_out);
  EXPECT_TRUE(f.queue.batches.empty());
}

}  // namespace
}  // namespace sluice::kafka
