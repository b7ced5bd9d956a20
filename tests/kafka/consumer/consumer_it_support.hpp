#pragma once

// What the consumer's integration tests need around the real broker: topics, records produced
// with raw ProduceRequests (record batches from kafka/records, so compression and headers are
// under the test's control, and no dependency on the producer being written next door), and a
// consumer config pointing at SLUICE_BOOTSTRAP.

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "kafka/client/cluster.hpp"
#include "kafka/consumer/consumer.hpp"
#include "kafka/consumer/rebalance_listener.hpp"
#include "kafka/protocol/messages/create_topics.hpp"
#include "kafka/protocol/messages/produce.hpp"
#include "kafka/records/record_batch_builder.hpp"
#include "tests/support/run_coroutine.hpp"
#include "tests/support/test_cluster.hpp"

namespace sluice::kafka::test_support {

namespace asio = boost::asio;

inline client_config client_settings() {
  client_config config;
  config.bootstrap_servers = parse_bootstrap_servers(test::bootstrap_servers());
  config.client_id = "sluice-consumer-it";
  return config;
}

inline consumer_config consumer_settings(std::string group_id = "") {
  consumer_config config;
  static_cast<client_config&>(config) = client_settings();
  config.group_id = std::move(group_id);
  config.offset_reset = auto_offset_reset::earliest;
  config.fetch_max_wait = std::chrono::milliseconds(100);
  return config;
}

inline asio::awaitable<void> sleep_ms(asio::any_io_executor executor, int ms) {
  asio::steady_timer timer(executor, std::chrono::milliseconds(ms));
  co_await timer.async_wait(asio::use_awaitable);
}

// Creates the topic and waits until every partition has a leader.
inline asio::awaitable<void> create_topic(cluster& admin, std::string name, int partitions) {
  protocol::create_topics_request request;
  request.topics.push_back({.name = name, .num_partitions = partitions, .replication_factor = 1});
  auto response = co_await admin.send_to_controller(std::move(request));
  EXPECT_EQ(response.topics.size(), 1u);
  if (!response.topics.empty()) {
    EXPECT_EQ(response.topics[0].error_code, 0)
        << "create topic " << name << ": " << response.topics[0].error_message.value_or("");
  }
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::vector<std::string> wanted(1, name);
    const auto* metadata = co_await admin.refresh_metadata(std::move(wanted));
    const auto* topic = metadata->topic(name);
    if (topic != nullptr && static_cast<int>(topic->partitions.size()) == partitions &&
        std::all_of(topic->partitions.begin(), topic->partitions.end(),
                    [](const auto& p) { return p.leader >= 0; })) {
      co_return;
    }
    co_await sleep_ms(admin.executor(), 100);
  }
  ADD_FAILURE() << "topic " << name << " has no leaders after 10 s";
}

struct test_record {
  std::string key;
  std::string value;
  std::int64_t timestamp = 0;  // 0: now
  std::vector<std::pair<std::string, std::string>> headers;
};

// Produces one batch to a partition (acks=all) and returns its base offset.
inline asio::awaitable<std::int64_t> produce(
    cluster& admin, std::string topic, std::int32_t partition, std::vector<test_record> records,
    records::compression codec = records::compression::none) {
  records::record_batch_builder builder({.codec = codec});
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  for (const auto& r : records) {
    std::vector<records::header_view> headers;
    for (const auto& [k, v] : r.headers) headers.push_back({k, protocol::as_bytes_view(v)});
    builder.append(r.timestamp == 0 ? now : r.timestamp, protocol::as_bytes_view(r.key),
                   protocol::as_bytes_view(r.value), headers);
  }
  auto batch = builder.build();
  // A partition just created may not be ready on its leader yet (NOT_LEADER_OR_FOLLOWER): retry.
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::vector<std::string> wanted(1, topic);
    const auto* metadata = co_await admin.refresh_metadata(std::move(wanted));
    const auto* info = metadata->topic(topic);
    if (info == nullptr || static_cast<std::size_t>(partition) >= info->partitions.size()) {
      co_await sleep_ms(admin.executor(), 100);
      continue;
    }
    protocol::produce_request request;
    request.acks = -1;
    request.timeout_ms = 30'000;
    auto& data = request.topic_data.emplace_back();
    data.name = topic;
    data.topic_id = info->id;
    data.partition_data.push_back({.index = partition, .records = batch});
    auto leader = info->partitions.at(static_cast<std::size_t>(partition)).leader;
    auto response = co_await admin.send_to(node_id{leader}, std::move(request));
    if (response.responses.empty() || response.responses[0].partition_responses.empty()) break;
    const auto& result = response.responses[0].partition_responses[0];
    auto code = static_cast<error_code>(result.error_code);
    if (code == error_code::none) co_return result.base_offset;
    if (!is_retriable(code) && code != error_code::not_leader_or_follower) {
      ADD_FAILURE() << "produce to " << topic << "-" << partition << ": " << error_name(code);
      co_return -1;
    }
    co_await sleep_ms(admin.executor(), 100);
  }
  ADD_FAILURE() << "produce to " << topic << "-" << partition << " did not succeed";
  co_return -1;
}

