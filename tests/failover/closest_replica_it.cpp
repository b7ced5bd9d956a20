// KIP-392, fetching from the closest replica: brokers in racks rack-1..rack-3 with
// RackAwareReplicaSelector (scripts/kafka start --brokers 3 --racks), a consumer whose client_rack
// is a follower's rack. The leader names that follower in preferred_read_replica and the consumer
// reads from it: a proxy in front of the cluster counts which broker sent the data. When the
// follower dies the consumer falls back to the leader and still reads every record exactly once.
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

constexpr int value_size = 100;

std::string value_of(int i) {
  auto text = "c" + std::to_string(i) + "-";
  text.resize(value_size, 'x');
  return text;
}

asio::awaitable<void> read_values(consumer& c, int from, int to, std::int64_t& next) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (next < to && std::chrono::steady_clock::now() < deadline) {
    auto batch = co_await c.getmany(std::chrono::milliseconds(500), 100);
    for (const auto& record : batch) {
      if (record.offset != next || record.value_string() != value_of(static_cast<int>(next))) {
        ADD_FAILURE() << "expected offset " << next << ", got " << record.offset << " holding "
                      << record.value_string().substr(0, 12);
        co_return;
      }
      ++next;
    }
  }
  EXPECT_GE(next, to) << "records " << from << ".." << to << " did not all arrive";
}

asio::awaitable<void> closest_replica(asio::any_io_executor executor, three_nodes nodes,
                                      tcp_proxy* proxy) {
  restart_guard guard(nodes);
  cluster admin(executor, test_support::test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("closest-replica");
  co_await create_replicated_topic(admin, topic, 1, 3, 2);
  std::vector<std::string> wanted(1, topic);
  const auto* metadata = co_await admin.refresh_metadata(std::move(wanted));
  const auto& partition = metadata->topic(topic)->partitions.at(0);
  const auto leader = partition.leader;
  std::int32_t follower = -1;
  for (auto replica : partition.replicas) {
    if (replica != leader) follower = replica;
  }
  const auto& follower_info = metadata->brokers.at(follower);
  const auto& leader_info = metadata->brokers.at(leader);
  if (!follower_info.rack) {
    ADD_FAILURE() << "the brokers have no racks: start the cluster with scripts/kafka --racks";
    co_return;
  }
  const auto follower_address = follower_info.host + ":" + std::to_string(follower_info.port);
  const auto leader_address = leader_info.host + ":" + std::to_string(leader_info.port);

  constexpr int count = 4'000;
  {
    producer p(executor, test_support::test_producer_config());
    co_await p.start();
    for (int i = 0; i < count; ++i)
      co_await p.send(topic, protocol::to_bytes(value_of(i)), std::nullopt, partition_id{0});
    co_await p.flush();
    co_await p.stop();
  }

  consumer_config config;
  static_cast<client_config&>(config) = test_support::test_client_config();
  config.bootstrap_servers = parse_bootstrap_servers(proxy->bootstrap_servers());
  config.client_rack = *follower_info.rack;
  config.offset_reset = auto_offset_reset::earliest;
  config.fetch_max_wait = std::chrono::milliseconds(100);
  config.max_partition_fetch_bytes = 16 * 1024;
  consumer c(executor, config);
  co_await c.start();
  c.assign({topic_partition{topic, 0}});
  std::int64_t next = 0;
  co_await read_values(c, 0, count / 2, next);
  const std::size_t half = static_cast<std::size_t>(count / 2) * value_size;
  // The data came from the follower in our rack; the leader only answered the first fetch.
  EXPECT_GE(proxy->bytes_from(follower_address), half * 9 / 10)
      << "follower " << follower << " (" << *follower_info.rack << ") did not serve the data";
  EXPECT_LT(proxy->bytes_from(leader_address), half / 4)
      << "leader " << leader << " served data although a follower is in the consumer's rack";

  // The preferred replica dies: fetching falls back to the leader, nothing lost or repeated.
  guard.killed(follower);
  EXPECT_TRUE(co_await node_command_async(executor, nodes, "kill-node", follower));
  const auto leader_before = proxy->bytes_from(leader_address);
  co_await read_values(c, count / 2, count, next);
  EXPECT_GE(proxy->bytes_from(leader_address) - leader_before, half * 9 / 10)
      << "the leader did not take over after the follower died";
  co_await c.stop();
  EXPECT_TRUE(co_await node_command_async(executor, nodes, "start-node", follower));
  guard.started(follower);
  admin.close();
}

TEST(failover_closest_replica, consumer_fetches_from_the_follower_in_its_rack_and_falls_back) {
  SLUICE_REQUIRE_THREE_NODES(nodes);
  tcp_proxy proxy(sluice::test::bootstrap_servers());
  run_coroutine(
      [&](asio::any_io_executor executor) { return closest_replica(executor, *nodes, &proxy); },
      std::chrono::seconds(240));
}

}  // namespace
}  // namespace sluice::kafka::failover
