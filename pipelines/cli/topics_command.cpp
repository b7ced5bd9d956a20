// sluice topics create | list | describe | alter | delete
#include <algorithm>
#include <boost/json.hpp>

#include "pipelines/cli/command_runners.hpp"
#include "pipelines/cli/commands.hpp"
#include "pipelines/cli/table.hpp"

namespace sluice::cli {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr int ok = static_cast<int>(exit_status::ok);
constexpr int failed = static_cast<int>(exit_status::failed);

std::string join(const std::vector<std::int32_t>& values) {
  std::string out;
  for (auto value : values) out += (out.empty() ? "" : ",") + std::to_string(value);
  return out;
}

json::array to_json(const std::vector<std::int32_t>& values) {
  json::array out;
  for (auto value : values) out.push_back(value);
  return out;
}

}  // namespace

asio::awaitable<int> run_topics_create(kafka::admin_client* admin, topics_create_args args,
                                       printer print) {
  std::vector<kafka::new_topic> topics(1);
  topics[0].name = args.topic;
  topics[0].partitions = args.partitions;
  topics[0].replication_factor = args.replication_factor;
  topics[0].configs = args.configs;
  auto results = co_await admin->create_topics(std::move(topics), args.validate_only);
  const auto& result = results.at(0);
  const bool exists = result.error.code == kafka::error_code::topic_already_exists;
  if (!result.error.ok() && !(exists && args.if_not_exists)) {
    print.report("create topic '" + args.topic + "'", result.error);
    co_return failed;
  }
  if (print.json) {
    json::object o;
    o["topic"] = result.name;
    o["created"] = result.error.ok() && !args.validate_only;
    o["validate_only"] = args.validate_only;
    o["already_exists"] = exists;
    if (result.error.ok()) {
      o["id"] = args.validate_only ? json::value(nullptr) : json::value(format_uuid(result.id));
      o["partitions"] = result.partitions;
      o["replication_factor"] = result.replication_factor;
    }
    *print.out << json::serialize(o) << '\n';
  } else if (exists) {
    *print.out << "Topic " << args.topic << " already exists.\n";
  } else if (args.validate_only) {
    *print.out << "Topic " << args.topic << " would be created with " << result.partitions
               << " partitions and replication factor " << result.replication_factor
               << " (validated only, nothing created).\n";
  } else {
    *print.out << "Created topic " << args.topic << " (" << result.partitions
               << " partitions, replication factor " << result.replication_factor << ").\n";
  }
  co_return ok;
}

asio::awaitable<int> run_topics_list(kafka::admin_client* admin, topics_list_args args,
                                     printer print) {
  auto topics = co_await admin->list_topics(!args.exclude_internal);
  item_results results(print);
  for (const auto& topic : topics) {
    if (!results.json()) {
      results.text() << topic.name << '\n';
      continue;
    }
    json::object o;
    o["name"] = topic.name;
    o["id"] = format_uuid(topic.id);
    o["partitions"] = topic.partitions;
    o["internal"] = topic.internal;
    results.add(std::move(o));
  }
  co_return results.finish();
}

asio::awaitable<int> run_topics_describe(kafka::admin_client* admin, topics_describe_args args,
                                         printer print) {
  auto names = args.topics;
  if (names.empty()) {
    auto listed = co_await admin->list_topics(!args.exclude_internal);
    for (const auto& topic : listed) names.push_back(topic.name);
  }
  auto topics = co_await admin->describe_topics(names);
  std::vector<kafka::config_resource> resources;
  for (const auto& topic : topics) {
    if (topic.error.ok()) resources.push_back({kafka::config_resource_type::topic, topic.name});
  }
  auto configs = co_await admin->describe_configs(resources);
  // What kafka-topics --describe shows: the configs set on the topic itself.
  auto overrides = [&](const std::string& name) {
    std::vector<std::pair<std::string, std::string>> set;
    for (const auto& description : configs) {
      if (description.resource.name != name) continue;
      for (const auto& entry : description.entries) {
        if (entry.source == kafka::config_source::dynamic_topic_config) {
          set.emplace_back(entry.name, entry.sensitive ? "(sensitive)" : entry.value.value_or(""));
        }
      }
    }
    return set;
  };
  item_results results(print);
  for (const auto& topic : topics) {
    if (!topic.error.ok()) {
      results.failed("describe topic '" + topic.name + "'", topic.error);
      continue;
    }
    const auto replication =
        topic.partitions.empty() ? 0 : topic.partitions.front().replicas.size();
    if (results.json()) {
      json::object o;
      o["name"] = topic.name;
      o["id"] = format_uuid(topic.id);
      o["internal"] = topic.internal;
      o["replication_factor"] = replication;
      json::array partitions;
      for (const auto& p : topic.partitions) {
        json::object po;
        po["partition"] = p.partition;
        po["leader"] = p.leader;
        po["leader_epoch"] = p.leader_epoch;
        po["replicas"] = to_json(p.replicas);
        po["isr"] = to_json(p.in_sync_replicas);
        po["offline"] = to_json(p.offline_replicas);
        partitions.push_back(std::move(po));
      }
      o["partitions"] = std::move(partitions);
      json::object set;
      for (const auto& [key, value] : overrides(topic.name)) set[key] = value;
      o["configs"] = std::move(set);
      results.add(std::move(o));
      continue;
    }
    std::string set;
    for (const auto& [key, value] : overrides(topic.name))
      set += (set.empty() ? "" : ",") + key + "=" + value;
    auto& out = results.text();
    out << "Topic: " << topic.name << "\tTopicId: " << format_uuid(topic.id)
        << "\tPartitionCount: " << topic.partitions.size() << "\tReplicationFactor: " << replication
        << "\tConfigs: " << set << '\n';
    table partitions({"PARTITION", "LEADER", "REPLICAS", "ISR", "OFFLINE"});
    for (const auto& p : topic.partitions) {
      partitions.add({std::to_string(p.partition), p.leader < 0 ? "none" : std::to_string(p.leader),
                      join(p.replicas), join(p.in_sync_replicas),
                      p.offline_replicas.empty() ? "-" : join(p.offline_replicas)});
    }
    partitions.print(out);
    out << '\n';
  }
  co_return results.finish();
}

