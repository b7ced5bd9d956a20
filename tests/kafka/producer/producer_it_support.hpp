#pragma once

// Helpers for the producer's integration tests: create topics and read partitions back with a
// raw Fetch (independent of the producer under test), and run kcat as a peer reader for
// read_committed checks.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "kafka/client/cluster.hpp"
#include "kafka/producer/producer.hpp"
#include "kafka/protocol/messages/create_topics.hpp"
#include "kafka/protocol/messages/fetch.hpp"
#include "kafka/protocol/messages/list_offsets.hpp"
#include "kafka/records/record_batch_decoder.hpp"
#include "tests/support/test_cluster.hpp"

namespace sluice::kafka::test_support {

namespace asio = boost::asio;

inline client_config test_client_config() {
  client_config config;
  config.bootstrap_servers = parse_bootstrap_servers(sluice::test::bootstrap_servers());
  return config;
}

inline producer_config test_producer_config() {
  producer_config config;
  static_cast<client_config&>(config) = test_client_config();
  config.client_id = "sluice-producer-it";
  return config;
}

inline std::string text(const std::optional<protocol::bytes_view>& data) {
  return data ? std::string(protocol::as_string_view(*data)) : std::string("<null>");
}
inline std::string text(const std::optional<protocol::bytes>& data) {
  return data ? std::string(protocol::as_string_view(*data)) : std::string("<null>");
}

// Whether every partition's leader answers ListOffsets without an error. A leader named in the
// metadata may not be ready for a partition created a moment ago (NOT_LEADER_OR_FOLLOWER); an
// acks=0 Produce meeting that error gets no answer: the broker closes the connection instead, and
// what was on it is lost, by design.
inline asio::awaitable<bool> leaders_serve(cluster& net, std::string name, const topic_info& info) {
  for (std::size_t p = 0; p < info.partitions.size(); ++p) {
    protocol::list_offsets_request request;
    request.replica_id = -1;
    auto& topic = request.topics.emplace_back();
    topic.name = name;
    topic.partitions.push_back({.partition_index = static_cast<std::int32_t>(p), .timestamp = -1});
    auto response = co_await net.send_to(node_id{info.partitions[p].leader}, std::move(request));
    if (response.topics.empty() || response.topics[0].partitions.empty() ||
        response.topics[0].partitions[0].error_code != 0) {
      co_return false;
    }
  }
  co_return true;
}

// Creates a topic and waits until every partition has a leader in the metadata that serves it.
inline asio::awaitable<void> create_topic(
    cluster& net, std::string name, std::int32_t partitions,
    std::vector<std::pair<std::string, std::string>> configs = {}) {
  protocol::create_topics_request request;
  protocol::create_topics_request::creatable_topic topic;
  topic.name = name;
  topic.num_partitions = partitions;
  topic.replication_factor = 1;
  for (auto& [key, value] : configs) topic.configs.push_back({.name = key, .value = value});
  request.topics.push_back(std::move(topic));
  auto response = co_await net.send_to_controller(std::move(request));
  EXPECT_EQ(response.topics.at(0).error_code, 0)
      << name << ": " << response.topics.at(0).error_message.value_or("");
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::vector<std::string> wanted(1, name);
    const auto* metadata = co_await net.refresh_metadata(std::move(wanted));
    const auto* info = metadata->topic(name);
    bool ready = info != nullptr &&
                 static_cast<std::int32_t>(info->partitions.size()) == partitions &&
                 std::all_of(info->partitions.begin(), info->partitions.end(),
                             [](const auto& p) { return p.leader >= 0; });
    // (Not `ready && co_await ...`: GCC 12 miscompiles some co_await inside conditions.)
    if (ready) ready = co_await leaders_serve(net, name, *info);
    if (ready) co_return;
    asio::steady_timer pause(net.executor(), std::chrono::milliseconds(100));
    co_await pause.async_wait(asio::use_awaitable);
  }
  ADD_FAILURE() << "topic " << name << " has no serving leaders after 10 s";
}

