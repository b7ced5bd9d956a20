#pragma once

// What the failover tests share: the 3-node cluster scripts/test starts for them (whose nodes
// they kill and start with scripts/kafka kill-node / start-node), replicated topics, and a reader
// that checks a partition holds each expected value exactly once, in order.

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdlib>
#include <future>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kafka/client/cluster.hpp"
#include "kafka/protocol/messages/create_topics.hpp"
#include "tests/kafka/producer/producer_it_support.hpp"
#include "tests/support/test_cluster.hpp"

namespace sluice::kafka::failover {

namespace asio = boost::asio;

// The 3-node cluster the failover stage of scripts/test exported, or nullopt (the caller skips).
struct three_nodes {
  std::string state_dir;
};

inline std::optional<three_nodes> three_node_cluster() {
  const char* brokers = std::getenv("SLUICE_KAFKA_BROKERS");
  const char* state_dir = std::getenv("SLUICE_KAFKA_STATE_DIR");
  if (brokers == nullptr || std::string(brokers) != "3" || state_dir == nullptr || *state_dir == 0)
    return std::nullopt;
  return three_nodes{state_dir};
}

#define SLUICE_REQUIRE_THREE_NODES(cluster_var)                                               \
  auto cluster_var = ::sluice::kafka::failover::three_node_cluster();                         \
  if (!cluster_var) {                                                                         \
    GTEST_SKIP() << "needs a 3-node cluster whose nodes it may kill: SLUICE_KAFKA_BROKERS=3 " \
                    "and SLUICE_KAFKA_STATE_DIR (scripts/test's failover stage, or source "   \
                    "the env of `scripts/kafka start --brokers 3`)";                          \
  }

// Runs `scripts/kafka <command> <node> --state-dir <dir>`; true when it succeeded.
inline bool node_command(const three_nodes& nodes, const std::string& command, std::int32_t node) {
  const auto line = std::string(SLUICE_SOURCE_DIR) + "/scripts/kafka " + command + " " +
                    std::to_string(node) + " --state-dir '" + nodes.state_dir + "' >&2";
  return std::system(line.c_str()) == 0;
}

// The same without blocking the test's executor: producers and consumers keep running while a
// node starts (which takes seconds).
inline asio::awaitable<bool> node_command_async(asio::any_io_executor executor, three_nodes nodes,
                                                std::string command, std::int32_t node) {
  auto done = std::async(std::launch::async,
                         [nodes, command, node] { return node_command(nodes, command, node); });
  while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    asio::steady_timer pause(executor, std::chrono::milliseconds(100));
    co_await pause.async_wait(asio::use_awaitable);
  }
  co_return done.get();
}

// Starts again, at the end of a test, every node the test killed (also when it failed half-way),
// so that the next test finds three nodes.
class restart_guard {
 public:
  explicit restart_guard(three_nodes nodes) : nodes_(std::move(nodes)) {}
  ~restart_guard() {
    for (auto node : killed_) {
      if (!node_command(nodes_, "start-node", node))
        ADD_FAILURE() << "could not start node " << node << " again";
    }
  }
  void killed(std::int32_t node) { killed_.insert(node); }
  void started(std::int32_t node) { killed_.erase(node); }

 private:
  three_nodes nodes_;
  std::set<std::int32_t> killed_;
};

inline asio::awaitable<void> sleep_ms(asio::any_io_executor executor, int ms) {
  asio::steady_timer timer(executor, std::chrono::milliseconds(ms));
  co_await timer.async_wait(asio::use_awaitable);
}

// Creates a topic replicated `replication` times (min.insync.replicas as given) and waits until
// every partition has a leader.
inline asio::awaitable<void> create_replicated_topic(cluster& admin, std::string name,
                                                     std::int32_t partitions,
                                                     std::int16_t replication, int min_insync) {
  protocol::create_topics_request request;
  protocol::create_topics_request::creatable_topic topic;
  topic.name = name;
  topic.num_partitions = partitions;
  topic.replication_factor = replication;
  topic.configs.push_back({.name = "min.insync.replicas", .value = std::to_string(min_insync)});
  request.topics.push_back(std::move(topic));
  auto response = co_await admin.send_to_controller(std::move(request));
  EXPECT_EQ(response.topics.at(0).error_code, 0)
      << name << ": " << response.topics.at(0).error_message.value_or("");
  for (int attempt = 0; attempt < 200; ++attempt) {
    std::vector<std::string> wanted(1, name);
    const auto* metadata = co_await admin.refresh_metadata(std::move(wanted));
    const auto* info = metadata->topic(name);
    if (info != nullptr && static_cast<std::int32_t>(info->partitions.size()) == partitions &&
        std::all_of(info->partitions.begin(), info->partitions.end(), [&](const auto& p) {
          return p.leader >= 0 &&
                 static_cast<std::int16_t>(p.in_sync_replicas.size()) >= replication;
        })) {
      co_return;
    }
    co_await sleep_ms(admin.executor(), 100);
  }
  ADD_FAILURE() << "topic " << name << " is not fully replicated after 20 s";
}

// The partition's leader according to a fresh metadata request.
inline asio::awaitable<std::int32_t> leader_of(cluster& admin, std::string topic,
                                               std::int32_t partition) {
  std::vector<std::string> wanted(1, topic);
  const auto* metadata = co_await admin.refresh_metadata(std::move(wanted));
  const auto* info = metadata->topic(topic);
  if (info == nullptr) co_return -1;
  for (const auto& p : info->partitions) {
    if (p.partition == partition) co_return p.leader;
  }
  co_return -1;
}

// Reads the whole partition with a fresh client (metadata after the failover) and checks it holds
// `prefix`0 .. `prefix`(count-1), each exactly once and in that order. Retries while the leader
// is still moving.
inline asio::awaitable<void> expect_exactly_once_in_order(asio::any_io_executor executor,
                                                          std::string topic, std::int32_t partition,
                                                          std::string prefix, int count) {
  std::vector<records::record> records;
  std::string problem;
  for (int attempt = 0; attempt < 30; ++attempt) {
    cluster reader(executor, test_support::test_client_config());
    try {
      co_await reader.start();
      records = co_await test_support::read_records(reader, topic, partition);
      problem.clear();
    } catch (const std::exception& e) {
      problem = e.what();
    }
    reader.close();
    if (problem.empty() && static_cast<int>(records.size()) >= count) break;
    co_await sleep_ms(executor, 500);
  }
  EXPECT_EQ(problem, "") << "reading " << topic << "-" << partition;
  EXPECT_EQ(records.size(), static_cast<std::size_t>(count))
      << "duplicates or losses in " << topic << "-" << partition;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto expected = prefix + std::to_string(i);
    const auto got = test_support::text(records[i].value);
    if (got != expected) {
      ADD_FAILURE() << topic << "-" << partition << " offset " << i << " holds " << got
                    << ", expected " << expected;
      break;
    }
  }
}

}  // namespace sluice::kafka::failover
