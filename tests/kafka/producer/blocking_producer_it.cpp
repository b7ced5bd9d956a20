// The blocking facade against the real broker: send(...).get(timeout) from a plain thread, and a
// transaction driven without coroutines.
#include <gtest/gtest.h>

#include <thread>

#include "kafka/producer/blocking_producer.hpp"
#include "tests/kafka/producer/producer_it_support.hpp"
#include "tests/support/run_coroutine.hpp"

namespace sluice::kafka {
namespace {

using namespace test_support;
using sluice::test::run_coroutine;
using sluice::test::unique_topic;

asio::awaitable<void> make_topic(asio::any_io_executor executor, std::string topic,
                                 std::int32_t partitions) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  co_await create_topic(admin, topic, partitions);
  admin.close();
}

TEST(blocking_producer, send_get_from_plain_threads) {
  const auto topic = unique_topic("blocking");
  run_coroutine([topic](asio::any_io_executor executor) { return make_topic(executor, topic, 2); });
  blocking_producer p(test_producer_config());
  EXPECT_EQ(p.partitions_for(topic).size(), 2u);
  constexpr int record_count = 200;
  std::vector<blocking_producer::future> sent;
  sent.reserve(record_count);
  for (int i = 0; i < record_count; ++i)
    sent.push_back(
        p.send(topic, protocol::to_bytes("v" + std::to_string(i)), std::nullopt, partition_id{0}));
  std::int64_t expected = 0;
  for (auto& future : sent) EXPECT_EQ(future.get(std::chrono::seconds(30)).offset, expected++);
  // Another thread may send too.
  std::thread other([&p, topic] {
    auto where =
        p.send(topic, protocol::to_bytes("from another thread"), std::nullopt, partition_id{1})
            .get(std::chrono::seconds(30));
    EXPECT_EQ(where.partition, 1);
  });
  other.join();
  // A record that can never be sent fails at send, with the reason.
  EXPECT_THROW(p.send(topic, protocol::to_bytes("x"), std::nullopt, partition_id{9}), kafka_error);
  p.flush();
  p.close();
  EXPECT_EQ(kcat_values(topic, false, 201).size(), 201u);
}

TEST(blocking_producer, transaction_without_coroutines) {
  const auto topic = unique_topic("blocking-txn");
  run_coroutine([topic](asio::any_io_executor executor) { return make_topic(executor, topic, 1); });
  auto config = test_producer_config();
  config.transactional_id = unique_topic("blocking-txn-id");
  blocking_producer p(config);
  p.begin_transaction();
  p.send(topic, protocol::to_bytes("kept"));
  p.commit_transaction();
  p.begin_transaction();
  auto dropped = p.send(topic, protocol::to_bytes("dropped"));
  p.flush();
  dropped.get(std::chrono::seconds(30));
  p.abort_transaction();
  p.close();
  EXPECT_EQ(kcat_values(topic, true, 1), (std::vector<std::string>{"kept"}));
}

}  // namespace
}  // namespace sluice::kafka
