// batch_builder (aiokafka's BatchBuilder): takes records up to batch_size, refuses the one that
// would pass it without taking it, always takes a first record, and reports each record's index,
// timestamp and size; the accumulator queues a built batch closed (ready without linger).
#include "kafka/producer/batch_builder.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <string>

#include "kafka/producer/record_accumulator.hpp"
#include "kafka/records/record_batch_decoder.hpp"

namespace sluice::kafka {
namespace {

TEST(batch_builder, takes_records_until_the_next_would_pass_batch_size) {
  batch_builder batch({}, 1000);
  EXPECT_TRUE(batch.empty());
  const std::string value(100, 'v');
  const auto view = protocol::as_bytes_view(value);
  int taken = 0;
  std::size_t sizes = 0;
  for (;;) {
    const auto before = batch.size();
    auto added = batch.append(std::nullopt, view, timestamp_ms{1'700'000'000'000 + taken});
    if (!added) {
      EXPECT_EQ(batch.size(), before) << "a refused record must not change the batch";
      EXPECT_GT(before + record_accumulator::estimated_size(std::nullopt, view, {}), 1000u);
      break;
    }
    EXPECT_EQ(added->index, taken);
    EXPECT_EQ(added->timestamp, 1'700'000'000'000 + taken);
    EXPECT_EQ(added->size, record_accumulator::estimated_size(std::nullopt, view, {}));
    sizes += added->size;
    ++taken;
  }
  EXPECT_GE(taken, 5);
  EXPECT_LE(batch.size(), 1000u);
  EXPECT_EQ(batch.record_count(), taken);
  EXPECT_FALSE(batch.empty());
  // Refused again and again: the batch stays as it was.
  EXPECT_FALSE(batch.append(std::nullopt, view));
  EXPECT_EQ(batch.record_count(), taken);
  EXPECT_GE(sizes, batch.size() - records::batch_layout::header_size);
}

TEST(batch_builder, always_takes_the_first_record) {
  batch_builder batch({}, 100);
  const std::string big(500, 'x');
  auto added =
      batch.append(protocol::as_bytes_view(std::string_view("k")), protocol::as_bytes_view(big));
  ASSERT_TRUE(added);
  EXPECT_EQ(added->index, 0);
  EXPECT_GT(added->timestamp, 1'700'000'000'000);  // defaults to now
  EXPECT_GT(batch.size(), 500u);
  EXPECT_FALSE(batch.append(std::nullopt, protocol::as_bytes_view(std::string_view("y"))));
}

TEST(batch_builder, queued_batch_is_closed_and_ready_without_linger) {
  boost::asio::io_context context;
  record_accumulator accumulator(context.get_executor(), accumulator_options{1000, 100'000});
  topic_info info;
  info.name = "orders";
  info.partitions.push_back({});
  info.partitions.back().partition = 0;
  info.partitions.back().leader = 1;
  auto& topic = accumulator.update(info);
  auto& queue = topic.partitions[0];

  records::record_batch_builder built;
  built.append(1'700'000'000'000, std::nullopt, protocol::as_bytes_view(std::string_view("a")));
  built.append(1'700'000'000'001, std::nullopt, protocol::as_bytes_view(std::string_view("b")));
  auto handle = accumulator.append_batch(topic, queue, std::move(built),
                                         {1'700'000'000'000, 1'700'000'000'001}, 80);
  EXPECT_FALSE(handle.done());
  EXPECT_EQ(accumulator.buffer_used(), 80u);
  EXPECT_EQ(accumulator.open_batches(), 1u);
  EXPECT_TRUE(accumulator.full(queue)) << "a caller's batch goes out without lingering";

  // A record sent after it opens a new batch rather than joining the caller's.
  const auto view = protocol::as_bytes_view(std::string_view("c"));
  auto result = accumulator.append(topic, queue, 1'700'000'000'002, std::nullopt, view, {},
                                   record_accumulator::estimated_size(std::nullopt, view, {}));
  EXPECT_TRUE(result.new_batch);
  ASSERT_EQ(queue.batches.size(), 2u);
  EXPECT_EQ(queue.batches.front()->builder.record_count(), 2);

  auto bytes = queue.batches.front()->builder.build();
  records::record_batch_decoder decoder{protocol::bytes_view(bytes)};
  ASSERT_NE(decoder.next(), nullptr);
  std::vector<std::string> values;
  for (const auto& record : decoder.records())
    values.emplace_back(protocol::as_string_view(*record.value));
  EXPECT_EQ(values, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace sluice::kafka
