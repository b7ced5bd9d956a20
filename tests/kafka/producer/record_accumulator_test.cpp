// The accumulator: records fill a partition's batch up to batch.size, then a new batch opens;
// buffer memory is counted per record and given back per batch; retried batches go back to the
// front in their original order; what it builds decodes to the records appended.
#include "kafka/producer/record_accumulator.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "kafka/records/record_batch_decoder.hpp"
#include "tests/kafka/producer/topic_test_support.hpp"

namespace sluice::kafka {
namespace {

struct fixture {
  boost::asio::io_context context;
  record_accumulator accumulator{context.get_executor(), accumulator_options{1000, 4000}};

  record_accumulator::append_result add(topic_queue& topic, int partition,
                                        const std::string& value) {
    const auto view = protocol::as_bytes_view(value);
    const auto size = record_accumulator::estimated_size(std::nullopt, view, {});
    return accumulator.append(topic, topic.partitions[static_cast<std::size_t>(partition)], 1000,
                              std::nullopt, view, {}, size);
  }
};

TEST(record_accumulator, fills_a_batch_up_to_batch_size_then_opens_another) {
  fixture f;
  auto& topic = f.accumulator.update(orders_topic(2));
  ASSERT_EQ(topic.partitions.size(), 2u);
  const std::string value(100, 'x');
  auto first = f.add(topic, 0, value);
  EXPECT_TRUE(first.new_batch);
  EXPECT_FALSE(first.batch_full);
  int appended = 1;
  while (topic.partitions[0].batches.size() == 1) {
    auto result = f.add(topic, 0, value);
    ++appended;
    if (topic.partitions[0].batches.size() == 2) {
      EXPECT_TRUE(result.new_batch);
      EXPECT_TRUE(result.batch_full);
    }
    ASSERT_LT(appended, 20);
  }
  const auto& full = *topic.partitions[0].batches.front();
  EXPECT_LE(full.builder.estimated_size(), 1000u);
  EXPECT_GT(full.builder.record_count(), 5);
  EXPECT_TRUE(f.accumulator.full(topic.partitions[0]));
  EXPECT_FALSE(f.accumulator.full(topic.partitions[1]));
  EXPECT_EQ(f.accumulator.open_batches(), 2u);
}

TEST(record_accumulator, counts_buffer_memory_per_record_and_releases_per_batch) {
  fixture f;
  auto& topic = f.accumulator.update(orders_topic(1));
  const std::string value(100, 'x');
  const auto size =
      record_accumulator::estimated_size(std::nullopt, protocol::as_bytes_view(value), {});
  f.add(topic, 0, value);
  f.add(topic, 0, value);
  EXPECT_EQ(f.accumulator.buffer_used(), 2 * size);
  EXPECT_TRUE(f.accumulator.has_room(4000 - 2 * size));
  EXPECT_FALSE(f.accumulator.has_room(4000 - 2 * size + 1));
  auto& batch = *topic.partitions[0].batches.front();
  f.accumulator.release(batch);
  EXPECT_EQ(f.accumulator.buffer_used(), 0u);
}

TEST(record_accumulator, deliveries_point_at_their_record_in_the_batch) {
  fixture f;
  auto& topic = f.accumulator.update(orders_topic(1));
  auto a = f.add(topic, 0, "a");
  auto b = f.add(topic, 0, "b");
  auto& batch = *topic.partitions[0].batches.front();
  EXPECT_FALSE(a.handle.done());
  batch.state->complete(40, -1);
  EXPECT_TRUE(b.handle.done());
  EXPECT_EQ(a.handle.result().offset, 40);
  EXPECT_EQ(b.handle.result().offset, 41);
  EXPECT_EQ(b.handle.result().topic, "orders");
  EXPECT_EQ(b.handle.result().timestamp, 1000);
}

TEST(record_accumulator, requeue_restores_the_original_order) {
  fixture f;
  auto& topic = f.accumulator.update(orders_topic(1));
  auto& queue = topic.partitions[0];
  const std::string value(400, 'x');
  for (int i = 0; i < 6; ++i) f.add(topic, 0, value);
  ASSERT_GE(queue.batches.size(), 3u);
  // Take the first two as if sent, then retry them in reverse.
  auto first = std::move(queue.batches.front());
  queue.batches.pop_front();
  auto second = std::move(queue.batches.front());
  queue.batches.pop_front();
  first->attempts = second->attempts = 1;
  record_accumulator::requeue(std::move(second));
  record_accumulator::requeue(std::move(first));
  for (std::size_t i = 0; i + 1 < queue.batches.size(); ++i) {
    EXPECT_LT(queue.batches[i]->order, queue.batches[i + 1]->order);
  }
}

TEST(record_accumulator, a_batch_that_was_sent_takes_no_more_records) {
  fixture f;
  auto& topic = f.accumulator.update(orders_topic(1));
  auto& queue = topic.partitions[0];
  f.add(topic, 0, "first");
  auto sent = std::move(queue.batches.front());
  queue.batches.pop_front();
  sent->attempts = 1;
  record_accumulator::requeue(std::move(sent));
  // A retry must send the same records again, so the next record opens a new batch.
  auto result = f.add(topic, 0, "late");
  EXPECT_TRUE(result.new_batch);
  ASSERT_EQ(queue.batches.size(), 2u);
  EXPECT_EQ(queue.batches.front()->builder.record_count(), 1);
  EXPECT_EQ(queue.batches.back()->builder.record_count(), 1);
}

TEST(record_accumulator, builds_batches_that_decode_to_the_records) {
  fixture f;
  auto& topic = f.accumulator.update(orders_topic(1));
  f.add(topic, 0, "one");
  f.add(topic, 0, "two");
  auto& batch = *topic.partitions[0].batches.front();
  batch.builder.set_producer_state(77, 3, 10);
  auto bytes = batch.builder.build();
  records::record_batch_decoder decoder(bytes);
  const auto* header = decoder.next();
  ASSERT_NE(header, nullptr);
  EXPECT_EQ(header->producer_id, 77);
  EXPECT_EQ(header->producer_epoch, 3);
  EXPECT_EQ(header->base_sequence, 10);
  auto records = decoder.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(protocol::as_string_view(*records[1].value), "two");
}

TEST(record_accumulator, topic_updates_grow_partitions_and_keep_queues) {
  fixture f;
  auto& topic = f.accumulator.update(orders_topic(2));
  f.add(topic, 1, "x");
  auto* queue = &topic.partitions[1];
  auto& again = f.accumulator.update(orders_topic(5));
  EXPECT_EQ(&again, &topic);
  EXPECT_EQ(again.partitions.size(), 5u);
  EXPECT_EQ(&again.partitions[1], queue);
  EXPECT_EQ(queue->batches.size(), 1u);
  EXPECT_EQ(f.accumulator.find("orders"), &topic);
  EXPECT_EQ(f.accumulator.find("other"), nullptr);
}

}  // namespace
}  // namespace sluice::kafka

