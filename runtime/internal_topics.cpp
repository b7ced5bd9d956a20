#include "runtime/internal_topics.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <set>
#include <stdexcept>

#include "kafka/admin/admin_client.hpp"

namespace sluice::runtime {
namespace {

// With three replicas or more, an acknowledged write must be on two of them (Kafka Streams'
// advice for exactly-once): with the broker's default of one, a leader that dies right after
// its followers fell behind takes records the app already built on with it. With the broker's
// default replication factor it is left alone: that may be 1, where 2 could never be met.
void require_two_in_sync(std::vector<kafka::new_topic>& topics, std::int16_t replication_factor) {
  if (replication_factor < 3) return;
  for (auto& topic : topics) topic.configs.emplace("min.insync.replicas", "2");
}

// What the cluster has of the wanted topics, in their order (an error for a missing one).
boost::asio::awaitable<std::vector<kafka::topic_description>> describe(
    kafka::admin_client& admin, const std::vector<kafka::new_topic>& wanted) {
  std::vector<std::string> names;
  names.reserve(wanted.size());
  for (const auto& t : wanted) names.push_back(t.name);
  co_return co_await admin.describe_topics(names);
}

// Every topic to create has the input's partition count.
boost::asio::awaitable<void> create_topics(kafka::admin_client& admin,
                                           const operators::topology& topology,
                                           std::vector<kafka::new_topic> to_create,
                                           std::int32_t partitions) {
  if (to_create.empty()) co_return;
  auto created = co_await admin.create_topics(to_create);
  for (const auto& result : created) {
    if (!result.error.ok() && result.error.code != kafka::error_code::topic_already_exists) {
      throw std::runtime_error("pipeline '" + topology.name + "': creating topic '" + result.name +
                               "' failed: " + result.error.message);
    }
    spdlog::info("{}: created topic {} ({} partitions)", topology.name, result.name, partitions);
  }
}

}  // namespace

boost::asio::awaitable<void> prepare_sink_topics(kafka::cluster& cluster,
                                                 const operators::topology& topology,
                                                 std::string cluster_name, std::int32_t partitions,
                                                 std::int16_t replication_factor) {
  kafka::admin_client admin(cluster);
  std::vector<kafka::new_topic> wanted;
  for (const auto* sink : topology.every_sink()) {
    if (sink->cluster != cluster_name) continue;
    for (const auto& topic : sink->written_topics())
      wanted.push_back({topic, partitions, replication_factor, {}, {}});
  }
  require_two_in_sync(wanted, replication_factor);
  auto existing = co_await describe(admin, wanted);
  std::vector<kafka::new_topic> to_create;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (!existing[i].error.ok()) to_create.push_back(wanted[i]);
  }
  co_await create_topics(admin, topology, std::move(to_create), partitions);
}

