// The idempotent producer (acks=all, KIP-98) with its connections cut again and again by a proxy,
// in the middle of requests (the broker never sees them whole) and of responses (the broker wrote
// the batch, the producer never learns it: an ambiguous outcome it must retry safely). Afterwards
// every record is in the log exactly once, in the order sent. Runs against any cluster.
#include <gtest/gtest.h>

#include "kafka/producer/producer.hpp"
#include "tests/failover/failover_support.hpp"
#include "tests/support/run_coroutine.hpp"
#include "tests/support/tcp_proxy.hpp"

namespace sluice::kafka::failover {
namespace {

using sluice::test::run_coroutine;
using sluice::test::tcp_proxy;
using sluice::test::unique_topic;

asio::awaitable<void> produce_through_cuts(asio::any_io_executor executor, tcp_proxy* proxy) {
  cluster admin(executor, test_support::test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("proxy-idem");
  const auto brokers = static_cast<std::int16_t>(admin.metadata().brokers.size() >= 3 ? 3 : 1);
  co_await create_replicated_topic(admin, topic, 2, brokers, brokers >= 3 ? 2 : 1);

  auto config = test_support::test_producer_config();
  config.bootstrap_servers = parse_bootstrap_servers(proxy->bootstrap_servers());
  config.enable_idempotence = true;
  config.acks = acks::all;
  config.batch_size = 2048;  // many small batches, several requests in flight
  config.retry_backoff = std::chrono::milliseconds(20);
  config.reconnect_backoff = std::chrono::milliseconds(10);
  producer p(executor, config);
  co_await p.start();
  // Prime numbers of bytes, so that the cuts land at ever different places in the frames.
  proxy->cut_every(tcp_proxy::direction::to_broker, 39'989);
  proxy->cut_every(tcp_proxy::direction::to_client, 2'503);

  constexpr int count = 8'000;
  std::vector<delivery> handles;
  for (int i = 0; i < count; ++i) {
    for (std::int32_t partition = 0; partition < 2; ++partition) {
      handles.push_back(co_await p.send(topic, protocol::to_bytes("v" + std::to_string(i)),
                                        std::nullopt, partition_id{partition}));
    }
    if (i % 500 == 499) co_await sleep_ms(executor, 5);  // let requests get in flight
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
  proxy->cut_every(tcp_proxy::direction::to_broker, 0);
  proxy->cut_every(tcp_proxy::direction::to_client, 0);
  co_await p.stop();
  // The faults really happened, and the producer's traffic went through the proxy.
  EXPECT_GE(proxy->cuts(), 5u);
  EXPECT_GT(proxy->rewritten_responses(), 0u);
  EXPECT_GT(proxy->connections_accepted(), proxy->cuts());
  co_await expect_exactly_once_in_order(executor, topic, 0, "v", count);
  co_await expect_exactly_once_in_order(executor, topic, 1, "v", count);
  admin.close();
}

TEST(failover_proxy, idempotent_producer_survives_connections_cut_mid_request) {
  tcp_proxy proxy(sluice::test::bootstrap_servers());
  run_coroutine(
      [&](asio::any_io_executor executor) { return produce_through_cuts(executor, &proxy); },
      std::chrono::seconds(240));
  std::cerr << "proxy: " << proxy.cuts() << " cuts, " << proxy.connections_accepted()
            << " connections, " << proxy.rewritten_responses() << " responses rewritten\n";
}

}  // namespace
}  // namespace sluice::kafka::failover
