// The admin client against the real broker that scripts/kafka starts: every call, with the
// broker's own answers (no mocks). Records are produced with a raw ProduceRequest (explicit
// timestamps, so that timestamp queries have known answers); groups are made with raw
// OffsetCommit / JoinGroup / SyncGroup requests, as a consumer would.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "kafka/admin/admin_client.hpp"
#include "kafka/admin/consumer_protocol.hpp"
#include "kafka/protocol/messages/consumer_group_heartbeat.hpp"
#include "kafka/protocol/messages/join_group.hpp"
#include "kafka/protocol/messages/leave_group.hpp"
#include "kafka/protocol/messages/offset_commit.hpp"
#include "kafka/protocol/messages/produce.hpp"
#include "kafka/protocol/messages/sync_group.hpp"
#include "kafka/records/record_batch_builder.hpp"
#include "tests/support/run_coroutine.hpp"
#include "tests/support/test_cluster.hpp"

namespace sluice::kafka {
namespace {

namespace asio = boost::asio;
using sluice::test::run_coroutine;
using sluice::test::unique_topic;

client_config test_config() {
  client_config config;
  config.bootstrap_servers = parse_bootstrap_servers(test::bootstrap_servers());
  config.client_id = "sluice-admin-it";
  return config;
}

admin_options test_options() {
  return {std::chrono::seconds(60)};
}

// (Built outside the coroutines: GCC 12 mishandles braced lists of string literals in a coroutine.)
std::vector<config_alteration> set_config(std::string name, std::string value) {
  return {config_alteration{std::move(name), alter_config_op::set, std::move(value)}};
}
std::vector<config_alteration> remove_config(std::string name) {
  return {config_alteration{std::move(name), alter_config_op::remove, std::nullopt}};
}
std::map<std::string, std::string> compacted_topic_configs() {
  return {{"cleanup.policy", "compact"}, {"retention.ms", "123456"}};
}
std::vector<config_alteration> topic_alterations() {
  return {{"retention.ms", alter_config_op::set, "654321"},
          {"cleanup.policy", alter_config_op::remove, std::nullopt},
          {"max.message.bytes", alter_config_op::set, "2000000"}};
}
std::vector<new_topic> mixed_topics(const std::string& existing, const std::string& fresh,
                                    const std::string& bad) {
  std::vector<new_topic> topics(3);
  topics[0] = {.name = existing, .partitions = 1, .replication_factor = 1};
  topics[1] = {.name = fresh, .partitions = 1, .replication_factor = 1};
  topics[2] = {
      .name = bad, .partitions = 1, .replication_factor = 1, .configs = {{"no.such.config", "1"}}};
  return topics;
}

asio::awaitable<void> sleep_for(asio::any_io_executor executor,
                                std::chrono::milliseconds duration) {
  asio::steady_timer timer(executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<create_topic_result> create_topic(admin_client& admin, std::string name,
                                                  std::int32_t partitions,
                                                  std::map<std::string, std::string> configs = {}) {
  std::vector<new_topic> topics(1);
  topics[0].name = name;
  topics[0].partitions = partitions;
  topics[0].replication_factor = 1;
  topics[0].configs = std::move(configs);
  auto results = co_await admin.create_topics(std::move(topics));
  EXPECT_EQ(results.size(), 1u);
  results.at(0).error.throw_if_failed("create topic '" + name + "'");
  co_return results.at(0);
}

// Produces one batch of records with the given timestamps to partition 0 of the topic, straight
// to its leader, and returns the batch's base offset.
asio::awaitable<std::int64_t> produce(cluster& cluster, std::string topic_name,
                                      std::vector<std::int64_t> timestamps) {
  // A topic created a moment ago may not have a leader in every broker's metadata yet.
  const topic_info* topic = nullptr;
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::vector<std::string> wanted(1, topic_name);
    co_await cluster.refresh_metadata(std::move(wanted));
    topic = cluster.metadata().topic(topic_name);
    if (topic != nullptr && !topic->partitions.empty() && topic->partitions.front().leader >= 0)
      break;
    co_await sleep_for(cluster.executor(), std::chrono::milliseconds(100));
  }
  EXPECT_NE(topic, nullptr);
  if (topic == nullptr) co_return -1;
  records::record_batch_builder batch;
  for (std::size_t i = 0; i < timestamps.size(); ++i) {
    const std::string value = "record-" + std::to_string(i);
    auto bytes = std::as_bytes(std::span(value));
    batch.append(timestamps[i], std::nullopt, bytes);
  }
  const auto records = batch.build();
  // The new partition's leader may not have loaded it yet: NOT_LEADER_OR_FOLLOWER for a moment.
  for (int attempt = 0;; ++attempt) {
    protocol::produce_request request;
    request.acks = -1;
    request.timeout_ms = 30'000;
    auto& data = request.topic_data.emplace_back();
    data.name = topic_name;
    data.topic_id = topic->id;  // Produce v13 names topics by id (KIP-516)
    data.partition_data.push_back({.index = 0, .records = records});
    auto response =
        co_await cluster.send_to(node_id{topic->partitions.front().leader}, std::move(request));
    EXPECT_EQ(response.responses.size(), 1u);
    const auto& partition = response.responses.at(0).partition_responses.at(0);
    const auto code = static_cast<error_code>(partition.error_code);
    if (code != error_code::none && is_retriable(code) && attempt < 100) {
      co_await sleep_for(cluster.executor(), std::chrono::milliseconds(100));
      continue;
    }
    EXPECT_EQ(code, error_code::none) << error_name(code);
    co_return partition.base_offset;
  }
}

// FindCoordinator, retried while a fresh cluster is still creating __consumer_offsets
// (COORDINATOR_NOT_AVAILABLE) as any client would.
asio::awaitable<node_id> find_group_coordinator(cluster& cluster, std::string group) {
  for (int attempt = 0;; ++attempt) {
    bool retriable = false;
    try {
      co_return co_await cluster.find_coordinator(coordinator_type::group, group);
    } catch (const kafka_error& e) {
      if (!e.retriable() || attempt >= 200) throw;
      retriable = true;
    }
    if (retriable) co_await sleep_for(cluster.executor(), std::chrono::milliseconds(100));
  }
}

// Commits offsets from outside any generation: the coordinator creates an empty group for them.
asio::awaitable<void> commit_raw(cluster& cluster, std::string group, std::string topic,
                                 std::vector<std::pair<std::int32_t, std::int64_t>> offsets) {
  // The group coordinator of a fresh cluster may still be loading __consumer_offsets.
  for (int attempt = 0;; ++attempt) {
    const auto coordinator = co_await find_group_coordinator(cluster, group);
    auto target = co_await cluster.connection_to(coordinator);
    protocol::offset_commit_request request;
    request.group_id = group;
    request.generation_id_or_member_epoch = -1;
    auto& entry = request.topics.emplace_back();
    entry.name = topic;
    for (auto [partition, offset] : offsets) {
      entry.partitions.push_back({.partition_index = partition, .committed_offset = offset});
    }
    const auto version =
        std::min<std::int16_t>(target->required_version(protocol::api_key::offset_commit), 9);
    auto response = co_await target->send(std::move(request), version);
    error_code code = error_code::none;
    for (const auto& t : response.topics) {
      for (const auto& p : t.partitions) {
        if (p.error_code != 0) code = static_cast<error_code>(p.error_code);
      }
    }
    if (code != error_code::none && is_retriable(code) && attempt < 100) {
      co_await sleep_for(cluster.executor(), std::chrono::milliseconds(100));
      continue;
    }
    EXPECT_EQ(code, error_code::none) << error_name(code);
    co_return;
  }
}

template <typename Body>
void with_admin(Body body) {
  run_coroutine([&](asio::any_io_executor executor) { return body(executor); },
                std::chrono::seconds(180));
}

// ---- cluster ---------------------------------------------------------------------------------

asio::awaitable<void> describe_cluster_body(asio::any_io_executor executor) {
  cluster kafka(executor, test_config());
  admin_client admin(kafka, test_options());
  co_await admin.start();
  auto description = co_await admin.describe_cluster();
  EXPECT_FALSE(description.cluster_id.empty());
  EXPECT_FALSE(description.brokers.empty());
  EXPECT_TRUE(std::any_of(description.brokers.begin(), description.brokers.end(),
                          [&](const auto& b) { return b.node_id == description.controller_id; }))
      << "controller " << description.controller_id << " is not among the brokers";
  for (const auto& broker : description.brokers) {
    EXPECT_FALSE(broker.host.empty());
    EXPECT_GT(broker.port, 0);
  }

  auto versions = co_await admin.api_versions(node_id{description.brokers.front().node_id});
  EXPECT_EQ(versions.node_id, description.brokers.front().node_id);
  auto metadata = std::find_if(versions.apis.begin(), versions.apis.end(),
                               [](const auto& a) { return a.name == "Metadata"; });
  EXPECT_NE(metadata, versions.apis.end());
  if (metadata != versions.apis.end()) {
    EXPECT_TRUE(metadata->negotiated.has_value());
    if (!(metadata->negotiated.has_value())) co_return;
    EXPECT_EQ(*metadata->negotiated, std::min(metadata->broker_max, *metadata->sluice_max));
    EXPECT_LE(metadata->broker_min, *metadata->negotiated);
  }
  kafka.close();
}

TEST(admin_client, describes_the_cluster_and_its_api_versions) {
  with_admin(describe_cluster_body);
}

// ---- topics and configs ----------------------------------------------------------------------

asio::awaitable<void> create_with_configs_body(asio::any_io_executor executor) {
  cluster kafka(executor, test_config());
  admin_client admin(kafka, test_options());
  co_await admin.start();
  const auto name = unique_topic("admin-configs");
  auto created = co_await create_topic(admin, name, 2, compacted_topic_configs());
  EXPECT_FALSE(created.id.is_zero());
  EXPECT_EQ(created.partitions, 2);
  EXPECT_EQ(created.replication_factor, 1);

  std::vector<config_resource> resources{{config_resource_type::topic, name}};
  auto described = co_await admin.describe_configs(resources);
  EXPECT_EQ(described.size(), 1u);
  EXPECT_TRUE(described.at(0).error.ok()) << described.at(0).error.message;
  const auto* policy = described.at(0).find("cleanup.policy");
  EXPECT_NE(policy, nullptr);
  if (policy != nullptr) {
    EXPECT_EQ(policy->value, "compact");
    EXPECT_EQ(policy->source, config_source::dynamic_topic_config);
  }
  const auto* retention = described.at(0).find("retention.ms");
  EXPECT_NE(retention, nullptr);
  if (retention != nullptr) {
    EXPECT_EQ(retention->value, "123456");
  }
  const auto* segment = described.at(0).find("segment.bytes");
  EXPECT_NE(segment, nullptr);
  if (segment != nullptr) {
    // Inherited, not set on the topic (the broker's default or its server.properties).
    EXPECT_NE(segment->source, config_source::dynamic_topic_config);
  }

  // Alter: set one, remove another (back to its default), append to a list.
  std::map<config_resource, std::vector<config_alteration>> changes;
  changes[{config_resource_type::topic, name}] = topic_alterations();
  auto altered = co_await admin.incremental_alter_configs(changes);
  EXPECT_EQ(altered.size(), 1u);
  EXPECT_TRUE(altered.at(0).error.ok()) << altered.at(0).error.message;

  // A broker propagates config changes through the metadata log; poll until it shows them.
  const config_entry* new_retention = nullptr;
  std::vector<config_description> after;
  for (int attempt = 0; attempt < 50; ++attempt) {
    after = co_await admin.describe_configs(resources);
    new_retention = after.at(0).find("retention.ms");
    if (new_retention != nullptr && new_retention->value == "654321") break;
    co_await sleep_for(executor, std::chrono::milliseconds(100));
  }
  EXPECT_NE(new_retention, nullptr);
  if (!((new_retention) != (nullptr))) co_return;
  EXPECT_EQ(new_retention->value, "654321");
  EXPECT_EQ(after.at(0).find("max.message.bytes")->value, "2000000");
  EXPECT_EQ(after.at(0).find("cleanup.policy")->value, "delete");
  EXPECT_TRUE(after.at(0).find("cleanup.policy")->is_default());

  // validate_only checks a change without applying it; a bad value is reported on the item.
  std::map<config_resource, std::vector<config_alteration>> bad;
  bad[{config_resource_type::topic, name}] = set_config("retention.ms", "not-a-number");
  auto rejected = co_await admin.incremental_alter_configs(bad, true);
  EXPECT_EQ(rejected.at(0).error.code, error_code::invalid_config);
  EXPECT_FALSE(rejected.at(0).error.message.empty());
  kafka.close();
}

TEST(admin_client, create_with_configs_then_describe_and_alter_them) {
  with_admin(create_with_configs_body);
}

asio::awaitable<void> broker_configs_body(asio::any_io_executor executor) {
  cluster kafka(executor, test_config());
  admin_client admin(kafka, test_options());
  co_await admin.start();
  auto description = co_await admin.describe_cluster();
  const auto node = std::to_string(description.brokers.front().node_id);
  std::vector<config_resource> resources{{config_resource_type::broker, node}};
  auto described = co_await admin.describe_configs(resources);
  EXPECT_TRUE(described.at(0).error.ok()) << described.at(0).error.message;
  const auto* replicas = described.at(0).find("offsets.topic.replication.factor");
  EXPECT_NE(replicas, nullptr);
  if (!((replicas) != (nullptr))) co_return;
  EXPECT_TRUE(replicas->value.has_value());
  EXPECT_GT(described.at(0).entries.size(), 50u);

  // A broker config that can change at runtime (KIP-226), on this broker only.
  std::map<config_resource, std::vector<config_alteration>> changes;
  changes[{config_resource_type::broker, node}] = set_config("log.cleaner.threads", "2");
  auto altered = co_await admin.incremental_alter_configs(changes);
  EXPECT_TRUE(altered.at(0).error.ok()) << altered.at(0).error.message;
  const config_entry* threads = nullptr;
  for (int attempt = 0; attempt < 50; ++attempt) {
    described = co_await admin.describe_configs(resources);
    threads = described.at(0).find("log.cleaner.threads");
    if (threads != nullptr && threads->value == "2") break;
    co_await sleep_for(executor, std::chrono::milliseconds(100));
  }
  EXPECT_NE(threads, nullptr);
  if (!((threads) != (nullptr))) co_return;
  EXPECT_EQ(threads->value, "2");
  EXPECT_EQ(threads->source, config_source::dynamic_broker_config);
  changes[{config_resource_type::broker, node}] = remove_config("log.cleaner.threads");
  altered = co_await admin.incremental_alter_configs(changes);
  EXPECT_TRUE(altered.at(0).error.ok()) << altered.at(0).error.message;
  kafka.close();
}

TEST(admin_client, describes_and_alters_broker_configs) {
  with_admin(broker_configs_body);
}

asio::awaitable<void> per_item_errors_body(asio::any_io_executor executor) {
  cluster kafka(executor, test_config());
  admin_client admin(kafka, test_options());
  co_await admin.start();
  const auto existing = unique_topic("admin-exists");
  const auto fresh = unique_topic("admin-fresh");
  co_await create_topic(admin, existing, 1);

  auto topics = mixed_topics(existing, fresh, unique_topic("admin-bad-config"));
  auto results = co_await admin.create_topics(topics);
  EXPECT_EQ(results.size(), 3u);
  if (!((results.size()) == (3u))) co_return;
  EXPECT_EQ(results[0].name, existing);
  EXPECT_EQ(results[0].error.code, error_code::topic_already_exists);
  EXPECT_FALSE(results[0].error.message.empty());
  EXPECT_TRUE(results[1].error.ok()) << results[1].error.message;
  EXPECT_EQ(results[2].error.code, error_code::invalid_config);
  EXPECT_THROW(results[0].error.throw_if_failed("create topic"), kafka_error);

  // validate_only creates nothing.
  const auto validated = unique_topic("admin-validate");
  std::vector<new_topic> only_check(1);
  only_check[0] = {.name = validated, .partitions = 4, .replication_factor = 1};
  auto checked = co_await admin.create_topics(only_check, true);
  EXPECT_TRUE(checked.at(0).error.ok()) << checked.at(0).error.message;
  EXPECT_EQ(checked.at(0).partitions, 4);
  auto listed = co_await admin.list_topics();
  EXPECT_TRUE(std::none_of(listed.begin(), listed.end(),
                           [&](const auto& t) { return t.name == validated; }));

  // Describing an unknown topic reports it on that item only.
  std::vector<std::string> names{fresh, "sluice-no-such-topic-" + fresh};
  auto described = co_await admin.describe_topics(names);
  EXPECT_EQ(described.size(), 2u);
  if (!((described.size()) == (2u))) co_return;
  EXPECT_TRUE(described[0].error.ok()) << described[0].error.message;
  EXPECT_EQ(described[1].error.code, error_code::unknown_topic_or_partition);
  kafka.close();
}

TEST(admin_client, reports_per_topic_errors_without_failing_the_rest) {
  with_admin(per_item_errors_body);
}

asio::awaitable<void> partitions_and_delete_body(asio::any_io_executor executor) {
  cluster kafka(executor, test_config());
  admin_client admin(kafka, test_options());
  co_await admin.start();
  const auto name = unique_topic("admin-grow");
  co_await create_topic(admin, name, 1);

  std::map<std::string, std::int32_t> grow{{name, 3}};
  auto grown = co_await admin.create_partitions(grow);
  EXPECT_EQ(grown.size(), 1u);
  if (!((grown.size()) == (1u))) co_return;
  EXPECT_TRUE(grown[0].error.ok()) << grown[0].error.message;
  // Shrinking is not allowed: reported on the item.
  std::map<std::string, std::int32_t> shrink{{name, 2}};
  auto shrunk = co_await admin.create_partitions(shrink);
  EXPECT_EQ(shrunk.at(0).error.code, error_code::invalid_partitions);

  std::vector<topic_description> described;
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::vector<std::string> names(1, name);
    described = co_await admin.describe_topics(names);
    if (described.at(0).partitions.size() == 3 &&
        std::all_of(described[0].partitions.begin(), described[0].partitions.end(),
                    [](const auto& p) { return p.leader >= 0; })) {
      break;
    }
    co_await sleep_for(executor, std::chrono::milliseconds(100));
  }
  EXPECT_EQ(described.at(0).partitions.size(), 3u);
  if (!((described.at(0).partitions.size()) == (3u))) co_return;
  for (std::int32_t i = 0; i < 3; ++i) {
    const auto& partition = described[0].partitions[static_cast<std::size_t>(i)];
    EXPECT_EQ(partition.partition, i);
    EXPECT_GE(partition.leader, 0);
    EXPECT_EQ(partition.replicas.size(), 1u);
    EXPECT_EQ(partition.in_sync_replicas, partition.replicas);
  }

  auto listed = co_await admin.list_topics();
  auto it =
      std::find_if(listed.begin(), listed.end(), [&](const auto& t) { return t.name == name; });
  EXPECT_NE(it, listed.end());
  if (!((it) != (listed.end()))) co_return;
  EXPECT_EQ(it->partitions, 3);
  EXPECT_FALSE(it->internal);
  EXPECT_TRUE(std::none_of(listed.begin(), listed.end(), [](const auto& t) { return t.internal; }));

  std::vector<std::string> names(1, name);
  auto deleted = co_await admin.delete_topics(names);
  EXPECT_EQ(deleted.size(), 1u);
  if (!((deleted.size()) == (1u))) co_return;
  EXPECT_TRUE(deleted[0].error.ok()) << deleted[0].error.message;
  bool gone = false;
  for (int attempt = 0; attempt < 100 && !gone; ++attempt) {
    listed = co_await admin.list_topics();
    gone =
        std::none_of(listed.begin(), listed.end(), [&](const auto& t) { return t.name == name; });
    if (!gone) co_await sleep_for(executor, std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone);
  // Deleting it again is an answer, not something to retry until the timeout.
  auto again = co_await admin.delete_topics(names);
  EXPECT_EQ(again.at(0).error.code, error_code::unknown_topic_or_partition);
  kafka.close();
}

TEST(admin_client, creates_partitions_describes_and_deletes_a_topic) {
  with_admin(partitions_and_delete_body);
}

// ---- offsets and records ---------------------------------------------------------------------

asio::awaitable<void> offsets_body(asio::any_io_executor executor) {
  cluster kafka(executor, test_config());
  admin_client admin(kafka, test_options());
  co_await admin.start();
  const auto name = unique_topic("admin-offsets");
  co_await create_topic(admin, name, 1);
  // Timestamps out of order, so that max-timestamp's answer differs from latest's.
  const std::int64_t base = 1'700'000'000'000;
  std::vector<std::int64_t> timestamps{base + 10, base + 50, base + 20, base + 30, base + 40};
  const auto first = co_await produce(kafka, name, std::move(timestamps));
  EXPECT_EQ(first, 0);

  const topic_partition tp{name, 0};
  std::map<topic_partition, offset_spec> specs{{tp, offset_spec::earliest()}};
  auto earliest = co_await admin.list_offsets(specs);
  EXPECT_TRUE(earliest.at(tp).error.ok()) << earliest.at(tp).error.message;
  EXPECT_EQ(earliest.at(tp).offset, 0);
  specs[tp] = offset_spec::latest();
  auto latest = co_await admin.list_offsets(specs);
  EXPECT_EQ(latest.at(tp).offset, 5);
  specs[tp] = offset_spec::at(base + 25);  // the first record with a timestamp >= base+25: offset 1
  auto by_time = co_await admin.list_offsets(specs);
  EXPECT_EQ(by_time.at(tp).offset, 1);
  EXPECT_EQ(by_time.at(tp).timestamp, base + 50);
  specs[tp] = offset_spec::at(base + 1'000'000);  // after every record: no offset
  auto after = co_await admin.list_offsets(specs);
  EXPECT_EQ(after.at(tp).offset, -1);
  specs[tp] = offset_spec::max_timestamp();
  auto max = co_await admin.list_offsets(specs, isolation_level::read_committed);
  EXPECT_EQ(max.at(tp).offset, 1);
  EXPECT_EQ(max.at(tp).timestamp, base + 50);

  // Unknown partitions are reported on their item.
  const topic_partition missing{name, 7};
  std::map<topic_partition, offset_spec> mixed{{tp, offset_spec::latest()},
                                               {missing, offset_spec::latest()}};
  auto answers = co_await admin.list_offsets(mixed);
  EXPECT_EQ(answers.at(tp).offset, 5);
  EXPECT_EQ(answers.at(missing).error.code, error_code::unknown_topic_or_partition);

  // Delete the first three records: the earliest offset moves to 3.
  std::map<topic_partition, log_offset> before{{tp, log_offset{3}}};
  auto deleted = co_await admin.delete_records(before);
  EXPECT_TRUE(deleted.at(tp).error.ok()) << deleted.at(tp).error.message;
  EXPECT_EQ(deleted.at(tp).low_watermark, 3);
  specs[tp] = offset_spec::earliest();
  earliest = co_await admin.list_offsets(specs);
  EXPECT_EQ(earliest.at(tp).offset, 3);
  // Beyond the high watermark is an error on the item.
  before[tp] = log_offset{100};
  deleted = co_await admin.delete_records(before);
  EXPECT_EQ(deleted.at(tp).error.code, error_code::offset_out_of_range);
  kafka.close();
}

TEST(admin_client, lists_offsets_and_deletes_records) {
  with_admin(offsets_body);
}

// ---- groups ----------------------------------------------------------------------------------

asio::awaitable<void> empty_group_body(asio::any_io_executor executor) {
  cluster kafka(executor, test_config());
  admin_client admin(kafka, test_options());
  co_await admin.start();
  const auto name = unique_topic("admin-group-topic");
  const auto group = unique_topic("admin-group");
  co_await create_topic(admin, name, 2);
  std::vector<std::int64_t> timestamps{1, 2, 3, 4};
  co_await produce(kafka, name, std::move(timestamps));
  std::vector<std::pair<std::int32_t, std::int64_t>> committed{{0, 2}, {1, 0}};
  co_await commit_raw(kafka, group, name, std::move(committed));

  auto groups = co_await admin.list_groups();
  auto listed = std::find_if(groups.begin(), groups.end(),
                             [&](const auto& g) { return g.group_id == group; });
  EXPECT_NE(listed, groups.end());
  if (!((listed) != (groups.end()))) co_return;
  EXPECT_EQ(listed->state, "Empty");

  std::vector<std::string> ids(1, group);
  auto described = co_await admin.describe_groups(ids);
  EXPECT_EQ(described.size(), 1u);
  if (!((described.size()) == (1u))) co_return;
  EXPECT_TRUE(described[0].error.ok()) << described[0].error.message;
  EXPECT_EQ(described[0].state, "Empty");
  EXPECT_TRUE(described[0].members.empty());
  EXPECT_GE(described[0].coordinator_id, 0);

  auto offsets = co_await admin.list_group_offsets(group, std::nullopt);
  EXPECT_EQ(offsets.size(), 2u);
  if (!((offsets.size()) == (2u))) co_return;
  EXPECT_EQ(offsets.at({name, 0}).offset, 2);
  EXPECT_EQ(offsets.at({name, 1}).offset, 0);
  // Asking for a partition without a commit answers -1.
  std::vector<topic_partition> some{{name, 0}, {name, 5}};
  auto chosen = co_await admin.list_group_offsets(group, some);
  EXPECT_EQ(chosen.at({name, 0}).offset, 2);
  EXPECT_EQ(chosen.at({name, 5}).offset, -1);

  std::map<topic_partition, log_offset> reset{{{name, 0}, log_offset{4}},
                                              {{name, 1}, log_offset{0}}};
  auto altered = co_await admin.alter_group_offsets(group, reset);
  for (const auto& [tp, error] : altered)
    EXPECT_TRUE(error.ok()) << tp.to_string() << ": " << error.message;
  offsets = co_await admin.list_group_offsets(group, std::nullopt);
  EXPECT_EQ(offsets.at({name, 0}).offset, 4);

  std::vector<topic_partition> drop{{name, 1}};
  auto dropped = co_await admin.delete_group_offsets(group, drop);
  EXPECT_TRUE(dropped.at({name, 1}).ok()) << dropped.at({name, 1}).message;
  offsets = co_await admin.list_group_offsets(group, std::nullopt);
  EXPECT_EQ(offsets.size(), 1u);
  EXPECT_TRUE(offsets.contains({name, 0}));

  auto deleted = co_await admin.delete_groups(ids);
  EXPECT_TRUE(deleted.at(0).error.ok()) << deleted.at(0).error.message;
  groups = co_await admin.list_groups();
  EXPECT_TRUE(std::none_of(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.group_id == group; }));
  // A second delete names the group in a per-item error.
  deleted = co_await admin.delete_groups(ids);
  EXPECT_EQ(deleted.at(0).error.code, error_code::group_id_not_found);
  kafka.close();
}

TEST(admin_client, lists_describes_alters_and_deletes_an_empty_group) {
  with_admin(empty_group_body);
}

// A classic consumer-group member made by hand (JoinGroup, SyncGroup), so that DescribeGroups has
// a member whose subscription and assignment the admin client decodes.
asio::awaitable<void> active_group_body(asio::any_io_executor executor) {
  cluster kafka(executor, test_config());
  admin_client admin(kafka, test_options());
  co_await admin.start();
  const auto name = unique_topic("admin-active-topic");
  const auto group = unique_topic("admin-active-group");
  co_await create_topic(admin, name, 2);

  auto coordinator = co_await find_group_coordinator(kafka, group);
  protocol::join_group_request join;
  join.group_id = group;
  join.session_timeout_ms = 30'000;
  join.rebalance_timeout_ms = 30'000;
  join.protocol_type = "consumer";
  join.protocols.push_back(
      {.name = "range",
       .metadata = consumer_protocol::encode_subscription(std::vector<std::string>(1, name), 1)});
  auto joined = co_await kafka.send_to(coordinator, join);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const auto code = static_cast<error_code>(joined.error_code);
    if (code == error_code::member_id_required) {
      // KIP-394: the first join of a member without an id is answered with one to join with.
      join.member_id = joined.member_id;
    } else if (code != error_code::none && is_retriable(code)) {
      // A fresh cluster's coordinator may still be loading __consumer_offsets.
      co_await sleep_for(executor, std::chrono::milliseconds(100));
      coordinator = co_await find_group_coordinator(kafka, group);
    } else {
      break;
    }
    joined = co_await kafka.send_to(coordinator, join);
  }
  EXPECT_EQ(joined.error_code, 0) << error_name(static_cast<error_code>(joined.error_code));
  if (!((joined.error_code) == (0))) co_return;
  EXPECT_EQ(joined.leader, joined.member_id);
  if (!((joined.leader) == (joined.member_id))) co_return;
  protocol::sync_group_request sync;
  sync.group_id = group;
  sync.generation_id = joined.generation_id;
  sync.member_id = joined.member_id;
  sync.protocol_type = "consumer";
  sync.protocol_name = "range";
  const std::vector<topic_partition> assignment{{name, 0}, {name, 1}};
  sync.assignments.push_back({.member_id = joined.member_id,
                              .assignment = consumer_protocol::encode_assignment(assignment, 1)});
  auto synced = co_await kafka.send_to(coordinator, sync);
  EXPECT_EQ(synced.error_code, 0) << error_name(static_cast<error_code>(synced.error_code));
  if (!((synced.error_code) == (0))) co_return;

