#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "kafka/admin/admin_types.hpp"
#include "kafka/client/cluster.hpp"

namespace sluice::kafka {

struct admin_options {
  // How long one admin call may take, retries included (the Java client's
  // default.api.timeout.ms). Retriable failures are retried with backoff until then.
  std::chrono::milliseconds api_timeout{60'000};
  // Retries back off exponentially from the cluster's retry_backoff up to this (KIP-580's
  // retry.backoff.max.ms).
  std::chrono::milliseconds retry_backoff_max{1'000};
};

// Kafka's administrative APIs on top of a `cluster`: topics, partitions, configs, consumer groups
// and their offsets, partition offsets and records.
//
// Routing follows Kafka's AdminClient: topic creation, deletion and partition growth go to the
// controller (under KRaft any broker forwards them, KIP-590), config changes of a broker go to that
// broker, group requests to the group's coordinator (FindCoordinator), ListOffsets and
// DeleteRecords to each partition's leader, batched per leader.
//
// Errors: a request that fails as a whole (connection lost, coordinator moved, leader moved) is
// retried with exponential backoff until `api_timeout`, refreshing metadata or finding the
// coordinator again as `classify()` says; after that, or for a non-retriable error, the call throws
// kafka_error naming what failed (topic, group, broker). A per-item error (one of several topics
// already exists) is retried only when retriable, then reported on that item, never thrown.
//
// Lifetime and threading: borrows the cluster, which must outlive it and be started (or call
// `start()`); runs on the cluster's single-threaded executor. Calls may run concurrently.
class admin_client {
 public:
  explicit admin_client(cluster& cluster, admin_options options = {});

  // Starts the cluster, retrying an unreachable bootstrap until the API timeout.
  asio::awaitable<void> start();

  cluster& underlying_cluster() { return cluster_; }
  const admin_options& options() const { return options_; }

  // ---- cluster ----
  asio::awaitable<cluster_description> describe_cluster();
  // What one broker (nullopt: any) offers per API, and the version this build negotiates.
  asio::awaitable<broker_api_versions> api_versions(std::optional<node_id> broker);

  // ---- topics ----
  // Returns once the created topics are visible, with leaders, in a broker's metadata (or at the
  // deadline), so that a describe or produce right after it finds them.
  asio::awaitable<std::vector<create_topic_result>> create_topics(std::vector<new_topic> topics,
                                                                  bool validate_only = false);
  asio::awaitable<std::vector<topic_result>> delete_topics(std::vector<std::string> names);
  // Grows each named topic to the given total partition count.
  asio::awaitable<std::vector<topic_result>> create_partitions(
      std::map<std::string, std::int32_t> total_counts, bool validate_only = false);
  asio::awaitable<std::vector<topic_listing>> list_topics(bool include_internal = false);
  asio::awaitable<std::vector<topic_description>> describe_topics(std::vector<std::string> names);

  // ---- configs ----
  // Every config of each resource, defaults included (see config_entry::source).
  asio::awaitable<std::vector<config_description>> describe_configs(
      std::vector<config_resource> resources);
  asio::awaitable<std::vector<alter_configs_result>> incremental_alter_configs(
      std::map<config_resource, std::vector<config_alteration>> changes,
      bool validate_only = false);

  // ---- consumer groups ----
  // Every group of every broker.
  asio::awaitable<std::vector<group_listing>> list_groups();
  asio::awaitable<std::vector<group_description>> describe_groups(
      std::vector<std::string> group_ids);
  asio::awaitable<std::vector<group_result>> delete_groups(std::vector<std::string> group_ids);
  // The group's committed offsets: of the given partitions, or (nullopt) of every partition it has
  // committed. Throws kafka_error naming the group when the group as a whole fails.
  asio::awaitable<std::map<topic_partition, committed_offset>> list_group_offsets(
      std::string group_id, std::optional<std::vector<topic_partition>> partitions);
  // Commits offsets for a group that has no active members, as Kafka's AdminClient does
  // (OffsetCommit with generation -1 and no member id); an active group answers
  // UNKNOWN_MEMBER_ID per partition. Creates the group when it does not exist.
  asio::awaitable<std::map<topic_partition, item_error>> alter_group_offsets(
      std::string group_id, std::map<topic_partition, log_offset> offsets);
  // OffsetDelete (KIP-496): drops committed offsets of partitions the group no longer consumes.
  asio::awaitable<std::map<topic_partition, item_error>> delete_group_offsets(
      std::string group_id, std::vector<topic_partition> partitions);

  // ---- offsets and records ----
  asio::awaitable<std::map<topic_partition, listed_offset>> list_offsets(
      std::map<topic_partition, offset_spec> specs,
      isolation_level isolation = isolation_level::read_uncommitted);
  // Deletes every record before the given offset of each partition (-1: up to the high watermark).
  asio::awaitable<std::map<topic_partition, deleted_records>> delete_records(
      std::map<topic_partition, log_offset> before_offsets);

 private:
  using clock = std::chrono::steady_clock;

  clock::time_point deadline() const { return clock::now() + options_.api_timeout; }
  // Milliseconds left before the deadline, for requests that carry a broker-side timeout.
  std::int32_t remaining_ms(clock::time_point deadline) const;
  // After a failed attempt: rethrows (with `what` as context) when the failure is not retriable or
  // the deadline passed; otherwise backs off, refreshes metadata of `topics` when the classifier
  // says so, and returns so that the caller tries again.
  asio::awaitable<void> recover(std::exception_ptr failure, int attempt, clock::time_point deadline,
                                std::string what, std::vector<std::string> topics);
  // Calls `(this->*attempt)(args...)` until it returns, handing each failure to recover() (which
  // rethrows it once it is final or the deadline passed). `what` names the call in errors. The
  // arguments are copied into every attempt, so an attempt may consume its own.
  template <typename Result, typename... Params>
  asio::awaitable<Result> retrying(clock::time_point until, std::string what,
                                   asio::awaitable<Result> (admin_client::*attempt)(Params...),
                                   std::type_identity_t<Params>... args) {
    for (int attempt_number = 0;; ++attempt_number) {
      std::exception_ptr failure;
      try {
        co_return co_await (this->*attempt)(args...);
      } catch (...) {
        failure = std::current_exception();
      }
      co_await recover(failure, attempt_number, until, what, {});
    }
  }
  // KRaft brokers learn of a new topic from the metadata log a moment after CreateTopics answers;
  // waits (until the deadline at most) until the topics and their leaders are visible, so that a
  // describe or produce right after create_topics finds them.
  asio::awaitable<void> wait_until_visible(std::vector<std::string> names, clock::time_point until);
  // Backs off before retrying items that failed with a retriable error; false when the deadline
  // does not leave room for another attempt.
  asio::awaitable<bool> pause_before_retry(int attempt, clock::time_point deadline,
                                           bool refresh_metadata, std::vector<std::string> topics);

  // The loop of the partition-level calls (ListOffsets, DeleteRecords): routes the partitions to
  // their leaders, calls `ask(leader, its partitions, broker timeout ms)` once per leader (a plain
  // callable returning an awaitable map of that leader's answers), keeps every answer, and asks
  // again, after a metadata refresh, for the partitions without a leader or with a retriable
  // error, until the deadline. `what` + the pending partitions name the call in errors. Answer has
  // an `error` (item_error). Defined in admin_client_offsets.cpp, its only user.
  template <typename Answer, typename Ask>
  asio::awaitable<std::map<topic_partition, Answer>> ask_leaders(
      std::vector<topic_partition> partitions, std::string what, Ask ask);
  // One leader's part of list_offsets / delete_records (the maps live in the public call's frame).
  asio::awaitable<std::map<topic_partition, listed_offset>> list_offsets_at(
      std::int32_t leader, std::vector<topic_partition> partitions,
      const std::map<topic_partition, offset_spec>* specs, isolation_level isolation,
      std::int32_t timeout_ms);
  asio::awaitable<std::map<topic_partition, deleted_records>> delete_records_at(
      std::int32_t leader, std::vector<topic_partition> partitions,
      const std::map<topic_partition, log_offset>* before_offsets, std::int32_t timeout_ms);

  // A connection to the given broker, or to any broker.
  asio::awaitable<std::shared_ptr<connection>> connection_for(std::optional<std::int32_t> node_id);
  asio::awaitable<std::vector<group_listing>> list_groups_of(std::int32_t node_id);
  asio::awaitable<group_description> describe_group(std::string group_id);
  // ConsumerGroupDescribe (KIP-848) at the coordinator; nullopt when the broker lacks the API or
  // the group is not a consumer-protocol group.
  asio::awaitable<std::optional<group_description>> describe_consumer_group(node_id coordinator,
                                                                            std::string group_id);
  asio::awaitable<group_result> delete_group(std::string group_id);

  // One attempt of the public call of the same name, which retries it (see retrying()).
  asio::awaitable<void> start_attempt();
  // DescribeConfigs / IncrementalAlterConfigs of the resources one node (or any broker) owns.
  asio::awaitable<std::vector<config_description>> describe_configs_attempt(
      std::optional<std::int32_t> node, std::vector<config_resource> resources);
  asio::awaitable<std::vector<alter_configs_result>> alter_configs_attempt(
      std::optional<std::int32_t> node,
      std::map<config_resource, std::vector<config_alteration>> changes, bool validate_only);
  asio::awaitable<cluster_description> describe_cluster_attempt();
  asio::awaitable<broker_api_versions> api_versions_attempt(std::optional<std::int32_t> node_id);
  asio::awaitable<std::vector<topic_listing>> list_topics_attempt(bool include_internal);
  asio::awaitable<std::vector<group_listing>> list_groups_of_attempt(std::int32_t node_id);
  asio::awaitable<group_description> describe_group_attempt(std::string group_id);
  asio::awaitable<group_result> delete_group_attempt(std::string group_id);
  asio::awaitable<std::map<topic_partition, committed_offset>> list_group_offsets_attempt(
      std::string group_id, std::optional<std::vector<topic_partition>> partitions);
  asio::awaitable<std::map<topic_partition, item_error>> alter_group_offsets_attempt(
      std::string group_id, std::map<topic_partition, log_offset> offsets);
  asio::awaitable<std::map<topic_partition, item_error>> delete_group_offsets_attempt(
      std::string group_id, std::vector<topic_partition> partitions);

  cluster& cluster_;
  admin_options options_;
};

}  // namespace sluice::kafka
