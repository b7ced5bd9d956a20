// The admin client: retry machinery, the cluster, topics and configs. Groups are in
// admin_client_groups.cpp, offsets and records in admin_client_offsets.cpp.
#include "kafka/admin/admin_client.hpp"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <set>
#include <stdexcept>

#include "kafka/admin/retry_policy.hpp"
#include "kafka/client/clock.hpp"
#include "kafka/protocol/messages/create_partitions.hpp"
#include "kafka/protocol/messages/create_topics.hpp"
#include "kafka/protocol/messages/delete_topics.hpp"
#include "kafka/protocol/messages/describe_cluster.hpp"
#include "kafka/protocol/messages/describe_configs.hpp"
#include "kafka/protocol/messages/incremental_alter_configs.hpp"
#include "kafka/protocol/messages/metadata.hpp"

namespace sluice::kafka {

namespace {

using protocol::api_key;

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "'" : ", '") + name + "'";
  return out;
}

item_error missing_from_response(const std::string& what) {
  return {error_code::unknown_server_error, "the broker's response left out " + what};
}

void reject_duplicates(const std::vector<std::string>& names, const char* what) {
  std::set<std::string> seen;
  for (const auto& name : names) {
    if (!seen.insert(name).second) {
      throw std::invalid_argument(std::string(what) + " '" + name + "' is named more than once");
    }
  }
}

// The broker a config resource's requests go to: a broker's own configs (and its loggers) are
// served by that broker; everything else by any broker (KRaft forwards writes, KIP-590).
std::optional<std::int32_t> config_target(const config_resource& resource) {
  if (resource.type != config_resource_type::broker &&
      resource.type != config_resource_type::broker_logger) {
    return std::nullopt;
  }
  if (resource.name.empty()) return std::nullopt;  // the cluster-wide broker default
  std::int32_t node = -1;
  const auto* end = resource.name.data() + resource.name.size();
  auto [ptr, ec] = std::from_chars(resource.name.data(), end, node);
  if (ec != std::errc() || ptr != end || node < 0) {
    throw std::invalid_argument("broker config resource '" + resource.name +
                                "' is not a broker id");
  }
  return node;
}

std::string describe_resource(const config_resource& resource) {
  return std::string(to_string(resource.type)) + " '" + resource.name + "'";
}

}  // namespace

admin_client::admin_client(cluster& cluster, admin_options options)
    : cluster_(cluster), options_(options) {}

std::int32_t admin_client::remaining_ms(clock::time_point until) const {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now()).count();
  return static_cast<std::int32_t>(
      std::clamp<std::int64_t>(left, 1, std::numeric_limits<std::int32_t>::max()));
}

asio::awaitable<void> admin_client::recover(std::exception_ptr failure, int attempt,
                                            clock::time_point until, std::string what,
                                            std::vector<std::string> topics) {
  std::optional<kafka_error> error;
  try {
    std::rethrow_exception(failure);
  } catch (const kafka_error& e) {
    error.emplace(e);
  }  // anything else (bad_alloc, invalid_argument) propagates as it is
  const auto handling = admin_retry::after_failure(*error);
  if (handling == admin_retry::handling::give_up) throw admin_retry::with_context(*error, what);
  const auto pause =
      admin_retry::backoff(cluster_.config().retry_backoff, options_.retry_backoff_max, attempt);
  if (clock::now() + pause >= until) {
    throw admin_retry::with_context(*error, what + " (gave up after " +
                                                std::to_string(options_.api_timeout.count()) +
                                                " ms of retries)");
  }
  co_await sleep_for(cluster_.executor(), pause);
  // (Not before the cluster ever started: there is no metadata to refresh, only the bootstrap
  // servers that the next attempt tries anyway.)
  if (handling == admin_retry::handling::refresh_metadata && !cluster_.metadata().brokers.empty()) {
    try {
      co_await cluster_.refresh_metadata(std::move(topics));
    } catch (const kafka_error&) {
      // The next attempt fails the same way and lands here again, until the deadline.
    }
  }
}

