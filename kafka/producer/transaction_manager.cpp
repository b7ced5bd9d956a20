#include "kafka/producer/transaction_manager.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "kafka/producer/failure.hpp"
#include "kafka/protocol/messages/add_offsets_to_txn.hpp"
#include "kafka/protocol/messages/add_partitions_to_txn.hpp"
#include "kafka/protocol/messages/api_versions.hpp"
#include "kafka/protocol/messages/end_txn.hpp"
#include "kafka/protocol/messages/init_producer_id.hpp"
#include "kafka/protocol/messages/txn_offset_commit.hpp"

namespace sluice::kafka {

namespace {

using protocol::api_key;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Version 1 caps (KIP-98 with KIP-447 and KIP-890 part 1): they keep a Kafka 4 broker from
// treating our requests as version 2, exactly as the Java client does when transaction.version 2
// is not in use. Version 2 lifts them: TxnOffsetCommit v5+ adds the group on the broker, and
// EndTxn v5+ answers with the bumped epoch the next transaction uses.
constexpr std::int16_t end_txn_min_v2 = 5;
constexpr std::int16_t end_txn_max_v1 = 4;
constexpr std::int16_t txn_offset_commit_min_v2 = 5;
constexpr std::int16_t txn_offset_commit_max_v1 = 4;
constexpr std::int16_t produce_min_transactional_v2 = 12;
constexpr std::int16_t add_partitions_max_client = 3;  // v4+ are broker-to-broker only
constexpr std::int16_t init_producer_id_max = 5;       // v6 is two-phase commit (KIP-939)
constexpr std::int16_t init_producer_id_bump_min = 3;  // producer id and epoch in the request
constexpr const char* transaction_version_feature = "transaction.version";
// The Java client retries on CONCURRENT_TRANSACTIONS after 20 ms rather than retry.backoff.ms:
// the previous transaction is usually just finishing.
constexpr std::chrono::milliseconds concurrent_transactions_backoff{20};

// The worst of a response's per-partition codes: a fatal one wins over the first other one.
template <typename Code>
error_code worst(error_code result, Code raw) {
  const auto code = static_cast<error_code>(raw);
  if (code == error_code::none) return result;
  if (result == error_code::none || classify(code) == error_action::fatal) return code;
  return result;
}

}  // namespace

transaction_manager::transaction_manager(asio::any_io_executor executor, cluster& net,
                                         const producer_config& config, idempotence& ids,
                                         transaction_state& txn, record_accumulator& accumulator,
                                         const std::exception_ptr& fatal,
                                         std::function<void(std::exception_ptr)> on_fenced)
    : executor_(std::move(executor)),
      net_(net),
      config_(config),
      ids_(ids),
      txn_(txn),
      accumulator_(accumulator),
      fatal_(fatal),
      on_fenced_(std::move(on_fenced)) {}

asio::awaitable<std::shared_ptr<connection>> transaction_manager::coordinator_connection() {
  if (coordinator_ < 0) {
    const auto found =
        co_await net_.find_coordinator(coordinator_type::transaction, *config_.transactional_id);
    coordinator_ = found.value();
  }
  co_return co_await net_.connection_to(node_id{coordinator_});
}

// Returns the pause before the next attempt; throws for fenced and abortable errors.
std::chrono::milliseconds transaction_manager::judge(error_code code, const std::string& what) {
  switch (classify_transaction_error(code)) {
    case transaction_error_step::fenced: {
      auto failure = make_failure(
          code, what + ": producer fenced: another producer started with the " + txn_.name() +
                    " (or this one's transaction timed out); stop this producer");
      on_fenced_(failure);
      std::rethrow_exception(failure);
    }
    case transaction_error_step::retry_soon:
      return concurrent_transactions_backoff;
    case transaction_error_step::find_coordinator_and_retry:
      coordinator_ = -1;
      return config_.retry_backoff;
    case transaction_error_step::retry:
      return config_.retry_backoff;
    case transaction_error_step::abortable:
      break;
  }
  auto failure = make_failure(code, what);
  txn_.enter_abortable(failure);
  std::rethrow_exception(failure);
}

// Runs `attempt` (one request/response; returns the response's error code) until it succeeds,
// a fatal or abortable error, or the deadline.
template <typename Attempt>
asio::awaitable<void> transaction_manager::call(std::string what, clock::time_point deadline,
                                                Attempt attempt) {
  for (;;) {
    std::string why;
    auto pause = config_.retry_backoff;
    try {
      const auto code = co_await attempt();
      if (code == error_code::none) co_return;
      why = error_name(code);
      pause = judge(code, what);
    } catch (const kafka_error& e) {
      if (!e.retriable() || fatal_) throw;
      why = e.what();
      coordinator_ = -1;
    }
    if (clock::now() + pause > deadline) {
      throw kafka_error(error_code::request_timed_out,
                        what + ": not done within max_block (" +
                            std::to_string(config_.max_block.count()) + " ms); last error: " + why);
    }
    asio::steady_timer timer(executor_, pause);
    co_await timer.async_wait(use_tuple);
  }
}

// Version 2 when the cluster finalized the feature transaction.version at 2 or more (features
// are cluster-wide; any broker's ApiVersions lists them) and the coordinator speaks EndTxn v5,
// TxnOffsetCommit v5 and Produce v12.
asio::awaitable<error_code> transaction_manager::version_attempt() {
  auto conn = co_await coordinator_connection();
  const auto& versions = conn->broker_versions();
  const auto api = versions.find(static_cast<std::int16_t>(api_key::api_versions));
  const auto version =
      static_cast<std::int16_t>(std::min<int>(api == versions.end() ? 0 : api->second.max_version,
                                              protocol::api_versions_request::max_version));
  protocol::api_versions_request request;
  request.client_software_name = "sluice";
  request.client_software_version = "0.1.0";
  auto response = co_await conn->send(std::move(request), version);
  const auto code = static_cast<error_code>(response.error_code);
  if (code != error_code::none) co_return code;
  transaction_protocol_support support;
  for (const auto& feature : response.finalized_features) {
    if (feature.name == transaction_version_feature)
      support.finalized_level = feature.max_version_level;
  }
  const auto supports = [&](api_key key, std::int16_t minimum) {
    const auto it = versions.find(static_cast<std::int16_t>(key));
    return it != versions.end() && it->second.max_version >= minimum;
  };
  support.end_txn_bumps_epoch = supports(api_key::end_txn, end_txn_min_v2);
  support.txn_offset_commit_adds_group =
      supports(api_key::txn_offset_commit, txn_offset_commit_min_v2);
  support.produce_adds_partition = supports(api_key::produce, produce_min_transactional_v2);
  txn_.set_version(choose_transaction_version(support, txn_.version_limit()));
  co_return error_code::none;
}

asio::awaitable<void> transaction_manager::detect_version(clock::time_point deadline) {
  co_await call("ApiVersions (transaction.version) for the " + txn_.name(), deadline,
                [this]() { return version_attempt(); });
}

asio::awaitable<error_code> transaction_manager::init_attempt(bool bump) {
  auto conn = co_await coordinator_connection();
  const auto version =
      std::min(conn->required_version(api_key::init_producer_id), init_producer_id_max);
  protocol::init_producer_id_request request;
  request.transactional_id = config_.transactional_id;
  request.transaction_timeout_ms = static_cast<std::int32_t>(config_.transaction_timeout.count());
  if (bump && version >= init_producer_id_bump_min) {
    request.producer_id = ids_.producer_id();
    request.producer_epoch = ids_.producer_epoch();
  }
  auto response = co_await conn->send(std::move(request), version);
  const auto code = static_cast<error_code>(response.error_code);
  if (code == error_code::none) ids_.set_producer(response.producer_id, response.producer_epoch);
  co_return code;
}

asio::awaitable<void> transaction_manager::init_producer_id(bool bump, clock::time_point deadline) {
  co_await call("InitProducerId for the " + txn_.name(), deadline,
                [this, bump]() { return init_attempt(bump); });
}

asio::awaitable<error_code> transaction_manager::add_partitions_attempt(
    const std::vector<partition_queue*>* queues) {
  auto conn = co_await coordinator_connection();
  const auto version =
      std::min(conn->required_version(api_key::add_partitions_to_txn), add_partitions_max_client);
  protocol::add_partitions_to_txn_request request;
  request.v3_and_below_transactional_id = *config_.transactional_id;
  request.v3_and_below_producer_id = ids_.producer_id();
  request.v3_and_below_producer_epoch = ids_.producer_epoch();
  auto& topics = request.v3_and_below_topics;
  for (auto* queue : *queues) {
    auto it = std::find_if(topics.begin(), topics.end(),
                           [&](const auto& topic) { return topic.name == *queue->topic->name; });
    if (it == topics.end()) {
      topics.push_back({.name = *queue->topic->name});
      it = std::prev(topics.end());
    }
    it->partitions.push_back(queue->partition);
  }
  auto response = co_await conn->send(std::move(request), version);
  // OPERATION_NOT_ATTEMPTED only says another partition failed.
  auto result = error_code::none;
  for (const auto& topic : response.results_by_topic_v3_and_below) {
    for (const auto& partition : topic.results_by_partition) {
      if (static_cast<error_code>(partition.partition_error_code) ==
          error_code::operation_not_attempted)
        continue;
      result = worst(result, partition.partition_error_code);
    }
  }
  if (result == error_code::none) txn_.partitions_added(*queues);
  co_return result;
}

asio::awaitable<void> transaction_manager::add_partitions(std::vector<partition_queue*> queues,
                                                          clock::time_point deadline) {
  co_await call("AddPartitionsToTxn for the " + txn_.name(), deadline,
                [this, &queues]() { return add_partitions_attempt(&queues); });
}

asio::awaitable<error_code> transaction_manager::end_txn_attempt(bool commit) {
  auto conn = co_await coordinator_connection();
  auto version = conn->required_version(api_key::end_txn);
  if (txn_.version() < transaction_version_2) version = std::min(version, end_txn_max_v1);
  protocol::end_txn_request request;
  request.transactional_id = *config_.transactional_id;
  request.producer_id = ids_.producer_id();
  request.producer_epoch = ids_.producer_epoch();
  request.committed = commit;
  auto response = co_await conn->send(std::move(request), version);
  const auto code = static_cast<error_code>(response.error_code);
  if (code == error_code::none && version >= end_txn_min_v2 && response.producer_id >= 0) {
    // KIP-890 part 2: every transaction ends with an epoch bump (the markers carry the new
    // epoch, so a zombie's late Produce of the old epoch is fenced); the next transaction uses
    // it, and a new producer id when the epoch ran out.
    ids_.set_producer(response.producer_id, response.producer_epoch);
  }
  co_return code;
}

asio::awaitable<void> transaction_manager::end_transaction(bool commit) {
  co_await call(std::string(commit ? "commit" : "abort") + " the transaction of the " + txn_.name(),
                clock::now() + config_.max_block,
                [this, commit]() { return end_txn_attempt(commit); });
  // A new epoch starts every partition again at sequence 0.
  if (txn_.version() >= transaction_version_2) idempotence::reset_sequences(accumulator_);
}

asio::awaitable<error_code> transaction_manager::add_offsets_attempt(const std::string* group_id) {
  auto conn = co_await coordinator_connection();
  protocol::add_offsets_to_txn_request request;
  request.transactional_id = *config_.transactional_id;
  request.producer_id = ids_.producer_id();
  request.producer_epoch = ids_.producer_epoch();
  request.group_id = *group_id;
  auto response = co_await conn->send(std::move(request));
  co_return static_cast<error_code>(response.error_code);
}

asio::awaitable<error_code> transaction_manager::txn_offset_commit_attempt(
    const std::map<topic_partition, offset_and_metadata>* offsets,
    const consumer_group_metadata* group, std::int32_t* coordinator) {
  if (*coordinator < 0)
    *coordinator =
        (co_await net_.find_coordinator(coordinator_type::group, group->group_id)).value();
  std::shared_ptr<connection> conn;
  try {
    conn = co_await net_.connection_to(node_id{*coordinator});
  } catch (...) {
    *coordinator = -1;
    throw;
  }
  auto version = conn->required_version(api_key::txn_offset_commit);
  if (txn_.version() < transaction_version_2) version = std::min(version, txn_offset_commit_max_v1);
  protocol::txn_offset_commit_request request;
  request.transactional_id = *config_.transactional_id;
  request.group_id = group->group_id;
  request.producer_id = ids_.producer_id();
  request.producer_epoch = ids_.producer_epoch();
  request.generation_id = group->generation_id.value();
  request.member_id = group->member_id;
  request.group_instance_id = group->group_instance_id;
  // The map is sorted by topic, so each topic's partitions are adjacent.
  for (const auto& [partition, offset] : *offsets) {
    if (request.topics.empty() || request.topics.back().name != partition.topic)
      request.topics.push_back({.name = partition.topic});
    request.topics.back().partitions.push_back({.partition_index = partition.partition,
                                                .committed_offset = offset.offset,
                                                .committed_leader_epoch = offset.leader_epoch,
                                                .committed_metadata = offset.metadata});
  }
  auto response = co_await conn->send(std::move(request), version);
  auto result = error_code::none;
  for (const auto& topic : response.topics) {
    for (const auto& partition : topic.partitions) result = worst(result, partition.error_code);
  }
  if (classify(result) == error_action::find_coordinator_and_retry) *coordinator = -1;
  co_return result;
}

asio::awaitable<void> transaction_manager::send_offsets(
    std::map<topic_partition, offset_and_metadata> offsets, consumer_group_metadata group,
    clock::time_point deadline) {
  const auto what =
      "send offsets of group '" + group.group_id + "' to the transaction of the " + txn_.name();
  // (The attempts capture only pointers and references: GCC 12 destroys a lambda temporary that
  // captured a std::string by value twice when it sits inside a co_await expression.)
  if (txn_.version() >= transaction_version_2) {
    // KIP-890 part 2: TxnOffsetCommit v5 adds the group to the transaction itself (Java skips
    // AddOffsetsToTxn too). EndTxn is due from here on, whatever the answer.
    txn_.offsets_added();
  } else {
    const auto add_offsets = [this, &group]() { return add_offsets_attempt(&group.group_id); };
    co_await call("AddOffsetsToTxn: " + what, deadline, add_offsets);
    txn_.offsets_added();
  }
  std::int32_t coordinator = -1;
  const auto commit_offsets = [this, &offsets, &group, &coordinator]() {
    return txn_offset_commit_attempt(&offsets, &group, &coordinator);
  };
  co_await call("TxnOffsetCommit: " + what, deadline, commit_offsets);
}

}  // namespace sluice::kafka
