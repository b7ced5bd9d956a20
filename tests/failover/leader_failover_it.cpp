// A partition leader killed (SIGKILL, no controlled shutdown) on a 3-node cluster, replication
// factor 3 and min.insync.replicas 2: the idempotent producer keeps sending through the election
// and the restart without failing or duplicating, and a consumer reading at the time follows the
// new leader from the right offset, with no gap and no duplicate.
#include <gtest/gtest.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "kafka/consumer/consumer.hpp"
#include "kafka/producer/producer.hpp"
#include "tests/failover/failover_support.hpp"
#include "tests/support/run_coroutine.hpp"

namespace sluice::kafka::failover {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
using sluice::test::run_coroutine;
using sluice::test::unique_topic;

producer_config idempotent_config() {
  auto config = test_support::test_producer_config();
  config.enable_idempotence = true;
  config.acks = acks::all;
  config.retry_backoff = std::chrono::milliseconds(50);
  return config;
}

// ---- the producer while its leader dies ---------------------------------------------------

struct load {
  int sent = 0;
  bool stop = false;
  std::vector<delivery> handles;
};

// Queues about 2000 records a second until told to stop: a steady load, not one burst.
asio::awaitable<void> keep_sending(asio::any_io_executor executor, producer* p, std::string topic,
                                   load* state) {
  while (!state->stop) {
    for (int k = 0; k < 20 && !state->stop; ++k) {
      auto value = protocol::to_bytes("r" + std::to_string(state->sent));
      state->handles.push_back(
          co_await p->send(topic, std::move(value), std::nullopt, partition_id{0}));
      ++state->sent;
    }
    co_await sleep_ms(executor, 10);
  }
}

asio::awaitable<void> wait_until_sent(asio::any_io_executor executor, const load* state,
                                      int at_least) {
  for (int i = 0; i < 6000 && state->sent < at_least; ++i) co_await sleep_ms(executor, 10);
}

asio::awaitable<void> kill_and_restart_leader(asio::any_io_executor executor, three_nodes nodes,
                                              restart_guard* guard, cluster* admin,
                                              std::string topic, load* state) {
  co_await wait_until_sent(executor, state, 1'000);
  const auto leader = co_await leader_of(*admin, topic, 0);
  EXPECT_GT(leader, 0);
  guard->killed(leader);
  EXPECT_TRUE(co_await node_command_async(executor, nodes, "kill-node", leader));
  // Keep sending while the cluster notices and elects a new leader, then bring the node back.
  co_await wait_until_sent(executor, state, state->sent + 2'000);
  EXPECT_TRUE(co_await node_command_async(executor, nodes, "start-node", leader));
  guard->started(leader);
  co_await wait_until_sent(executor, state, state->sent + 1'000);
  const auto new_leader = co_await leader_of(*admin, topic, 0);
  EXPECT_GT(new_leader, 0);
  state->stop = true;
}

asio::awaitable<void> producer_survives(asio::any_io_executor executor, three_nodes nodes) {
  restart_guard guard(nodes);
  cluster admin(executor, test_support::test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("leader-kill-produce");
  co_await create_replicated_topic(admin, topic, 1, 3, 2);
  producer p(executor, idempotent_config());
  co_await p.start();
  load state;
  co_await (keep_sending(executor, &p, topic, &state) &&
            kill_and_restart_leader(executor, nodes, &guard, &admin, topic, &state));
  co_await p.flush();
  int failed = 0;
  std::int64_t expected_offset = 0;
  for (auto& handle : state.handles) {
    try {
      auto where = co_await handle.get();
      // Acknowledged at the offset its place in the sequence says: nothing lost or doubled before.
      if (where.offset != expected_offset && failed == 0) {
        ADD_FAILURE() << "record " << expected_offset << " acknowledged at offset " << where.offset;
        ++failed;
      }
    } catch (const kafka_error& e) {
      if (failed++ == 0) ADD_FAILURE() << "the producer failed a record: " << e.what();
    }
    ++expected_offset;
  }
  EXPECT_EQ(failed, 0);
  co_await p.stop();
  co_await expect_exactly_once_in_order(executor, topic, 0, "r", state.sent);
  admin.close();
}

TEST(failover_leader, idempotent_producer_keeps_going_when_the_leader_is_killed) {
  SLUICE_REQUIRE_THREE_NODES(nodes);
  run_coroutine([&](asio::any_io_executor executor) { return producer_survives(executor, *nodes); },
                std::chrono::seconds(240));
}

// ---- the consumer while its leader dies ---------------------------------------------------

asio::awaitable<void> produce_values(asio::any_io_executor executor, std::string topic, int from,
                                     int to) {
  producer p(executor, idempotent_config());
  co_await p.start();
  for (int i = from; i < to; ++i)
    co_await p.send(topic, protocol::to_bytes("c" + std::to_string(i)), std::nullopt,
                    partition_id{0});
  co_await p.flush();
  co_await p.stop();
}

// Reads until `until` records arrived in all, checking each offset follows the last one.
asio::awaitable<void> read_up_to(consumer& c, std::vector<std::string>& values,
                                 std::int64_t& next_offset, std::size_t until) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (values.size() < until && std::chrono::steady_clock::now() < deadline) {
    auto batch = co_await c.getmany(std::chrono::milliseconds(500), 100);
    for (const auto& record : batch) {
      if (record.offset != next_offset) {
        ADD_FAILURE() << "expected offset " << next_offset << ", got " << record.offset;
        next_offset = record.offset;
      }
      ++next_offset;
      values.emplace_back(record.value_string());
    }
  }
}

asio::awaitable<void> consumer_follows(asio::any_io_executor executor, three_nodes nodes) {
  restart_guard guard(nodes);
  cluster admin(executor, test_support::test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("leader-kill-consume");
  co_await create_replicated_topic(admin, topic, 1, 3, 2);
  constexpr int first = 2'000;
  constexpr int total = 4'000;
  co_await produce_values(executor, topic, 0, first);

  consumer_config config;
  static_cast<client_config&>(config) = test_support::test_client_config();
  config.offset_reset = auto_offset_reset::earliest;
  config.fetch_max_wait = std::chrono::milliseconds(100);
  config.max_partition_fetch_bytes = 4096;  // small fetches: much is left to read after the kill
  consumer c(executor, config);
  co_await c.start();
  c.assign({topic_partition{topic, 0}});
  std::vector<std::string> values;
  std::int64_t next_offset = 0;
  co_await read_up_to(c, values, next_offset, 500);
  EXPECT_GE(values.size(), 500u);

  const auto leader = co_await leader_of(admin, topic, 0);
  guard.killed(leader);
  EXPECT_TRUE(co_await node_command_async(executor, nodes, "kill-node", leader));
  // More records, written to the new leader while the consumer is still on its way there.
  co_await produce_values(executor, topic, first, total);
  co_await read_up_to(c, values, next_offset, total);
  EXPECT_EQ(values.size(), static_cast<std::size_t>(total));
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] != "c" + std::to_string(i)) {
      ADD_FAILURE() << "record " << i << " is " << values[i];
      break;
    }
  }
  EXPECT_NE(co_await leader_of(admin, topic, 0), leader) << "the leader did not move";
  co_await c.stop();
  EXPECT_TRUE(co_await node_command_async(executor, nodes, "start-node", leader));
  guard.started(leader);
  admin.close();
}

TEST(failover_leader, consumer_follows_the_new_leader_without_gaps_or_duplicates) {
  SLUICE_REQUIRE_THREE_NODES(nodes);
  run_coroutine([&](asio::any_io_executor executor) { return consumer_follows(executor, *nodes); },
                std::chrono::seconds(240));
}

}  // namespace
}  // namespace sluice::kafka::failover