asio::awaitable<bool> admin_client::pause_before_retry(int attempt, clock::time_point until,
                                                       bool refresh_metadata,
                                                       std::vector<std::string> topics) {
  const auto pause =
      admin_retry::backoff(cluster_.config().retry_backoff, options_.retry_backoff_max, attempt);
  if (clock::now() + pause >= until) co_return false;
  co_await sleep_for(cluster_.executor(), pause);
  if (refresh_metadata) {
    try {
      co_await cluster_.refresh_metadata(std::move(topics));
    } catch (const kafka_error&) {
      // As in recover(): the retried request meets the same failure if it persists.
    }
  }
  co_return true;
}

asio::awaitable<std::shared_ptr<connection>> admin_client::connection_for(
    std::optional<std::int32_t> node_id) {
  // (An if, not `?:` between two co_awaits: GCC 12 destroys the temporaries of such a conditional
  // twice, which drops a reference to the connection.)
  if (node_id) co_return co_await cluster_.connection_to(kafka::node_id{*node_id});
  co_return co_await cluster_.any_connection();
}

asio::awaitable<void> admin_client::start() {
  co_return co_await retrying(deadline(), "connect to the cluster", &admin_client::start_attempt);
}

asio::awaitable<void> admin_client::start_attempt() {
  co_await cluster_.start();
  co_return;
}

// ---- cluster ---------------------------------------------------------------------------------

asio::awaitable<cluster_description> admin_client::describe_cluster() {
  co_return co_await retrying(deadline(), "describe the cluster",
                              &admin_client::describe_cluster_attempt);
}

