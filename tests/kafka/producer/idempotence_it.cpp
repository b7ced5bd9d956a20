// The idempotent producer against the real broker: connections cut with requests in flight
// (ambiguous outcomes, retried) and a lost sequence (OUT_OF_ORDER_SEQUENCE_NUMBER, recovered by
// an epoch bump, KIP-360) leave every record in the log exactly once, in order.
#include <gtest/gtest.h>

#include "kafka/producer/producer.hpp"
#include "tests/kafka/producer/producer_it_support.hpp"
#include "tests/support/run_coroutine.hpp"

namespace sluice::kafka {
namespace {

using namespace test_support;
using sluice::test::run_coroutine;
using sluice::test::unique_topic;

// Checks that the partition holds exactly `expected` values v0..v{n-1}, each once and in order.
asio::awaitable<void> expect_exactly_once(cluster& admin, std::string topic, std::int32_t partition,
                                          int expected) {
  auto records = co_await read_records(admin, topic, partition);
  EXPECT_EQ(records.size(), static_cast<std::size_t>(expected))
      << "duplicates or losses on partition " << partition;
  for (std::size_t i = 0; i < records.size() && i < static_cast<std::size_t>(expected); ++i) {
    if (text(records[i].value) != "v" + std::to_string(i)) {
      ADD_FAILURE() << "offset " << i << " holds " << text(records[i].value) << ", expected v" << i;
      break;
    }
  }
}

asio::awaitable<void> cut_connections(asio::any_io_executor executor) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("idem-cut");
  co_await create_topic(admin, topic, 2);
  auto config = test_producer_config();
  config.batch_size = 2048;  // many small batches, five requests in flight
  config.retry_backoff = std::chrono::milliseconds(20);
  producer p(executor, config);
  co_await p.start();
  constexpr int count = 20'000;
  std::vector<delivery> handles;
  for (int i = 0; i < count; ++i) {
    for (std::int32_t partition = 0; partition < 2; ++partition) {
      handles.push_back(co_await p.send(topic, protocol::to_bytes("v" + std::to_string(i)),
                                        std::nullopt, partition_id{partition}));
    }
    if (i % 2000 == 1999) {
      // Let requests get in flight, then cut them off.
      asio::steady_timer pause(executor, std::chrono::milliseconds(2));
      co_await pause.async_wait(asio::use_awaitable);
      p.close_connections_for_testing();
    }
  }
  co_await p.flush();
  int failed = 0;
  for (auto& handle : handles) {
    try {
      co_await handle.get();
    } catch (const kafka_error& e) {
      if (failed++ == 0) ADD_FAILURE() << "a record failed: " << e.what();
    }
  }
  EXPECT_EQ(failed, 0);
  co_await p.stop();
  co_await expect_exactly_once(admin, topic, 0, count);
  co_await expect_exactly_once(admin, topic, 1, count);
  admin.close();
}

TEST(producer_idempotence, retries_after_cut_connections_do_not_duplicate) {
  run_coroutine([](asio::any_io_executor executor) { return cut_connections(executor); });
}

asio::awaitable<void> lost_sequence(asio::any_io_executor executor) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("idem-bump");
  co_await create_topic(admin, topic, 1);
  producer p(executor, test_producer_config());
  co_await p.start();
  const auto epoch = p.identity().epoch;
  int sent = 0;
  for (; sent < 100; ++sent) co_await p.send(topic, protocol::to_bytes("v" + std::to_string(sent)));
  co_await p.flush();
  // As if a batch had vanished: the broker sees a gap and answers OUT_OF_ORDER_SEQUENCE_NUMBER.
  p.skip_sequence_for_testing(topic, partition_id{0});
  std::vector<delivery> handles;
  for (; sent < 300; ++sent)
    handles.push_back(co_await p.send(topic, protocol::to_bytes("v" + std::to_string(sent))));
  co_await p.flush();
  for (auto& handle : handles) {
    try {
      co_await handle.get();
    } catch (const kafka_error& e) {
      ADD_FAILURE() << "a record failed instead of being recovered: " << e.what();
      break;
    }
  }
  EXPECT_GT(p.identity().epoch, epoch) << "the epoch was not bumped";
  // And the producer goes on normally afterwards.
  auto last = co_await p.send_and_wait(topic, protocol::to_bytes("v" + std::to_string(sent++)));
  EXPECT_EQ(last.offset, sent - 1);
  co_await p.stop();
  co_await expect_exactly_once(admin, topic, 0, sent);
  admin.close();
}

TEST(producer_idempotence, out_of_order_sequence_is_recovered_by_an_epoch_bump) {
  run_coroutine([](asio::any_io_executor executor) { return lost_sequence(executor); });
}

}  // namespace
}  // namespace sluice::kafka
