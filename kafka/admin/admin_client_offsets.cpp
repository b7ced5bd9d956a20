// The admin client's partition-level calls, ListOffsets and DeleteRecords: each partition's
// request goes to its leader, batched per leader. A partition whose leader moved (or has none yet)
// is retried after a metadata refresh, the others keep their answers.
#include <algorithm>

#include "kafka/admin/admin_client.hpp"
#include "kafka/admin/retry_policy.hpp"
#include "kafka/protocol/messages/delete_records.hpp"
#include "kafka/protocol/messages/list_offsets.hpp"

namespace sluice::kafka {

namespace {

using protocol::api_key;

// ListOffsets v7 added the max-timestamp query (KIP-734).
constexpr std::int16_t first_version_with_max_timestamp = 7;
// ListOffsets replica id of a consumer (not a follower).
constexpr std::int32_t consumer_replica_id = -1;

struct routing {
  std::map<std::int32_t, std::vector<topic_partition>> by_leader;
  std::vector<topic_partition> leaderless;  // retried after a refresh
  std::map<topic_partition, item_error> unknown;
};

std::vector<std::string> topics_of(const std::vector<topic_partition>& partitions) {
  std::vector<std::string> topics;
  for (const auto& tp : partitions) {
    if (std::find(topics.begin(), topics.end(), tp.topic) == topics.end())
      topics.push_back(tp.topic);
  }
  return topics;
}

std::string partition_list(const std::vector<topic_partition>& partitions) {
  std::string out;
  for (const auto& tp : partitions) {
    if (out.size() > 200) return out + ", ...";
    out += (out.empty() ? "" : ", ") + tp.to_string();
  }
  return out;
}

// Looks up each partition's leader in the (cached, refreshed when unknown) metadata.
asio::awaitable<routing> route_to_leaders(cluster& cluster,
                                          std::vector<topic_partition> partitions) {
  routing result;
  for (const auto& tp : partitions) {
    const topic_info* topic = co_await cluster.topic(tp.topic);
    if (topic == nullptr) {
      result.unknown[tp] = {error_code::unknown_topic_or_partition,
                            "topic '" + tp.topic + "' does not exist"};
      continue;
    }
    auto it = std::find_if(topic->partitions.begin(), topic->partitions.end(),
                           [&](const auto& p) { return p.partition == tp.partition; });
    if (it == topic->partitions.end()) {
      result.unknown[tp] = {
          error_code::unknown_topic_or_partition,
          "topic '" + tp.topic + "' has no partition " + std::to_string(tp.partition)};
    } else if (it->leader < 0) {
      result.leaderless.push_back(tp);
    } else {
      result.by_leader[it->leader].push_back(tp);
    }
  }
  co_return result;
}

// The entry of `topic` in a request's topic list, added when missing.
template <typename Topics>
auto& topic_entry(Topics& topics, const std::string& topic) {
  auto it =
      std::find_if(topics.begin(), topics.end(), [&](const auto& t) { return t.name == topic; });
  if (it != topics.end()) return *it;
  topics.push_back({.name = topic});
  return topics.back();
}

}  // namespace

template <typename Answer, typename Ask>
asio::awaitable<std::map<topic_partition, Answer>> admin_client::ask_leaders(
    std::vector<topic_partition> pending, std::string what, Ask ask) {
  const auto until = deadline();
  std::map<topic_partition, Answer> done;
  for (int attempt = 0; !pending.empty(); ++attempt) {
    std::exception_ptr failure;
    try {
      auto routes = co_await route_to_leaders(cluster_, pending);
      std::vector<topic_partition> retry = routes.leaderless;
      for (const auto& tp : routes.leaderless) {
        done[tp].error = {error_code::leader_not_available,
                          "partition " + tp.to_string() + " has no leader"};
      }
      for (auto& [tp, error] : routes.unknown) done[tp].error = error;
      for (const auto& [leader, partitions] : routes.by_leader) {
        auto answers = co_await ask(leader, partitions, remaining_ms(until));
        for (const auto& tp : partitions) {
          auto answer = answers.find(tp);
          if (answer == answers.end()) {
            done[tp].error = {error_code::unknown_server_error,
                              "the broker's response left out " + tp.to_string()};
            continue;
          }
          if (admin_retry::retry_item(answer->second.error.code, true)) retry.push_back(tp);
          done[tp] = std::move(answer->second);
        }
      }
      pending = std::move(retry);
      if (!pending.empty() &&
          !co_await pause_before_retry(attempt, until, true, topics_of(pending)))
        break;
      continue;
    } catch (...) {
      failure = std::current_exception();
    }
    co_await recover(failure, attempt, until, what + partition_list(pending), topics_of(pending));
  }
  co_return done;
}

asio::awaitable<std::map<topic_partition, listed_offset>> admin_client::list_offsets(
    std::map<topic_partition, offset_spec> specs, isolation_level isolation) {
  std::vector<topic_partition> partitions;
  partitions.reserve(specs.size());
  for (const auto& [tp, spec] : specs) partitions.push_back(tp);
  const auto* specs_ptr = &specs;  // lives in this frame until ask_leaders returns
  co_return co_await ask_leaders<listed_offset>(
      std::move(partitions), "list offsets of ",
      [this, specs_ptr, isolation](std::int32_t leader, std::vector<topic_partition> at_leader,
                                   std::int32_t timeout_ms) {
        return list_offsets_at(leader, std::move(at_leader), specs_ptr, isolation, timeout_ms);
      });
}

asio::awaitable<std::map<topic_partition, listed_offset>> admin_client::list_offsets_at(
    std::int32_t leader, std::vector<topic_partition> partitions,
    const std::map<topic_partition, offset_spec>* specs, isolation_level isolation,
    std::int32_t timeout_ms) {
  std::map<topic_partition, listed_offset> answers;
  auto target = co_await cluster_.connection_to(node_id{leader});
  const auto version = target->required_version(api_key::list_offsets);
  protocol::list_offsets_request request;
  request.replica_id = consumer_replica_id;
  request.isolation_level = static_cast<std::int8_t>(isolation);
  request.timeout_ms = timeout_ms;
  for (const auto& tp : partitions) {
    const auto& spec = specs->at(tp);
    if (spec.what == offset_spec::kind::max_timestamp &&
        version < first_version_with_max_timestamp) {
      answers[tp].error = {
          error_code::unsupported_version,
          "broker " + std::to_string(leader) + " does not support the max-timestamp query"};
      continue;
    }
    topic_entry(request.topics, tp.topic)
        .partitions.push_back(
            {.partition_index = tp.partition, .timestamp = spec.wire_timestamp()});
  }
  if (request.topics.empty()) co_return answers;
  auto response = co_await target->send(std::move(request), version);
  for (const auto& topic : response.topics) {
    for (const auto& partition : topic.partitions) {
      answers[{topic.name, partition.partition_index}] = {partition.offset, partition.timestamp,
                                                          partition.leader_epoch,
                                                          make_item_error(partition.error_code)};
    }
  }
  co_return answers;
}

asio::awaitable<std::map<topic_partition, deleted_records>> admin_client::delete_records(
    std::map<topic_partition, log_offset> before_offsets) {
  std::vector<topic_partition> partitions;
  partitions.reserve(before_offsets.size());
  for (const auto& [tp, offset] : before_offsets) partitions.push_back(tp);
  const auto* offsets_ptr = &before_offsets;  // lives in this frame until ask_leaders returns
  co_return co_await ask_leaders<deleted_records>(
      std::move(partitions), "delete records of ",
      [this, offsets_ptr](std::int32_t leader, std::vector<topic_partition> at_leader,
                          std::int32_t timeout_ms) {
        return delete_records_at(leader, std::move(at_leader), offsets_ptr, timeout_ms);
      });
}

asio::awaitable<std::map<topic_partition, deleted_records>> admin_client::delete_records_at(
    std::int32_t leader, std::vector<topic_partition> partitions,
    const std::map<topic_partition, log_offset>* before_offsets, std::int32_t timeout_ms) {
  protocol::delete_records_request request;
  request.timeout_ms = timeout_ms;
  for (const auto& tp : partitions) {
    topic_entry(request.topics, tp.topic)
        .partitions.push_back(
            {.partition_index = tp.partition, .offset = before_offsets->at(tp).value()});
  }
  auto response = co_await cluster_.send_to(node_id{leader}, std::move(request));
  std::map<topic_partition, deleted_records> answers;
  for (const auto& topic : response.topics) {
    for (const auto& partition : topic.partitions) {
      answers[{topic.name, partition.partition_index}] = {partition.low_watermark,
                                                          make_item_error(partition.error_code)};
    }
  }
  co_return answers;
}

}  // namespace sluice::kafka
