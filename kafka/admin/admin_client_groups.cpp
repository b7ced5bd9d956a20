// The admin client's consumer-group calls. Every request goes to the group's coordinator, found
// again (FindCoordinator) on every attempt, so that a coordinator that moved is followed.
#include <algorithm>

#include "kafka/admin/admin_client.hpp"
#include "kafka/admin/consumer_protocol.hpp"
#include "kafka/admin/retry_policy.hpp"
#include "kafka/protocol/messages/consumer_group_describe.hpp"
#include "kafka/protocol/messages/delete_groups.hpp"
#include "kafka/protocol/messages/describe_groups.hpp"
#include "kafka/protocol/messages/list_groups.hpp"
#include "kafka/protocol/messages/offset_commit.hpp"
#include "kafka/protocol/messages/offset_delete.hpp"
#include "kafka/protocol/messages/offset_fetch.hpp"

namespace sluice::kafka {

namespace {

using protocol::api_key;

// OffsetFetch and OffsetCommit v10 name topics only by id (KIP-848's topic ids); the admin
// client speaks names, and v9 carries the same facts, so it stops there.
constexpr std::int16_t last_version_with_topic_names = 9;

// Throws the group-level error so that `recover` decides: a coordinator that moved or is loading
// is retried, anything else ends the call with the group named.
void throw_group_error(std::int16_t code, const std::optional<std::string>& message) {
  if (code == 0) return;
  throw kafka_error(static_cast<error_code>(code),
                    message.value_or(error_name(static_cast<error_code>(code))));
}

std::map<std::string, std::vector<std::int32_t>> by_topic(
    const std::vector<topic_partition>& partitions) {
  std::map<std::string, std::vector<std::int32_t>> topics;
  for (const auto& tp : partitions) topics[tp.topic].push_back(tp.partition);
  return topics;
}

// A partition-level error that means the whole request went to the wrong broker.
bool coordinator_moved(std::int16_t code) {
  return classify(static_cast<error_code>(code)) == error_action::find_coordinator_and_retry ||
         static_cast<error_code>(code) == error_code::coordinator_load_in_progress;
}

// A partition the request named and the response did not answer for fails, rather than vanishing
// from the result.
void report_if_left_out(std::map<topic_partition, item_error>& result, const topic_partition& tp) {
  if (!result.contains(tp)) {
    result[tp] = {error_code::unknown_server_error,
                  "the broker's response left out " + tp.to_string()};
  }
}

}  // namespace

asio::awaitable<std::vector<group_listing>> admin_client::list_groups_of(std::int32_t node_id) {
  co_return co_await retrying(deadline(), "list the groups of broker " + std::to_string(node_id),
                              &admin_client::list_groups_of_attempt, node_id);
}

asio::awaitable<std::vector<group_listing>> admin_client::list_groups_of_attempt(
    std::int32_t node_id) {
  auto response =
      co_await cluster_.send_to(kafka::node_id{node_id}, protocol::list_groups_request{});
  throw_group_error(response.error_code, std::nullopt);
  std::vector<group_listing> result;
  for (auto& group : response.groups) {
    result.push_back({std::move(group.group_id), std::move(group.protocol_type),
                      std::move(group.group_state), std::move(group.group_type)});
  }
  co_return result;
}

asio::awaitable<std::vector<group_listing>> admin_client::list_groups() {
  // Each broker lists the groups it coordinates, so the cluster's groups are the union.
  const auto until = deadline();
  std::vector<std::int32_t> nodes;
  for (int attempt = 0; nodes.empty(); ++attempt) {
    std::exception_ptr failure;
    try {
      const auto* metadata = co_await cluster_.refresh_metadata(std::vector<std::string>{});
      for (const auto& [id, broker] : metadata->brokers) nodes.push_back(id);
      if (!nodes.empty()) break;
      throw kafka_error(error_code::broker_not_available, "the cluster's metadata lists no broker");
    } catch (...) {
      failure = std::current_exception();
    }
    co_await recover(failure, attempt, until, "list groups", {});
  }
  std::vector<group_listing> all;
  for (auto node : nodes) {
    auto groups = co_await list_groups_of(node);
    for (auto& group : groups) {
      auto same = [&](const group_listing& g) { return g.group_id == group.group_id; };
      if (std::none_of(all.begin(), all.end(), same)) all.push_back(std::move(group));
    }
  }
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.group_id < b.group_id; });
  co_return all;
}

