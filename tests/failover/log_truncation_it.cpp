// KIP-320 against a real log truncation: a partition on nodes A (leader) and B. B dies; A takes
// records B never gets and the consumer reads them. Then A dies, B starts and is made leader by an
// unclean election (ElectLeaders, type unclean), so B's log ends where A's diverged and new
// records take those offsets. The consumer's next fetch (last_fetched_epoch = A's epoch) gets a
// diverging epoch back: it must continue at the divergence and read B's new records, instead of
// resetting by auto_offset_reset (OFFSET_OUT_OF_RANGE) and re-reading or skipping them.
// It runs twice: with the Fetch version the brokers offer (v12+: the diverging epoch in the Fetch
// response), and capped at Fetch v11, without diverging epochs, as against brokers before 2.7:
// then the leader change makes the consumer check its position with OffsetForLeaderEpoch first.
#include <gtest/gtest.h>

#include "kafka/consumer/consumer.hpp"
#include "kafka/producer/producer.hpp"
#include "kafka/protocol/messages/elect_leaders.hpp"
#include "tests/failover/failover_support.hpp"
#include "tests/support/run_coroutine.hpp"

namespace sluice::kafka::failover {
namespace {

using sluice::test::run_coroutine;
using sluice::test::unique_topic;

asio::awaitable<void> produce_values(asio::any_io_executor executor, std::string topic,
                                     std::string prefix, int from, int to) {
  auto config = test_support::test_producer_config();
  config.enable_idempotence = false;  // fresh producer state on the new leader: no sequence checks
  config.acks = acks::leader;
  producer p(executor, config);
  co_await p.start();
  for (int i = from; i < to; ++i)
    co_await p.send(topic, protocol::to_bytes(prefix + std::to_string(i)), std::nullopt,
                    partition_id{0});
  co_await p.flush();
  co_await p.stop();
}

// Waits until the partition's metadata satisfies `done`.
template <typename Done>
asio::awaitable<bool> wait_for_partition(cluster& admin, std::string topic, Done done) {
  for (int attempt = 0; attempt < 600; ++attempt) {
    try {
      std::vector<std::string> wanted(1, topic);
      const auto* metadata = co_await admin.refresh_metadata(std::move(wanted));
      const auto* info = metadata->topic(topic);
      if (info != nullptr && !info->partitions.empty() && done(info->partitions[0])) co_return true;
    } catch (const std::exception&) {
      // the node we asked may be the one just killed; ask again
    }
    co_await sleep_ms(admin.executor(), 100);
  }
  co_return false;
}

asio::awaitable<void> read_until(consumer& c,
                                 std::vector<std::pair<std::int64_t, std::string>>& out,
                                 std::size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    auto batch = co_await c.getmany(std::chrono::milliseconds(500), 100);
    for (const auto& record : batch) out.emplace_back(record.offset, record.value_string());
  }
}

// `fetch_version`: the highest Fetch version the consumer may use (nullopt: the negotiated one).
asio::awaitable<void> truncation(asio::any_io_executor executor, three_nodes nodes,
                                 std::optional<int> fetch_version) {
  restart_guard guard(nodes);
  constexpr std::int32_t a = 2;
  constexpr std::int32_t b = 3;
  cluster admin(executor, test_support::test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("truncation");
  {
    protocol::create_topics_request request;
    protocol::create_topics_request::creatable_topic spec;
    spec.name = topic;
    spec.num_partitions = -1;
    spec.replication_factor = -1;
    spec.assignments.push_back({.partition_index = 0, .broker_ids = {a, b}});
    spec.configs.push_back({.name = "min.insync.replicas", .value = "1"});
    spec.configs.push_back({.name = "unclean.leader.election.enable", .value = "true"});
    request.topics.push_back(std::move(spec));
    auto response = co_await admin.send_to_controller(std::move(request));
    EXPECT_EQ(response.topics.at(0).error_code, 0)
        << response.topics.at(0).error_message.value_or("");
  }
  EXPECT_TRUE(co_await wait_for_partition(
      admin, topic,
      [&](const partition_info& p) { return p.leader == a && p.in_sync_replicas.size() == 2; }))
      << "node " << a << " did not lead with both replicas in sync";

  co_await produce_values(executor, topic, "old", 0, 100);  // on A and B

  consumer_config config;
  static_cast<client_config&>(config) = test_support::test_client_config();
  config.offset_reset = auto_offset_reset::earliest;  // what a consumer without KIP-320 falls to
  config.fetch_max_wait = std::chrono::milliseconds(100);
  config.metadata_max_age = std::chrono::milliseconds(2'000);
  consumer c(executor, config);
  if (fetch_version) c.limit_fetch_version_for_testing(*fetch_version);
  co_await c.start();
  c.assign({topic_partition{topic, 0}});
  std::vector<std::pair<std::int64_t, std::string>> seen;
  co_await read_until(c, seen, 100);

  // B goes; once A's ISR is A alone, A takes 50 records B never sees, and the consumer reads them.
  guard.killed(b);
  EXPECT_TRUE(co_await node_command_async(executor, nodes, "kill-node", b));
  EXPECT_TRUE(co_await wait_for_partition(
      admin, topic,
      [&](const partition_info& p) { return p.in_sync_replicas == std::vector<std::int32_t>{a}; }))
      << "node " << b << " did not leave the ISR";
  co_await produce_values(executor, topic, "lost", 100, 150);
  co_await read_until(c, seen, 150);
  EXPECT_EQ(seen.size(), 150u);
  if (!seen.empty()) {
    EXPECT_EQ(seen.back().second, "lost149");
  }

  // A goes, B comes back and becomes leader uncleanly: its log ends at 100.
  guard.killed(a);
  EXPECT_TRUE(co_await node_command_async(executor, nodes, "kill-node", a));
  EXPECT_TRUE(co_await node_command_async(executor, nodes, "start-node", b));
  guard.started(b);
  for (int attempt = 0; attempt < 100; ++attempt) {
    protocol::elect_leaders_request elect;
    elect.election_type = 1;  // unclean
    elect.topic_partitions.emplace();
    elect.topic_partitions->push_back({.topic = topic, .partitions = {0}});
    try {
      auto response = co_await admin.send_to_controller(std::move(elect));
      (void)response;
    } catch (const std::exception&) {
      // the broker asked may be down
    }
    if (co_await wait_for_partition(admin, topic,
                                    [&](const partition_info& p) { return p.leader == b; }))
      break;
  }
  EXPECT_TRUE(co_await wait_for_partition(admin, topic,
                                          [&](const partition_info& p) { return p.leader == b; }))
      << "node " << b << " did not become leader";
  co_await produce_values(executor, topic, "new", 100, 120);  // offsets 100..119 on B

  // The consumer's position is 150; the leader's log now differs from offset 100 on.
  co_await read_until(c, seen, 170);
  EXPECT_EQ(seen.size(), 170u) << "the consumer did not go on after the truncation";
  for (std::size_t i = 150; i < 170 && i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].first, static_cast<std::int64_t>(i - 50));
    EXPECT_EQ(seen[i].second, "new" + std::to_string(i - 50));
  }
  co_await c.stop();
  EXPECT_TRUE(co_await node_command_async(executor, nodes, "start-node", a));
  guard.started(a);
  admin.close();
}

TEST(failover_truncation, consumer_detects_log_truncation_after_an_unclean_election) {
  SLUICE_REQUIRE_THREE_NODES(nodes);
  run_coroutine(
      [&](asio::any_io_executor executor) { return truncation(executor, *nodes, std::nullopt); },
      std::chrono::seconds(300));
}

TEST(failover_truncation, consumer_detects_log_truncation_with_offset_for_leader_epoch) {
  SLUICE_REQUIRE_THREE_NODES(nodes);
  // Fetch v11 has no diverging epoch: only OffsetForLeaderEpoch finds the truncation.
  run_coroutine([&](asio::any_io_executor executor) { return truncation(executor, *nodes, 11); },
                std::chrono::seconds(300));
}

}  // namespace
}  // namespace sluice::kafka::failover