boost::asio::awaitable<std::int32_t> prepare_internal_topics(kafka::cluster& cluster,
                                                             const operators::topology& topology,
                                                             const operators::topology_plan& plan,
                                                             internal_topic_options options) {
  kafka::admin_client admin(cluster);
  std::vector<std::string> sources;
  for (const auto& source : topology.sources)
    sources.insert(sources.end(), source.topics.begin(), source.topics.end());
  for (const auto& table : topology.tables) sources.push_back(table.topic);
  for (const auto& stream : topology.streams) sources.push_back(stream.topic);
  auto described = co_await admin.describe_topics(sources);
  std::int32_t partitions = 0;
  std::vector<std::string> missing;
  std::map<std::string, std::int32_t> partitions_of;
  for (const auto& topic : described) {
    if (!topic.error.ok()) {
      missing.push_back(topic.name + " (" + topic.error.message + ")");
      continue;
    }
    partitions_of[topic.name] = static_cast<std::int32_t>(topic.partitions.size());
    partitions =
        std::max<std::int32_t>(partitions, static_cast<std::int32_t>(topic.partitions.size()));
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    throw std::runtime_error("pipeline '" + topology.name + "': source topic(s) missing: " + list +
                             "; create them first (sluice topics create)");
  }

  // A join reads partition N of the stream and of the table (or the other stream) in one task:
  // both must have the same partition count, or keys would meet the wrong partition
  // (co-partitioning).
  auto check_co_partitioned = [&](const std::string& what, const std::string& joined) {
    for (const auto& [topic, count] : partitions_of) {
      if (topic == joined || count == partitions_of[joined]) continue;
      throw std::runtime_error(
          "pipeline '" + topology.name + "': " + what + " (topic '" + joined + "', " +
          std::to_string(partitions_of[joined]) + " partitions) is joined with topic '" + topic +
          "' (" + std::to_string(count) +
          " partitions): a join needs both topics to have the same number of partitions, "
          "keyed alike (co-partitioned); repartition one of them first");
    }
  };
  for (const auto& table : topology.tables)
    check_co_partitioned("table '" + table.name + "'", table.topic);
  for (const auto& stream : topology.streams)
    check_co_partitioned("stream '" + stream.name + "'", stream.topic);

  // Internal topics get the source's partition count: task N of every sub-topology reads
  // partition N of its input and writes partition N of its changelogs.
  std::vector<kafka::new_topic> wanted;
  // Repartition topics keep their records until the downstream task has read them (Kafka
  // Streams' retention.ms=-1): records keep their event time, and a replay of old data would
  // otherwise be deleted by time retention before it was processed.
  for (const auto& topic : plan.repartition_topics) {
    wanted.push_back({topic, partitions, options.replication_factor, {{"retention.ms", "-1"}}, {}});
  }
  for (const auto& sub : plan.sub_topologies) {
    for (const auto& store : sub.stores) {
      if (!store.changelogged()) continue;  // restored from a source topic, which is the user's
      std::map<std::string, std::string> configs{{"cleanup.policy", "compact"}};
      if (store.kind != operators::store_kind::key_value) {
        // Windows older than the retention are useless after a restore; delete them with it.
        configs["cleanup.policy"] = "compact,delete";
        configs["retention.ms"] =
            std::to_string((store.retention + std::chrono::hours(24)).count());
      }
      wanted.push_back(
          {store.changelog_topic, partitions, options.replication_factor, configs, {}});
    }
  }
  // Output topics are created when missing, like the internal ones, with the input's partitions
  // (sinks on other clusters by prepare_sink_topics).
  std::set<std::string> outputs;
  for (const auto* sink : topology.every_sink()) {
    if (sink->cluster != topology.home_cluster()) continue;
    for (const auto& topic : sink->written_topics()) outputs.insert(topic);
  }
  for (const auto* window : topology.windowed_aggregations()) {
    if (window->late == operators::late_policy::side_topic) outputs.insert(window->late_topic);
  }
  if (!options.dead_letter_topic.empty()) outputs.insert(options.dead_letter_topic);
  for (const auto& topic : outputs)
    wanted.push_back({topic, partitions, options.replication_factor, {}, {}});

  require_two_in_sync(wanted, options.replication_factor);
  auto existing = co_await describe(admin, wanted);
  std::vector<kafka::new_topic> to_create;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    const auto& found = existing[i];
    if (!found.error.ok()) {
      to_create.push_back(wanted[i]);
      continue;
    }
    const bool internal = i < wanted.size() - outputs.size();
    if (internal && static_cast<std::int32_t>(found.partitions.size()) != partitions) {
      throw std::runtime_error(
          "pipeline '" + topology.name + "': internal topic '" + found.name + "' has " +
          std::to_string(found.partitions.size()) + " partitions but the input has " +
          std::to_string(partitions) +
          "; delete it (sluice reset) or give the input the same partition count");
    }
  }
  co_await create_topics(admin, topology, std::move(to_create), partitions);
  co_return partitions;
}

}  // namespace sluice::runtime