asio::awaitable<group_description> admin_client::describe_group(std::string group_id) {
  co_return co_await retrying(deadline(), "describe group '" + group_id + "'",
                              &admin_client::describe_group_attempt, group_id);
}

asio::awaitable<group_description> admin_client::describe_group_attempt(std::string group_id) {
  const auto coordinator = co_await cluster_.find_coordinator(coordinator_type::group, group_id);
  protocol::describe_groups_request request;
  request.groups.push_back(group_id);
  auto response = co_await cluster_.send_to(coordinator, std::move(request));
  auto it = std::find_if(response.groups.begin(), response.groups.end(),
                         [&](const auto& g) { return g.group_id == group_id; });
  group_description result;
  result.group_id = group_id;
  result.coordinator_id = coordinator.value();
  if (it == response.groups.end()) {
    result.error = {error_code::unknown_server_error, "the broker's response left out the group"};
    co_return result;
  }
  if (coordinator_moved(it->error_code)) throw_group_error(it->error_code, it->error_message);
  // A KIP-848 consumer group is not a classic group: DescribeGroups does not know it, its own
  // ConsumerGroupDescribe does (as Kafka's AdminClient.describeConsumerGroups).
  if (it->error_code != 0 || it->group_state == "Dead") {
    auto described = co_await describe_consumer_group(coordinator, group_id);
    if (described) co_return std::move(*described);
  }
  result.type = "classic";
  result.error = make_item_error(it->error_code, it->error_message);
  result.state = it->group_state;
  result.protocol_type = it->protocol_type;
  result.protocol = it->protocol_data;
  for (auto& member : it->members) {
    group_member described;
    described.member_id = member.member_id;
    described.group_instance_id = member.group_instance_id;
    described.client_id = member.client_id;
    described.client_host = member.client_host;
    // Only the "consumer" protocol's bytes have a known layout; other protocol types (Kafka
    // Connect, Schema Registry) keep theirs opaque.
    if (result.protocol_type == "consumer") {
      if (!member.member_metadata.empty()) {
        described.subscribed_topics =
            consumer_protocol::decode_subscription(member.member_metadata).topics;
      }
      described.assignment = consumer_protocol::decode_assignment(member.member_assignment);
    }
    result.members.push_back(std::move(described));
  }
  co_return result;
}

asio::awaitable<std::optional<group_description>> admin_client::describe_consumer_group(
    node_id coordinator, std::string group_id) {
  auto target = co_await cluster_.connection_to(coordinator);
  if (!target->negotiated_version(api_key::consumer_group_describe)) co_return std::nullopt;
  protocol::consumer_group_describe_request request;
  request.group_ids.push_back(group_id);
  auto response = co_await target->send(std::move(request));
  auto it = std::find_if(response.groups.begin(), response.groups.end(),
                         [&](const auto& g) { return g.group_id == group_id; });
  if (it == response.groups.end()) co_return std::nullopt;
  if (coordinator_moved(it->error_code)) throw_group_error(it->error_code, it->error_message);
  // GROUP_ID_NOT_FOUND here: not a consumer group either; the classic answer stands.
  if (it->error_code != 0) co_return std::nullopt;
  group_description result;
  result.group_id = group_id;
  result.coordinator_id = coordinator.value();
  result.type = "consumer";
  result.protocol_type = "consumer";
  result.state = it->group_state;
  result.protocol = it->assignor_name;
  for (auto& member : it->members) {
    group_member described;
    described.member_id = member.member_id;
    described.group_instance_id = member.instance_id;
    described.client_id = member.client_id;
    described.client_host = member.client_host;
    described.subscribed_topics = member.subscribed_topic_names;
    for (const auto& topic : member.assignment.topic_partitions) {
      for (auto partition : topic.partitions)
        described.assignment.push_back({topic.topic_name, partition});
    }
    std::sort(described.assignment.begin(), described.assignment.end());
    result.members.push_back(std::move(described));
  }
  co_return result;
}