  std::vector<std::string> ids(1, group);
  auto described = co_await admin.describe_groups(ids);
  EXPECT_EQ(described.size(), 1u);
  if (!((described.size()) == (1u))) co_return;
  EXPECT_EQ(described[0].state, "Stable");
  EXPECT_EQ(described[0].protocol_type, "consumer");
  EXPECT_EQ(described[0].protocol, "range");
  EXPECT_EQ(described[0].members.size(), 1u);
  if (!((described[0].members.size()) == (1u))) co_return;
  const auto& member = described[0].members[0];
  EXPECT_EQ(member.member_id, joined.member_id);
  EXPECT_EQ(member.client_id, "sluice-admin-it");
  EXPECT_EQ(member.subscribed_topics, std::vector<std::string>{name});
  EXPECT_EQ(member.assignment, assignment);

  // An active group refuses commits from outside its generation, per partition.
  std::map<topic_partition, log_offset> reset{{{name, 0}, log_offset{0}}};
  auto refused = co_await admin.alter_group_offsets(group, reset);
  EXPECT_FALSE(refused.at({name, 0}).ok());
  // And it cannot be deleted while it has members.
  auto not_deleted = co_await admin.delete_groups(ids);
  EXPECT_EQ(not_deleted.at(0).error.code, error_code::non_empty_group);