asio::awaitable<int> run_topics_delete(kafka::admin_client* admin, topics_delete_args args,
                                       printer print) {
  auto deleted = co_await admin->delete_topics(args.topics);
  item_results results(print);
  for (const auto& result : deleted) {
    const bool missing = result.error.code == kafka::error_code::unknown_topic_or_partition;
    if (!result.error.ok() && !(missing && args.if_exists)) {
      results.failed("delete topic '" + result.name + "'", result.error);
    } else if (results.json()) {
      json::object o;
      o["topic"] = result.name;
      o["deleted"] = result.error.ok();
      results.add(std::move(o));
    } else if (missing) {
      results.text() << "Topic " << result.name << " does not exist.\n";
    } else {
      results.text() << "Deleted topic " << result.name << ".\n";
    }
  }
  co_return results.finish();
}

asio::awaitable<int> run_topics_alter(kafka::admin_client* admin, topics_alter_args args,
                                      printer print) {
  int status = ok;
  json::object out;
  out["topic"] = args.topic;
  out["validate_only"] = args.validate_only;
  if (args.partitions) {
    std::map<std::string, std::int32_t> counts;
    counts[args.topic] = *args.partitions;
    auto results = co_await admin->create_partitions(std::move(counts), args.validate_only);
    const auto& result = results.at(0);
    if (!result.error.ok()) {
      print.report("add partitions to topic '" + args.topic + "'", result.error);
      status = failed;
    } else if (print.json) {
      out["partitions"] = *args.partitions;
    } else {
      *print.out << (args.validate_only ? "Topic " + args.topic + " could grow to "
                                        : "Topic " + args.topic + " now has ")
                 << *args.partitions << " partitions.\n";
    }
  }
  if (!args.set_configs.empty() || !args.delete_configs.empty()) {
    std::vector<kafka::config_alteration> alterations;
    for (const auto& [key, value] : args.set_configs) {
      alterations.push_back({key, kafka::alter_config_op::set, value});
    }
    for (const auto& key : args.delete_configs) {
      alterations.push_back({key, kafka::alter_config_op::remove, std::nullopt});
    }
    std::map<kafka::config_resource, std::vector<kafka::config_alteration>> changes;
    changes[{kafka::config_resource_type::topic, args.topic}] = std::move(alterations);
    auto results =
        co_await admin->incremental_alter_configs(std::move(changes), args.validate_only);
    const auto& result = results.at(0);
    if (!result.error.ok()) {
      print.report("alter the configs of topic '" + args.topic + "'", result.error);
      status = failed;
    } else if (print.json) {
      json::object set;
      for (const auto& [key, value] : args.set_configs) set[key] = value;
      out["set_configs"] = std::move(set);
      json::array deleted;
      for (const auto& key : args.delete_configs) deleted.push_back(json::value(key));
      out["deleted_configs"] = std::move(deleted);
    } else {
      *print.out << (args.validate_only ? "Config changes of topic " + args.topic +
                                              " are valid (nothing applied).\n"
                                        : "Updated the configs of topic " + args.topic + ".\n");
    }
  }
  if (print.json && status == ok) *print.out << json::serialize(out) << '\n';
  co_return status;
}

}  // namespace sluice::cli