asio::awaitable<std::vector<group_description>> admin_client::describe_groups(
    std::vector<std::string> group_ids) {
  std::vector<group_description> results;
  results.reserve(group_ids.size());
  for (auto& id : group_ids) results.push_back(co_await describe_group(std::move(id)));
  co_return results;
}

asio::awaitable<group_result> admin_client::delete_group(std::string group_id) {
  co_return co_await retrying(deadline(), "delete group '" + group_id + "'",
                              &admin_client::delete_group_attempt, group_id);
}

asio::awaitable<group_result> admin_client::delete_group_attempt(std::string group_id) {
  const auto coordinator = co_await cluster_.find_coordinator(coordinator_type::group, group_id);
  protocol::delete_groups_request request;
  request.groups_names.push_back(group_id);
  auto response = co_await cluster_.send_to(coordinator, std::move(request));
  auto it = std::find_if(response.results.begin(), response.results.end(),
                         [&](const auto& g) { return g.group_id == group_id; });
  if (it == response.results.end()) {
    co_return group_result{
        group_id, {error_code::unknown_server_error, "the broker's response left out the group"}};
  }
  if (coordinator_moved(it->error_code)) throw_group_error(it->error_code, std::nullopt);
  co_return group_result{group_id, make_item_error(it->error_code)};
}

asio::awaitable<std::vector<group_result>> admin_client::delete_groups(
    std::vector<std::string> group_ids) {
  std::vector<group_result> results;
  results.reserve(group_ids.size());
  for (auto& id : group_ids) results.push_back(co_await delete_group(std::move(id)));
  co_return results;
}

asio::awaitable<std::map<topic_partition, committed_offset>> admin_client::list_group_offsets(
    std::string group_id, std::optional<std::vector<topic_partition>> partitions) {
  co_return co_await retrying(deadline(), "list the offsets of group '" + group_id + "'",
                              &admin_client::list_group_offsets_attempt, group_id, partitions);
}

asio::awaitable<std::map<topic_partition, committed_offset>>
admin_client::list_group_offsets_attempt(std::string group_id,
                                         std::optional<std::vector<topic_partition>> partitions) {
  const auto coordinator = co_await cluster_.find_coordinator(coordinator_type::group, group_id);
  auto target = co_await cluster_.connection_to(coordinator);
  const auto version =
      std::min(target->required_version(api_key::offset_fetch), last_version_with_topic_names);
  protocol::offset_fetch_request request;
  // v8 batches groups (KIP-709); before, one group per request.
  if (version >= 8) {
    auto& group = request.groups.emplace_back();
    group.group_id = group_id;
    if (partitions) {
      auto& topics = group.topics.emplace();
      for (auto& [topic, indexes] : by_topic(*partitions)) {
        topics.push_back({.name = topic, .partition_indexes = indexes});
      }
    }
  } else {
    request.group_id = group_id;
    if (partitions) {
      auto& topics = request.topics.emplace();
      for (auto& [topic, indexes] : by_topic(*partitions)) {
        topics.push_back({.name = topic, .partition_indexes = indexes});
      }
    }
  }
  auto response = co_await target->send(std::move(request), version);
  std::map<topic_partition, committed_offset> result;
  auto add = [&](const std::string& topic, const auto& partition) {
    if (coordinator_moved(partition.error_code))
      throw_group_error(partition.error_code, std::nullopt);
    result[{topic, partition.partition_index}] = {
        partition.committed_offset, partition.committed_leader_epoch, partition.metadata,
        make_item_error(partition.error_code)};
  };
  if (version >= 8) {
    if (response.groups.empty())
      throw kafka_error(error_code::unknown_server_error, "the response has no group");
    const auto& group = response.groups.front();
    throw_group_error(group.error_code, std::nullopt);
    for (const auto& topic : group.topics) {
      for (const auto& partition : topic.partitions) add(topic.name, partition);
    }
  } else {
    throw_group_error(response.error_code, std::nullopt);
    for (const auto& topic : response.topics) {
      for (const auto& partition : topic.partitions) add(topic.name, partition);
    }
  }
  co_return result;
}