  protocol::leave_group_request leave;
  leave.group_id = group;
  leave.member_id = joined.member_id;
  leave.members.push_back({.member_id = joined.member_id});
  auto left = co_await kafka.send_to(coordinator, leave);
  EXPECT_EQ(left.error_code, 0);
  auto deleted = co_await admin.delete_groups(ids);
  EXPECT_TRUE(deleted.at(0).error.ok()) << deleted.at(0).error.message;
  kafka.close();
}

TEST(admin_client, describes_members_and_their_decoded_assignment) {
  with_admin(active_group_body);
}

// A KIP-848 consumer-group member made by hand (ConsumerGroupHeartbeat): the group is described
// through ConsumerGroupDescribe, with the assignment the coordinator computed.
asio::awaitable<void> consumer_protocol_group_body(asio::any_io_executor executor) {
  cluster kafka(executor, test_config());
  admin_client admin(kafka, test_options());
  co_await admin.start();
  const auto name = unique_topic("admin-848-topic");
  const auto group = unique_topic("admin-848-group");
  co_await create_topic(admin, name, 2);

  auto coordinator = co_await find_group_coordinator(kafka, group);
  protocol::consumer_group_heartbeat_request join;
  join.group_id = group;
  join.member_id = unique_topic("member");  // members choose their own id (KIP-1082)
  join.member_epoch = 0;
  join.rebalance_timeout_ms = 30'000;
  join.subscribed_topic_names.emplace(1, name);
  join.topic_partitions.emplace();
  auto joined = co_await kafka.send_to(coordinator, join);
  EXPECT_EQ(joined.error_code, 0) << error_name(static_cast<error_code>(joined.error_code)) << " "
                                  << joined.error_message.value_or("");
  if (joined.error_code != 0) co_return;
  // Heartbeat until the coordinator has assigned both partitions.
  std::size_t assigned = 0;
  for (int attempt = 0; attempt < 100 && assigned < 2; ++attempt) {
    if (joined.assignment) {
      assigned = 0;
      for (const auto& topic : joined.assignment->topic_partitions)
        assigned += topic.partitions.size();
    }
    if (assigned >= 2) break;
    co_await sleep_for(executor, std::chrono::milliseconds(100));
    protocol::consumer_group_heartbeat_request beat;
    beat.group_id = group;
    beat.member_id = join.member_id;
    beat.member_epoch = joined.member_epoch;
    joined = co_await kafka.send_to(coordinator, beat);
  }
  EXPECT_EQ(assigned, 2u);

  std::vector<std::string> ids(1, group);
  auto described = co_await admin.describe_groups(ids);
  EXPECT_EQ(described.size(), 1u);
  if (described.size() != 1u) co_return;
  EXPECT_TRUE(described[0].error.ok()) << described[0].error.message;
  EXPECT_EQ(described[0].type, "consumer");
  EXPECT_EQ(described[0].protocol_type, "consumer");
  EXPECT_FALSE(described[0].protocol.empty());  // the server-side assignor
  EXPECT_EQ(described[0].members.size(), 1u);
  if (described[0].members.size() != 1u) co_return;
  const auto& member = described[0].members[0];
  EXPECT_EQ(member.member_id, join.member_id);
  EXPECT_EQ(member.client_id, "sluice-admin-it");
  EXPECT_EQ(member.subscribed_topics, std::vector<std::string>{name});
  const std::vector<topic_partition> expected{{name, 0}, {name, 1}};
  EXPECT_EQ(member.assignment, expected);
  auto listed = co_await admin.list_groups();
  auto it = std::find_if(listed.begin(), listed.end(),
                         [&](const auto& g) { return g.group_id == group; });
  EXPECT_NE(it, listed.end());
  if (it != listed.end()) {
    EXPECT_EQ(it->type, "consumer");
  }

  // Leave (epoch -1), then the empty group can be deleted.
  protocol::consumer_group_heartbeat_request leave;
  leave.group_id = group;
  leave.member_id = join.member_id;
  leave.member_epoch = -1;
  auto left = co_await kafka.send_to(coordinator, leave);
  EXPECT_EQ(left.error_code, 0);
  auto deleted = co_await admin.delete_groups(ids);
  EXPECT_TRUE(deleted.at(0).error.ok()) << deleted.at(0).error.message;
  kafka.close();
}

TEST(admin_client, describes_a_consumer_protocol_group) {
  with_admin(consumer_protocol_group_body);
}

// ---- failures --------------------------------------------------------------------------------

asio::awaitable<void> unreachable_body(asio::any_io_executor executor) {
  client_config config;
  // A port nothing listens on: connection refused, retried until the API timeout.
  config.bootstrap_servers = parse_bootstrap_servers("127.0.0.1:1");
  cluster kafka(executor, config);
  admin_client admin(kafka, {std::chrono::milliseconds(1500)});
  try {
    co_await admin.start();
    ADD_FAILURE() << "start() succeeded against a closed port";
  } catch (const kafka_error& e) {
    EXPECT_TRUE(e.retriable());
    EXPECT_NE(std::string(e.what()).find("connect to the cluster"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:1"), std::string::npos) << e.what();
  }
}

TEST(admin_client, gives_up_on_an_unreachable_cluster_after_the_api_timeout) {
  with_admin(unreachable_body);
}

}  // namespace
}  // namespace sluice::kafka
