// create_batch()/send_batch() against the real broker: a caller-built batch lands as one batch
// at consecutive offsets on the chosen partition, records read back as appended.
#include <gtest/gtest.h>

#include "kafka/producer/producer.hpp"
#include "tests/kafka/producer/producer_it_support.hpp"
#include "tests/support/run_coroutine.hpp"

namespace sluice::kafka {
namespace {

using namespace test_support;
using sluice::test::run_coroutine;
using sluice::test::unique_topic;

asio::awaitable<void> batch_read_back(asio::any_io_executor executor, producer_config config,
                                      std::string prefix) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic(prefix);
  co_await create_topic(admin, topic, 2);

  config.batch_size = 2048;
  producer p(executor, config);
  co_await p.start();
  if (config.transactional()) p.begin_transaction();

  // Fill two batches for partition 1 until each refuses a record.
  std::vector<std::string> sent;
  std::vector<delivery> handles;
  std::vector<std::int32_t> counts;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  for (int round = 0; round < 2; ++round) {
    auto batch = p.create_batch();
    for (;;) {
      const auto value = "value-" + std::to_string(sent.size()) + std::string(40, 'x');
      const auto key = "key-" + std::to_string(sent.size());
      std::vector<records::header_view> headers{
          {"n", protocol::as_bytes_view(std::string_view(key))}};
      auto added =
          batch.append(protocol::as_bytes_view(key), protocol::as_bytes_view(value),
                       timestamp_ms{now + static_cast<std::int64_t>(sent.size())}, headers);
      if (!added) break;
      EXPECT_EQ(added->index,
                static_cast<std::int32_t>(sent.size()) - (counts.empty() ? 0 : counts[0]));
      sent.push_back(value);
    }
    EXPECT_LE(batch.size(), 2048u);
    counts.push_back(batch.record_count());
    handles.push_back(co_await p.send_batch(std::move(batch), topic, partition_id{1}));
  }
  // A record sent the ordinary way after the batches follows them.
  auto after = co_await p.send(topic, protocol::to_bytes("after"), std::nullopt, partition_id{1});
  if (config.transactional()) co_await p.commit_transaction();

  auto first = co_await handles[0].get();
  auto second = co_await handles[1].get();
  auto last = co_await after.get();
  EXPECT_EQ(first.topic, topic);
  EXPECT_EQ(first.partition, 1);
  EXPECT_EQ(first.offset, 0);
  EXPECT_EQ(first.timestamp, now);
  EXPECT_EQ(second.offset, counts[0]);
  EXPECT_EQ(last.offset, counts[0] + counts[1]);

  // Wrong uses fail with a clear error.
  bool empty_refused = false;
  bool bad_partition_refused = false;
  if (config.transactional()) p.begin_transaction();
  try {
    co_await p.send_batch(p.create_batch(), topic, partition_id{0});
  } catch (const kafka_error& e) {
    empty_refused = std::string(e.what()).find("empty") != std::string::npos;
  }
  try {
    auto batch = p.create_batch();
    batch.append(std::nullopt, protocol::as_bytes_view(std::string_view("x")));
    co_await p.send_batch(std::move(batch), topic, partition_id{7});
  } catch (const kafka_error& e) {
    bad_partition_refused = e.code() == make_error_code(error_code::unknown_topic_or_partition);
  }
  EXPECT_TRUE(empty_refused);
  EXPECT_TRUE(bad_partition_refused);
  if (config.transactional()) co_await p.abort_transaction();
  co_await p.stop();

  // The log: the two caller batches as two batches, then the ordinary record.
  auto batches = co_await read_partition(admin, topic, 1);
  std::vector<fetched_batch> data;
  for (auto& batch : batches) {
    if (!batch.header.is_control()) data.push_back(std::move(batch));
  }
  EXPECT_EQ(data.size(), 3u);
  if (data.size() == 3) {
    EXPECT_EQ(static_cast<std::int32_t>(data[0].records.size()), counts[0]);
    EXPECT_EQ(static_cast<std::int32_t>(data[1].records.size()), counts[1]);
    EXPECT_EQ(data[0].header.is_transactional(), config.transactional());
  }
  std::vector<std::string> values;
  for (const auto& batch : data) {
    for (const auto& record : batch.records) values.push_back(text(record.value));
  }
  sent.push_back("after");
  EXPECT_EQ(values, sent);
  if (!data.empty() && !data[0].records.empty()) {
    EXPECT_EQ(text(data[0].records[0].key), "key-0");
    EXPECT_EQ(data[0].records[0].timestamp, now);
    EXPECT_EQ(data[0].records[0].headers.size(), 1u);
    if (data[0].records[0].headers.size() == 1) {
      EXPECT_EQ(data[0].records[0].headers[0].key, "n");
    }
  }
  EXPECT_TRUE((co_await read_records(admin, topic, 0)).empty());
  admin.close();
}

TEST(producer_batch, a_built_batch_lands_whole_on_its_partition) {
  run_coroutine([](asio::any_io_executor executor) {
    return batch_read_back(executor, test_producer_config(), "batch");
  });
}

TEST(producer_batch, compressed_batches_read_back) {
  auto config = test_producer_config();
  config.compression = records::compression::zstd;
  run_coroutine([config](asio::any_io_executor executor) {
    return batch_read_back(executor, config, "batch-zstd");
  });
}

TEST(producer_batch, transactional_batches_commit) {
  auto config = test_producer_config();
  config.transactional_id = unique_topic("batch-txn");
  run_coroutine([config](asio::any_io_executor executor) {
    return batch_read_back(executor, config, "batch-txn");
  });
}

}  // namespace
}  // namespace sluice::kafka