namespace sluice::kafka {
namespace {

// Compressed batches count their estimated compressed size against batch.size (Java's
// CompressionRatioEstimator): the first observation is taken as it is, then a better ratio is
// approached in steps of 0.005 per batch, a worse one taken at once; once the ratio is learned a
// batch holds about batch.size / ratio bytes of records, never more than max_uncompressed_batch.
TEST(record_accumulator, compressed_batches_count_the_estimated_compressed_size) {
  boost::asio::io_context context;
  accumulator_options options;
  options.batch_size = 1000;
  options.buffer_memory = 1'000'000;
  options.codec = records::compression::lz4;
  options.max_uncompressed_batch = 3000;
  record_accumulator accumulator(context.get_executor(), options);
  auto& topic = accumulator.update(orders_topic(1));
  EXPECT_FLOAT_EQ(topic.compression_ratio, 1.0F);

  constexpr auto header = records::batch_layout::header_size;
  const auto compressed_to = [&](std::size_t uncompressed, float ratio) {
    return header + static_cast<std::size_t>(static_cast<float>(uncompressed - header) * ratio);
  };
  // The first observation is taken as it is; better ratios after it in steps of 0.005.
  accumulator.observe_compression(topic, 1000, compressed_to(1000, 0.3F));
  EXPECT_NEAR(topic.compression_ratio, 0.3F, 1e-3);
  accumulator.observe_compression(topic, 1000, compressed_to(1000, 0.25F));
  EXPECT_NEAR(topic.compression_ratio, 0.295F, 1e-3);
  for (int i = 0; i < 20; ++i)
    accumulator.observe_compression(topic, 1000, compressed_to(1000, 0.25F));
  EXPECT_NEAR(topic.compression_ratio, 0.25F, 1e-3);

  // 100 B values: about 130 B per record uncompressed; at a ratio of 0.25 (and 5% slack) a
  // 1000 B batch holds ~3.5 KB of records, capped at 3000 B uncompressed.
  const std::string value(100, 'v');
  const auto view = protocol::as_bytes_view(value);
  const auto size = record_accumulator::estimated_size(std::nullopt, view, {});
  auto& queue = topic.partitions[0];
  while (queue.batches.size() < 2)
    accumulator.append(topic, queue, 1000, std::nullopt, view, {}, size);
  const auto& first = *queue.batches.front();
  EXPECT_GT(first.builder.estimated_size(), 2000u) << "the ratio did not widen the batch";
  EXPECT_LE(first.builder.estimated_size(), 3000u) << "max_uncompressed_batch was passed";
  EXPECT_TRUE(accumulator.full(queue));
  EXPECT_LT(accumulator.estimated_record_bytes(topic, size), size);

  // A batch that compressed badly: the estimate jumps at once.
  accumulator.observe_compression(topic, 1000, compressed_to(1000, 0.9F));
  EXPECT_NEAR(topic.compression_ratio, 0.9F, 1e-3);
  accumulator.observe_compression(topic, 1000, compressed_to(1000, 0.92F));
  EXPECT_NEAR(topic.compression_ratio, 0.95F, 1e-3) << "a worse ratio moves up by at least 0.05";
}

TEST(record_accumulator, the_first_full_compressed_batch_teaches_the_ratio) {
  boost::asio::io_context context;
  accumulator_options options;
  options.batch_size = 2000;
  options.buffer_memory = 1'000'000;
  options.codec = records::compression::lz4;
  record_accumulator accumulator(context.get_executor(), options);
  auto& topic = accumulator.update(orders_topic(1));
  auto& queue = topic.partitions[0];
  // Very compressible records: the first batch closes at about batch.size uncompressed, and is
  // sampled; the second takes many more records.
  const std::string value(200, 'a');
  const auto view = protocol::as_bytes_view(value);
  const auto size = record_accumulator::estimated_size(std::nullopt, view, {});
  while (queue.batches.size() < 3)
    accumulator.append(topic, queue, 1000, std::nullopt, view, {}, size);
  EXPECT_TRUE(topic.compression_observed);
  EXPECT_LT(topic.compression_ratio, 0.2F);
  EXPECT_GT(queue.batches[1]->builder.record_count(), 3 * queue.batches[0]->builder.record_count());
}

TEST(record_accumulator, uncompressed_batches_ignore_the_ratio) {
  boost::asio::io_context context;
  record_accumulator accumulator(context.get_executor(), accumulator_options{1000, 100'000});
  auto& topic = accumulator.update(orders_topic(1));
  accumulator.observe_compression(topic, 1000, 300);
  EXPECT_FLOAT_EQ(topic.compression_ratio, 1.0F);
  EXPECT_EQ(accumulator.estimated_record_bytes(topic, 130), 130u);
}

}  // namespace
}  // namespace sluice::kafka
