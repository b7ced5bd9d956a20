// Records deleted under a consumer (DeleteRecords moves the log start offset, as retention does):
// beginning_offsets follows, a position before the new start is out of range and resets by the
// consumer's policy, and no deleted record is handed out.
#include <gtest/gtest.h>

#include "kafka/consumer/consumer.hpp"
#include "kafka/protocol/messages/delete_records.hpp"
#include "tests/kafka/consumer/consumer_it_support.hpp"

namespace sluice::kafka {
namespace {

using namespace test_support;
using sluice::test::run_coroutine;
using std::chrono::milliseconds;

// DeleteRecords at the partition's leader: everything before `before` goes.
asio::awaitable<void> delete_before(cluster& admin, std::string topic, std::int32_t partition,
                                    std::int64_t before) {
  std::vector<std::string> wanted(1, topic);
  const auto* metadata = co_await admin.refresh_metadata(std::move(wanted));
  const auto leader =
      metadata->topic(topic)->partitions.at(static_cast<std::size_t>(partition)).leader;
  protocol::delete_records_request request;
  request.timeout_ms = 30'000;
  auto& entry = request.topics.emplace_back();
  entry.name = topic;
  entry.partitions.push_back({.partition_index = partition, .offset = before});
  auto response = co_await admin.send_to(node_id{leader}, std::move(request));
  const bool one_answer = response.topics.size() == 1 && response.topics[0].partitions.size() == 1;
  EXPECT_TRUE(one_answer) << "DeleteRecords did not answer for exactly one partition";
  if (!one_answer) co_return;
  EXPECT_EQ(response.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(response.topics[0].partitions[0].low_watermark, before);
}

asio::awaitable<void> deleted_records_move_the_beginning(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("deleted");
  co_await create_topic(admin, topic, 1);
  // Two batches, so that the deletion point falls inside the second one: the broker then serves
  // that whole batch and the consumer must drop the records before the log start itself.
  co_await produce(admin, topic, 0, numbered(0, 4));
  co_await produce(admin, topic, 0, numbered(4, 6));
  const topic_partition tp{topic, 0};
  co_await delete_before(admin, topic, 0, 6);

  consumer reader(ex, consumer_settings());
  co_await reader.start();
  reader.assign({tp});
  std::vector<topic_partition> partitions(1, tp);
  auto beginning = co_await reader.beginning_offsets(partitions);
  EXPECT_EQ(beginning[tp], log_offset{6});
  auto end = co_await reader.end_offsets(partitions);
  EXPECT_EQ(end[tp], log_offset{10});
  // From the beginning: offset 6. The broker serves the whole batch that holds it (offsets 4-9);
  // the consumer drops the two deleted records before its position.
  auto rest = co_await read_records(reader, 4);
  EXPECT_EQ(rest.size(), 4u);
  for (std::size_t i = 0; i < rest.size(); ++i) {
    EXPECT_EQ(rest[i].offset, static_cast<std::int64_t>(6 + i));
    EXPECT_EQ(rest[i].value_string(), "v" + std::to_string(6 + i));
  }
  co_await reader.stop();

  // A fresh consumer seeking into the deleted range: reset none says which partition, earliest
  // lands on the new log start.
  auto strict_config = consumer_settings();
  strict_config.offset_reset = auto_offset_reset::none;
  consumer strict(ex, strict_config);
  co_await strict.start();
  strict.assign({tp});
  strict.seek(tp, log_offset{1});
  bool thrown = false;
  for (int i = 0; i < 50 && !thrown; ++i) {
    try {
      co_await strict.getmany(milliseconds(200));
    } catch (const kafka_error& e) {
      thrown = true;
      EXPECT_EQ(e.kafka_code(), error_code::offset_out_of_range);
      EXPECT_NE(std::string(e.what()).find(tp.to_string()), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(thrown) << "fetching deleted offset 1 did not fail with reset none";
  co_await strict.stop();

  consumer resetting(ex, consumer_settings());
  co_await resetting.start();
  resetting.assign({tp});
  resetting.seek(tp, log_offset{1});
  auto reset = co_await read_records(resetting, 4);
  EXPECT_EQ(reset.size(), 4u);
  if (!reset.empty()) {
    EXPECT_EQ(reset.front().offset, 6);
    EXPECT_EQ(reset.front().value_string(), "v6");
  }
  co_await resetting.stop();
  admin.close();
}

TEST(consumer_fetch, deleted_records_move_the_beginning) {
  run_coroutine([](asio::any_io_executor ex) { return deleted_records_move_the_beginning(ex); });
}

}  // namespace
}  // namespace sluice::kafka
