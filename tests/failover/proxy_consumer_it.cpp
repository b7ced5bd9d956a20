// The consumer with its connections cut again and again by a proxy, mid-request and mid-response,
// while it also has a partition of a topic that does not exist assigned (the scenario of the
// fetch-scheduler crash in bench/findings.md: "a response arrived that nobody asked for", then
// SIGSEGV): it reads every record exactly once and in order, and neither crashes nor stalls.
#include <gtest/gtest.h>

#include "kafka/consumer/consumer.hpp"
#include "kafka/producer/producer.hpp"
#include "tests/failover/failover_support.hpp"
#include "tests/support/run_coroutine.hpp"
#include "tests/support/tcp_proxy.hpp"

namespace sluice::kafka::failover {
namespace {

using sluice::test::run_coroutine;
using sluice::test::tcp_proxy;
using sluice::test::unique_topic;

asio::awaitable<void> consume_through_cuts(asio::any_io_executor executor, tcp_proxy* proxy) {
  cluster admin(executor, test_support::test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("proxy-consume");
  co_await create_replicated_topic(admin, topic, 2, 1, 1);
  constexpr int count = 6'000;
  {
    producer p(executor, test_support::test_producer_config());
    co_await p.start();
    for (int i = 0; i < count; ++i) {
      for (std::int32_t partition = 0; partition < 2; ++partition)
        co_await p.send(topic, protocol::to_bytes("v" + std::to_string(i)), std::nullopt,
                        partition_id{partition});
    }
    co_await p.flush();
    co_await p.stop();
  }

  consumer_config config;
  static_cast<client_config&>(config) = test_support::test_client_config();
  config.bootstrap_servers = parse_bootstrap_servers(proxy->bootstrap_servers());
  config.offset_reset = auto_offset_reset::earliest;
  config.fetch_max_wait = std::chrono::milliseconds(100);
  // Many small fetches, so that many cuts land in them; a response (two partitions of 8 KiB at
  // most) is shorter than the cut interval below, so one gets through after each cut.
  config.max_partition_fetch_bytes = 8192;
  config.retry_backoff = std::chrono::milliseconds(20);
  config.reconnect_backoff = std::chrono::milliseconds(10);
  consumer c(executor, config);
  co_await c.start();
  const auto missing = unique_topic("proxy-consume-missing");
  c.assign({{topic, 0}, {topic, 1}, {missing, 0}});
  proxy->cut_every(tcp_proxy::direction::to_broker, 1'999);
  proxy->cut_every(tcp_proxy::direction::to_client, 20'011);

  std::array<std::int64_t, 2> next{0, 0};
  int received = 0;
  bool reported = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(150);
  while (received < 2 * count && std::chrono::steady_clock::now() < deadline) {
    auto batch = co_await c.getmany(std::chrono::milliseconds(500), 200);
    for (const auto& record : batch) {
      EXPECT_EQ(record.topic, topic);
      auto& expected = next.at(static_cast<std::size_t>(record.partition));
      if ((record.offset != expected || record.value_string() != "v" + std::to_string(expected)) &&
          !reported) {
        ADD_FAILURE() << "partition " << record.partition << ": expected offset " << expected
                      << ", got " << record.offset << " holding " << record.value_string();
        reported = true;
      }
      expected = record.offset + 1;
      ++received;
    }
  }
  proxy->cut_every(tcp_proxy::direction::to_broker, 0);
  proxy->cut_every(tcp_proxy::direction::to_client, 0);
  EXPECT_EQ(received, 2 * count);
  EXPECT_EQ(next[0], count);
  EXPECT_EQ(next[1], count);
  EXPECT_GE(proxy->cuts(), 5u);
  EXPECT_GT(proxy->rewritten_responses(), 0u);
  co_await c.stop();
  admin.close();
}

TEST(failover_proxy, consumer_reads_exactly_once_through_cut_connections_with_a_missing_topic) {
  tcp_proxy proxy(sluice::test::bootstrap_servers());
  run_coroutine(
      [&](asio::any_io_executor executor) { return consume_through_cuts(executor, &proxy); },
      std::chrono::seconds(240));
  std::cerr << "proxy: " << proxy.cuts() << " cuts, " << proxy.connections_accepted()
            << " connections, " << proxy.rewritten_responses() << " responses rewritten\n";
}

}  // namespace
}  // namespace sluice::kafka::failover