asio::awaitable<cluster_description> admin_client::describe_cluster_attempt() {
  auto target = co_await cluster_.any_connection();
  cluster_description result;
  if (target->negotiated_version(api_key::describe_cluster)) {
    auto response = co_await target->send(protocol::describe_cluster_request{});
    if (response.error_code != 0) {
      throw kafka_error(
          static_cast<error_code>(response.error_code),
          "describe the cluster" + (response.error_message ? ": " + *response.error_message : ""));
    }
    result.cluster_id = response.cluster_id;
    result.controller_id = response.controller_id;
    for (auto& broker : response.brokers) {
      result.brokers.push_back(
          {broker.broker_id, std::move(broker.host), broker.port, std::move(broker.rack)});
    }
  } else {
    // Brokers before 2.8 lack DescribeCluster (KIP-700); Metadata carries the same facts.
    const auto* metadata = co_await cluster_.refresh_metadata(std::vector<std::string>{});
    result.cluster_id = metadata->cluster_id;
    result.controller_id = metadata->controller_id;
    for (const auto& [id, broker] : metadata->brokers) result.brokers.push_back(broker);
  }
  std::sort(result.brokers.begin(), result.brokers.end(),
            [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
  co_return result;
}

asio::awaitable<broker_api_versions> admin_client::api_versions(std::optional<node_id> broker) {
  std::optional<std::int32_t> raw_node;
  if (broker) raw_node = broker->value();
  const std::string what = raw_node ? "read the API versions of broker " + std::to_string(*raw_node)
                                    : std::string("read the API versions of a broker");
  co_return co_await retrying(deadline(), what, &admin_client::api_versions_attempt, raw_node);
}

asio::awaitable<broker_api_versions> admin_client::api_versions_attempt(
    std::optional<std::int32_t> node_id) {
  auto target = co_await connection_for(node_id);
  broker_api_versions result;
  result.node_id = node_id.value_or(target->address().node_id);
  result.address = target->address().to_string();
  for (const auto& [key, range] : target->broker_versions()) {
    api_version_info info;
    info.api_key = key;
    info.name = protocol::to_string(static_cast<api_key>(key));
    info.broker_min = range.min_version;
    info.broker_max = range.max_version;
    if (const auto* ours = protocol::find_api(key)) {
      info.sluice_min = ours->min_version;
      info.sluice_max = ours->max_version;
      info.negotiated = target->negotiated_version(static_cast<api_key>(key));
    }
    result.apis.push_back(std::move(info));
  }
  co_return result;
}

// ---- topics ----------------------------------------------------------------------------------

asio::awaitable<std::vector<create_topic_result>> admin_client::create_topics(
    std::vector<new_topic> topics, bool validate_only) {
  std::vector<std::string> order;
  order.reserve(topics.size());
  for (const auto& topic : topics) order.push_back(topic.name);
  reject_duplicates(order, "topic");
  const auto until = deadline();
  std::map<std::string, create_topic_result> done;
  std::vector<new_topic> pending = std::move(topics);
  for (int attempt = 0; !pending.empty(); ++attempt) {
    std::vector<std::string> pending_names;
    pending_names.reserve(pending.size());
    for (const auto& topic : pending) pending_names.push_back(topic.name);
    std::exception_ptr failure;
    try {
      protocol::create_topics_request request;
      request.validate_only = validate_only;
      request.timeout_ms = remaining_ms(until);
      for (const auto& topic : pending) {
        auto& creatable = request.topics.emplace_back();
        creatable.name = topic.name;
        creatable.num_partitions = topic.partitions;
        creatable.replication_factor = topic.replication_factor;
        for (const auto& [partition, brokers] : topic.replica_assignment) {
          creatable.assignments.push_back({.partition_index = partition, .broker_ids = brokers});
        }
        for (const auto& [name, value] : topic.configs)
          creatable.configs.push_back({.name = name, .value = value});
      }
      auto response = co_await cluster_.send_to_controller(std::move(request));
      std::vector<new_topic> retry;
      bool refresh = false;
      for (auto& answer : response.topics) {
        auto it = std::find_if(pending.begin(), pending.end(),
                               [&](const auto& t) { return t.name == answer.name; });
        if (it == pending.end()) continue;
        create_topic_result result;
        result.name = answer.name;
        result.id = answer.topic_id;
        result.error = make_item_error(answer.error_code, answer.error_message);
        result.partitions = answer.num_partitions;
        result.replication_factor = answer.replication_factor;
        if (answer.configs) {
          for (auto& config : *answer.configs) {
            result.configs.push_back({std::move(config.name), std::move(config.value),
                                      static_cast<config_source>(config.config_source),
                                      config.read_only, config.is_sensitive});
          }
        }
        if (admin_retry::retry_item(result.error.code, false)) {
          refresh = refresh || admin_retry::item_needs_metadata(result.error.code);
          retry.push_back(std::move(*it));
        }
        done[result.name] = std::move(result);
        pending.erase(it);
      }
      for (auto& left : pending)
        done[left.name] = {left.name, {}, missing_from_response("topic '" + left.name + "'")};
      pending = std::move(retry);
      if (!pending.empty() && !co_await pause_before_retry(attempt, until, refresh, {})) break;
      continue;
    } catch (...) {
      failure = std::current_exception();
    }
    co_await recover(failure, attempt, until, "create topic " + quoted_list(pending_names), {});
  }
  std::vector<create_topic_result> results;
  std::vector<std::string> created;
  for (const auto& name : order) {
    if (!validate_only && done[name].error.ok()) created.push_back(name);
    results.push_back(std::move(done[name]));
  }
  if (!created.empty()) co_await wait_until_visible(std::move(created), until);
  co_return results;
}

asio::awaitable<void> admin_client::wait_until_visible(std::vector<std::string> names,
                                                       clock::time_point until) {
  for (int attempt = 0;; ++attempt) {
    try {
      protocol::metadata_request request;
      request.allow_auto_topic_creation = false;
      auto& wanted = request.topics.emplace();
      for (const auto& name : names) wanted.push_back({.name = name});
      auto response = co_await cluster_.send_to_any(std::move(request));
      const bool visible =
          response.topics.size() == names.size() &&
          std::all_of(response.topics.begin(), response.topics.end(), [](const auto& topic) {
            return topic.error_code == 0 &&
                   std::all_of(topic.partitions.begin(), topic.partitions.end(),
                               [](const auto& p) { return p.leader_id >= 0; });
          });
      if (visible) co_return;
    } catch (const kafka_error&) {
      // The topics were created; failing to see them is not worth an error.
      co_return;
    }
    if (!co_await pause_before_retry(attempt, until, false, {})) co_return;
  }
}

asio::awaitable<std::vector<topic_result>> admin_client::delete_topics(
    std::vector<std::string> names) {
  reject_duplicates(names, "topic");
  const auto until = deadline();
  std::map<std::string, topic_result> done;
  std::vector<std::string> pending = names;
  for (int attempt = 0; !pending.empty(); ++attempt) {
    std::exception_ptr failure;
    try {
      protocol::delete_topics_request request;
      request.timeout_ms = remaining_ms(until);
      // v6 names topics in `topics` (by name or id, KIP-516), older versions in `topic_names`; the
      // encoder writes the one the negotiated version has.
      request.topic_names = pending;
      for (const auto& name : pending) request.topics.push_back({.name = name});
      auto response = co_await cluster_.send_to_controller(std::move(request));
      std::vector<std::string> retry;
      bool refresh = false;
      for (auto& answer : response.responses) {
        if (!answer.name) continue;
        auto it = std::find(pending.begin(), pending.end(), *answer.name);
        if (it == pending.end()) continue;
        topic_result result{*answer.name, make_item_error(answer.error_code, answer.error_message)};
        if (admin_retry::retry_item(result.error.code, true)) {
          refresh = refresh || admin_retry::item_needs_metadata(result.error.code);
          retry.push_back(*it);
        }
        done[result.name] = std::move(result);
        pending.erase(it);
      }
      for (auto& left : pending) done[left] = {left, missing_from_response("topic '" + left + "'")};
      pending = std::move(retry);
      if (!pending.empty() && !co_await pause_before_retry(attempt, until, refresh, {})) break;
      continue;
    } catch (...) {
      failure = std::current_exception();
    }
    co_await recover(failure, attempt, until, "delete topic " + quoted_list(pending), {});
  }
  std::vector<topic_result> results;
  results.reserve(names.size());
  for (const auto& name : names) results.push_back(std::move(done[name]));
  co_return results;
}

asio::awaitable<std::vector<topic_result>> admin_client::create_partitions(
    std::map<std::string, std::int32_t> total_counts, bool validate_only) {
  const auto until = deadline();
  std::map<std::string, topic_result> done;
  auto pending = total_counts;
  for (int attempt = 0; !pending.empty(); ++attempt) {
    std::vector<std::string> pending_names;
    pending_names.reserve(pending.size());
    for (const auto& [name, count] : pending) pending_names.push_back(name);
    std::exception_ptr failure;
    try {
      protocol::create_partitions_request request;
      request.timeout_ms = remaining_ms(until);
      request.validate_only = validate_only;
      for (const auto& [name, count] : pending)
        request.topics.push_back({.name = name, .count = count});
      auto response = co_await cluster_.send_to_controller(std::move(request));
      std::map<std::string, std::int32_t> retry;
      bool refresh = false;
      for (auto& answer : response.results) {
        auto it = pending.find(answer.name);
        if (it == pending.end()) continue;
        topic_result result{answer.name, make_item_error(answer.error_code, answer.error_message)};
        if (admin_retry::retry_item(result.error.code, true)) {
          refresh = refresh || admin_retry::item_needs_metadata(result.error.code);
          retry.insert(*it);
        }
        done[result.name] = std::move(result);
        pending.erase(it);
      }
      for (auto& [name, count] : pending)
        done[name] = {name, missing_from_response("topic '" + name + "'")};
      pending = std::move(retry);
      if (!pending.empty() && !co_await pause_before_retry(attempt, until, refresh, {})) break;
      continue;
    } catch (...) {
      failure = std::current_exception();
    }
    co_await recover(failure, attempt, until,
                     "create partitions of topic " + quoted_list(pending_names), {});
  }
  std::vector<topic_result> results;
  results.reserve(total_counts.size());
  for (const auto& [name, count] : total_counts) results.push_back(std::move(done[name]));
  co_return results;
}

asio::awaitable<std::vector<topic_listing>> admin_client::list_topics(bool include_internal) {
  co_return co_await retrying(deadline(), "list topics", &admin_client::list_topics_attempt,
                              include_internal);
}

asio::awaitable<std::vector<topic_listing>> admin_client::list_topics_attempt(
    bool include_internal) {
  protocol::metadata_request request;  // topics = null: every topic
  request.allow_auto_topic_creation = false;
  auto response = co_await cluster_.send_to_any(std::move(request));
  std::vector<topic_listing> result;
  for (auto& topic : response.topics) {
    if (!topic.name || (topic.is_internal && !include_internal)) continue;
    result.push_back({*topic.name, topic.topic_id, topic.is_internal,
                      static_cast<std::int32_t>(topic.partitions.size())});
  }
  std::sort(result.begin(), result.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  co_return result;
}

asio::awaitable<std::vector<topic_description>> admin_client::describe_topics(
    std::vector<std::string> names) {
  const auto until = deadline();
  for (int attempt = 0;; ++attempt) {
    std::exception_ptr failure;
    try {
      protocol::metadata_request request;
      request.allow_auto_topic_creation = false;
      auto& wanted = request.topics.emplace();
      for (const auto& name : names) wanted.push_back({.name = name});
      auto response = co_await cluster_.send_to_any(std::move(request));
      std::vector<topic_description> result;
      for (const auto& name : names) {
        auto& description = result.emplace_back();
        description.name = name;
        auto it = std::find_if(response.topics.begin(), response.topics.end(),
                               [&](const auto& t) { return t.name == name; });
        if (it == response.topics.end()) {
          description.error = missing_from_response("topic '" + name + "'");
          continue;
        }
        description.id = it->topic_id;
        description.internal = it->is_internal;
        description.error = make_item_error(it->error_code);
        for (auto& partition : it->partitions) {
          description.partitions.push_back({partition.partition_index, partition.leader_id,
                                            partition.leader_epoch, partition.replica_nodes,
                                            partition.isr_nodes, partition.offline_replicas,
                                            static_cast<error_code>(partition.error_code)});
        }
        std::sort(description.partitions.begin(), description.partitions.end(),
                  [](const auto& a, const auto& b) { return a.partition < b.partition; });
      }
      // A topic created a moment ago answers LEADER_NOT_AVAILABLE until its leader is elected;
      // that is worth waiting for, an unknown topic is not.
      const bool transient = std::any_of(result.begin(), result.end(), [](const auto& d) {
        return admin_retry::retry_item(d.error.code, true);
      });
      if (!transient || !co_await pause_before_retry(attempt, until, false, {})) co_return result;
      continue;
    } catch (...) {
      failure = std::current_exception();
    }
    co_await recover(failure, attempt, until, "describe topic " + quoted_list(names), {});
  }
}

// ---- configs ---------------------------------------------------------------------------------

namespace {

// "topic 'a', broker 1": the resources of one request, for errors.
std::string describe_resources(const std::vector<config_resource>& resources) {
  std::string what;
  for (const auto& resource : resources)
    what += (what.empty() ? "" : ", ") + describe_resource(resource);
  return what;
}

}  // namespace

asio::awaitable<std::vector<config_description>> admin_client::describe_configs(
    std::vector<config_resource> resources) {
  std::map<std::optional<std::int32_t>, std::vector<config_resource>> by_target;
  for (const auto& resource : resources) by_target[config_target(resource)].push_back(resource);
  const auto until = deadline();
  std::map<config_resource, config_description> done;
  for (auto& [node, group] : by_target) {
    auto answers = co_await retrying(until, "describe the configs of " + describe_resources(group),
                                     &admin_client::describe_configs_attempt, node, group);
    for (auto& description : answers) done[description.resource] = std::move(description);
  }
  std::vector<config_description> results;
  for (const auto& resource : resources) {
    auto it = done.find(resource);
    if (it == done.end()) {
      results.push_back({resource, missing_from_response(describe_resource(resource)), {}});
    } else {
      results.push_back(it->second);
    }
  }
  co_return results;
}

asio::awaitable<std::vector<config_description>> admin_client::describe_configs_attempt(
    std::optional<std::int32_t> node, std::vector<config_resource> resources) {
  protocol::describe_configs_request request;
  for (const auto& resource : resources) {
    request.resources.push_back({.resource_type = static_cast<std::int8_t>(resource.type),
                                 .resource_name = resource.name,
                                 .configuration_keys = std::nullopt});
  }
  auto target = co_await connection_for(node);
  auto response = co_await target->send(std::move(request));
  std::vector<config_description> answers;
  for (auto& answer : response.results) {
    config_description description;
    description.resource = {static_cast<config_resource_type>(answer.resource_type),
                            answer.resource_name};
    description.error = make_item_error(answer.error_code, answer.error_message);
    for (auto& config : answer.configs) {
      description.entries.push_back({std::move(config.name), std::move(config.value),
                                     static_cast<config_source>(config.config_source),
                                     config.read_only, config.is_sensitive});
    }
    answers.push_back(std::move(description));
  }
  co_return answers;
}

asio::awaitable<std::vector<alter_configs_result>> admin_client::incremental_alter_configs(
    std::map<config_resource, std::vector<config_alteration>> changes, bool validate_only) {
  std::map<std::optional<std::int32_t>, std::map<config_resource, std::vector<config_alteration>>>
      by_target;
  for (const auto& [resource, alterations] : changes)
    by_target[config_target(resource)][resource] = alterations;
  const auto until = deadline();
  std::map<config_resource, alter_configs_result> done;
  for (auto& [node, group] : by_target) {
    std::vector<config_resource> resources;
    for (const auto& [resource, alterations] : group) resources.push_back(resource);
    auto answers =
        co_await retrying(until, "alter the configs of " + describe_resources(resources),
                          &admin_client::alter_configs_attempt, node, group, validate_only);
    for (auto& answer : answers) done[answer.resource] = std::move(answer);
  }
  std::vector<alter_configs_result> results;
  for (const auto& [resource, alterations] : changes) {
    auto it = done.find(resource);
    results.push_back(
        it == done.end()
            ? alter_configs_result{resource, missing_from_response(describe_resource(resource))}
            : it->second);
  }
  co_return results;
}

asio::awaitable<std::vector<alter_configs_result>> admin_client::alter_configs_attempt(
    std::optional<std::int32_t> node,
    std::map<config_resource, std::vector<config_alteration>> changes, bool validate_only) {
  protocol::incremental_alter_configs_request request;
  request.validate_only = validate_only;
  for (const auto& [resource, alterations] : changes) {
    auto& entry = request.resources.emplace_back();
    entry.resource_type = static_cast<std::int8_t>(resource.type);
    entry.resource_name = resource.name;
    for (const auto& alteration : alterations) {
      entry.configs.push_back(
          {.name = alteration.name,
           .config_operation = static_cast<std::int8_t>(alteration.op),
           .value = alteration.op == alter_config_op::remove ? std::nullopt : alteration.value});
    }
  }
  auto target = co_await connection_for(node);
  auto response = co_await target->send(std::move(request));
  std::vector<alter_configs_result> answers;
  for (auto& answer : response.responses) {
    config_resource resource{static_cast<config_resource_type>(answer.resource_type),
                             answer.resource_name};
    answers.push_back({resource, make_item_error(answer.error_code, answer.error_message)});
  }
  co_return answers;
}

}  // namespace sluice::kafka
