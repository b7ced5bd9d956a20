// Typed producers against the real broker: keys and values arrive as the Java serializers would
// have written them (string bytes, big-endian integers, compact JSON), nulls as nulls.
#include <gtest/gtest.h>

#include <boost/json/value.hpp>

#include "kafka/producer/serializing_producer.hpp"
#include "tests/kafka/producer/producer_it_support.hpp"
#include "tests/support/run_coroutine.hpp"

namespace sluice::kafka {
namespace {

using namespace test_support;
using sluice::test::run_coroutine;
using sluice::test::unique_topic;

std::string hex(const std::optional<protocol::bytes>& data) {
  if (!data) return "<null>";
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto b : *data) {
    out += digits[std::to_integer<int>(b) >> 4];
    out += digits[std::to_integer<int>(b) & 0xf];
  }
  return out;
}

asio::awaitable<void> typed_read_back(asio::any_io_executor executor, std::string topic) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  co_await create_topic(admin, topic, 1);

  serializing_producer<std::int64_t, boost::json::value> p(executor, test_producer_config());
  co_await p.start();
  boost::json::value order = {{"id", 7}, {"item", "tea"}};
  auto first = co_await p.send_and_wait(topic, order, std::int64_t{0x0102030405060708});
  EXPECT_EQ(first.offset, 0);
  // A tombstone for the key: no value.
  auto second = co_await p.send_and_wait(topic, std::nullopt, std::int64_t{-1});
  EXPECT_EQ(second.offset, 1);
  co_await p.stop();

  // Another pair of types through the blocking wrapper, on its own thread.
  {
    serializing_blocking_producer<std::string, std::int32_t> blocking(test_producer_config());
    auto sent = blocking.send(topic, 0x0a0b0c0d, std::string("key-3"));
    EXPECT_EQ(sent.get(std::chrono::seconds(60)).offset, 2);
    blocking.close();
  }

  auto records = co_await read_records(admin, topic, 0);
  EXPECT_EQ(records.size(), 3u);
  if (records.size() == 3) {
    EXPECT_EQ(hex(records[0].key), "0102030405060708");
    EXPECT_EQ(text(records[0].value), R"({"id":7,"item":"tea"})");
    EXPECT_EQ(hex(records[1].key), "ffffffffffffffff");
    EXPECT_FALSE(records[1].value.has_value());
    EXPECT_EQ(text(records[2].key), "key-3");
    EXPECT_EQ(hex(records[2].value), "0a0b0c0d");
  }
  admin.close();
}

TEST(serializing_producer, typed_keys_and_values_read_back_as_java_writes_them) {
  const auto topic = unique_topic("typed");
  run_coroutine(
      [topic](asio::any_io_executor executor) { return typed_read_back(executor, topic); });
}

}  // namespace
}  // namespace sluice::kafka