asio::awaitable<std::map<topic_partition, item_error>> admin_client::alter_group_offsets(
    std::string group_id, std::map<topic_partition, log_offset> offsets) {
  co_return co_await retrying(deadline(), "alter the offsets of group '" + group_id + "'",
                              &admin_client::alter_group_offsets_attempt, group_id, offsets);
}

asio::awaitable<std::map<topic_partition, item_error>> admin_client::alter_group_offsets_attempt(
    std::string group_id, std::map<topic_partition, log_offset> offsets) {
  const auto coordinator = co_await cluster_.find_coordinator(coordinator_type::group, group_id);
  auto target = co_await cluster_.connection_to(coordinator);
  const auto version =
      std::min(target->required_version(api_key::offset_commit), last_version_with_topic_names);
  protocol::offset_commit_request request;
  request.group_id = group_id;
  // Generation -1 and no member id: a commit from outside the group, which the coordinator
  // accepts only while the group has no members (what kafka-consumer-groups --reset-offsets
  // and AdminClient.alterConsumerGroupOffsets rely on).
  request.generation_id_or_member_epoch = -1;
  request.member_id = "";
  for (const auto& entry : offsets) {
    // (Not a structured binding: the lambda below captures it, which clang rejects before
    // C++20's P1091.)
    const auto& tp = entry.first;
    auto it = std::find_if(request.topics.begin(), request.topics.end(),
                           [&](const auto& t) { return t.name == tp.topic; });
    if (it == request.topics.end()) {
      request.topics.push_back({.name = tp.topic});
      it = std::prev(request.topics.end());
    }
    it->partitions.push_back(
        {.partition_index = tp.partition, .committed_offset = entry.second.value()});
  }
  auto response = co_await target->send(std::move(request), version);
  std::map<topic_partition, item_error> result;
  for (const auto& topic : response.topics) {
    for (const auto& partition : topic.partitions) {
      if (coordinator_moved(partition.error_code))
        throw_group_error(partition.error_code, std::nullopt);
      result[{topic.name, partition.partition_index}] = make_item_error(partition.error_code);
    }
  }
  for (const auto& [tp, offset] : offsets) report_if_left_out(result, tp);
  co_return result;
}

asio::awaitable<std::map<topic_partition, item_error>> admin_client::delete_group_offsets(
    std::string group_id, std::vector<topic_partition> partitions) {
  co_return co_await retrying(deadline(), "delete the offsets of group '" + group_id + "'",
                              &admin_client::delete_group_offsets_attempt, group_id, partitions);
}

asio::awaitable<std::map<topic_partition, item_error>> admin_client::delete_group_offsets_attempt(
    std::string group_id, std::vector<topic_partition> partitions) {
  const auto coordinator = co_await cluster_.find_coordinator(coordinator_type::group, group_id);
  protocol::offset_delete_request request;
  request.group_id = group_id;
  for (auto& [topic, indexes] : by_topic(partitions)) {
    auto& entry = request.topics.emplace_back();
    entry.name = topic;
    for (auto index : indexes) entry.partitions.push_back({.partition_index = index});
  }
  auto response = co_await cluster_.send_to(coordinator, std::move(request));
  throw_group_error(response.error_code, std::nullopt);
  std::map<topic_partition, item_error> result;
  for (const auto& topic : response.topics) {
    for (const auto& partition : topic.partitions) {
      result[{topic.name, partition.partition_index}] = make_item_error(partition.error_code);
    }
  }
  for (const auto& tp : partitions) report_if_left_out(result, tp);
  co_return result;
}

}  // namespace sluice::kafka