// n records "k<i>" / "v<i>" (i from `first`) in one batch.
inline std::vector<test_record> numbered(int first, int n) {
  std::vector<test_record> out;
  for (int i = first; i < first + n; ++i)
    out.push_back({"k" + std::to_string(i), "v" + std::to_string(i)});
  return out;
}

// Reads until `count` records arrived (or the deadline passed).
inline asio::awaitable<std::vector<consumer_record>> read_records(
    consumer& c, std::size_t count, std::chrono::seconds deadline = std::chrono::seconds(30)) {
  std::vector<consumer_record> out;
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (out.size() < count && std::chrono::steady_clock::now() < until) {
    auto batch = co_await c.getmany(std::chrono::milliseconds(500), count - out.size());
    out.insert(out.end(), batch.begin(), batch.end());
  }
  co_return out;
}

// Records what the consumer told it, in order ("assigned:2", "revoked:1", "lost:1").
class recording_listener : public rebalance_listener {
 public:
  asio::awaitable<void> on_partitions_revoked(std::vector<topic_partition> revoked) override {
    events.push_back("revoked:" + std::to_string(revoked.size()));
    co_return;
  }
  asio::awaitable<void> on_partitions_assigned(std::vector<topic_partition> assigned) override {
    events.push_back("assigned:" + std::to_string(assigned.size()));
    co_return;
  }
  asio::awaitable<void> on_partitions_lost(std::vector<topic_partition> lost) override {
    events.push_back("lost:" + std::to_string(lost.size()));
    co_return;
  }
  std::vector<std::string> events;
};

// Polls every consumer (as an application would) until `done` holds or the deadline passes; the
// records polled go to `sink` when given.
inline asio::awaitable<bool> poll_until(std::vector<consumer*> consumers,
                                        std::function<bool()> done,
                                        std::vector<consumer_record>* sink = nullptr,
                                        std::chrono::seconds deadline = std::chrono::seconds(60)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) co_return true;
    for (auto* c : consumers) {
      auto records = co_await c->getmany(std::chrono::milliseconds(100));
      if (sink != nullptr) sink->insert(sink->end(), records.begin(), records.end());
    }
  }
  co_return done();
}

// The whole file ("" when it does not exist yet).
inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A kafka-python group member with the given assignor (module, class), subscribed to one topic,
// writing its sorted assignment ("0 1 2") to a file whenever it changes, until the stop file
// appears. Arguments: bootstrap topic group out-file stop-file.
inline std::string python_group_member(const std::string& assignor_module,
                                       const std::string& assignor_class) {
  return "import sys, os, time\n"
         "from kafka import KafkaConsumer\n"
         "from " +
         assignor_module + " import " + assignor_class + "\n" +
         R"(bootstrap, topic, group, out, stop = sys.argv[1:6]
c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                  partition_assignment_strategy=[)" +
         assignor_class + R"(], heartbeat_interval_ms=300,
                  session_timeout_ms=10000, enable_auto_commit=False)
deadline = time.time() + 90
last = None
while time.time() < deadline and not os.path.exists(stop):
    c.poll(timeout_ms=100)
    now = sorted(tp.partition for tp in c.assignment())
    if now != last:
        last = now
        with open(out + ".tmp", "w") as f:
            f.write(" ".join(str(p) for p in now))
        os.replace(out + ".tmp", out)
c.close()
)";
}

}  // namespace sluice::kafka::test_support