struct fetched_batch {
  records::record_batch_header header;
  std::vector<records::record> records;
};

// Every batch of a partition from offset 0 to the high watermark (read_uncommitted), control
// batches included.
inline asio::awaitable<std::vector<fetched_batch>> read_partition(cluster& net, std::string topic,
                                                                  std::int32_t partition) {
  std::vector<fetched_batch> batches;
  std::int64_t offset = 0;
  for (int round = 0; round < 10'000; ++round) {
    const auto* info = co_await net.topic(topic);
    if (info == nullptr) throw std::runtime_error("read_partition: no topic " + topic);
    const auto leader = info->partitions.at(static_cast<std::size_t>(partition)).leader;
    protocol::fetch_request request;
    request.max_wait_ms = 0;
    request.min_bytes = 1;
    request.max_bytes = 16 << 20;
    protocol::fetch_request::fetch_topic wanted;
    wanted.topic = topic;
    wanted.topic_id = info->id;
    wanted.partitions.push_back(
        {.partition = partition, .fetch_offset = offset, .partition_max_bytes = 8 << 20});
    request.topics.push_back(std::move(wanted));
    auto response = co_await net.send_to(node_id{leader}, std::move(request));
    const auto& data = response.responses.at(0).partitions.at(0);
    if (data.error_code != 0)
      throw std::runtime_error("fetch error " + std::to_string(data.error_code));
    if (offset >= data.high_watermark) break;
    records::record_batch_decoder decoder(data.records ? protocol::bytes_view(*data.records)
                                                       : protocol::bytes_view{});
    bool any = false;
    while (const auto* header = decoder.next()) {
      fetched_batch batch{*header, {}};
      for (const auto& record : decoder.records()) batch.records.push_back(record.to_record());
      offset = header->next_offset();
      batches.push_back(std::move(batch));
      any = true;
    }
    if (decoder.error()) throw std::runtime_error("decode: " + decoder.error().message());
    if (!any) break;
  }
  co_return batches;
}

// The data records (no control batches) of a partition.
inline asio::awaitable<std::vector<records::record>> read_records(cluster& net, std::string topic,
                                                                  std::int32_t partition) {
  auto batches = co_await read_partition(net, topic, partition);
  std::vector<records::record> out;
  for (auto& batch : batches) {
    if (batch.header.is_control()) continue;
    for (auto& record : batch.records) out.push_back(std::move(record));
  }
  co_return out;
}

// Runs a command and returns its standard output.
inline std::string run_command(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  std::array<char, 4096> buffer{};
  while (auto n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    output.append(buffer.data(), n);
  ::pclose(pipe);
  return output;
}

// The values kcat reads from a topic (one per line), with read_committed or read_uncommitted.
// Transaction markers are written shortly after EndTxn returns, and a read_committed reader
// stops at the last stable offset until then, so this reads again (for up to 15 s) until it has
// at least `at_least` values.
inline std::vector<std::string> kcat_values(const std::string& topic, bool read_committed,
                                            std::size_t at_least = 0) {
  const auto command =
      "kcat -C -e -q -b " + sluice::test::bootstrap_servers() + " -t " + topic +
      " -X isolation.level=" + (read_committed ? "read_committed" : "read_uncommitted") +
      " -f '%s\\n' 2>&1";
  std::vector<std::string> lines;
  for (int attempt = 0; attempt < 30; ++attempt) {
    auto output = run_command(command);
    lines.clear();
    std::size_t start = 0;
    while (start < output.size()) {
      auto end = output.find('\n', start);
      if (end == std::string::npos) end = output.size();
      lines.push_back(output.substr(start, end - start));
      start = end + 1;
    }
    if (lines.size() >= at_least) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return lines;
}

}  // namespace sluice::kafka::test_support
