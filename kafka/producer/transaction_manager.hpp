#pragma once

// A transactional producer's requests to its coordinators: which transaction protocol to speak
// (ApiVersions, KIP-890 part 2), InitProducerId (first, and the epoch bump after an aborted
// transaction left a sequence gap, KIP-360), AddPartitionsToTxn, AddOffsetsToTxn with
// TxnOffsetCommit (KIP-447), and EndTxn (which bumps the epoch under version 2).
//
// Each call retries what may succeed later until its deadline, moves to a new coordinator when
// the old one moved, and throws kafka_error otherwise: a fenced producer is reported to
// `on_fenced` (the producer fails fatally), any other failure makes the transaction abortable
// (transaction_state). The legal order of the calls is transaction_state's.
//
// Threading: the producer's executor; the producer, which owns this, outlives every call.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kafka/client/cluster.hpp"
#include "kafka/client/consumer_group_metadata.hpp"
#include "kafka/client/topic_partition.hpp"
#include "kafka/producer/idempotence.hpp"
#include "kafka/producer/producer_config.hpp"
#include "kafka/producer/record_accumulator.hpp"
#include "kafka/producer/transaction_state.hpp"

namespace sluice::kafka {

class transaction_manager {
 public:
  using clock = producer_clock;

  // References the producer's parts, which outlive this. `fatal` is the producer's fatal
  // failure: once set, no call retries.
  transaction_manager(asio::any_io_executor executor, cluster& net, const producer_config& config,
                      idempotence& ids, transaction_state& txn, record_accumulator& accumulator,
                      const std::exception_ptr& fatal,
                      std::function<void(std::exception_ptr)> on_fenced);

  // Decides txn.version() (asked once, at start(): a cluster upgraded later is used at version 2
  // by the next producer).
  asio::awaitable<void> detect_version(clock::time_point deadline);
  // A producer id and epoch from the coordinator (fencing older producers with the same id);
  // with `bump`, the current ones are sent along for the next epoch.
  asio::awaitable<void> init_producer_id(bool bump, clock::time_point deadline);
  // Adds the partitions to the transaction (version 1).
  asio::awaitable<void> add_partitions(std::vector<partition_queue*> queues,
                                       clock::time_point deadline);
  // Commits or aborts the transaction on the coordinator.
  asio::awaitable<void> end_transaction(bool commit);
  // Adds the group's offsets to the transaction (committed with it).
  asio::awaitable<void> send_offsets(std::map<topic_partition, offset_and_metadata> offsets,
                                     consumer_group_metadata group, clock::time_point deadline);

 private:
  asio::awaitable<std::shared_ptr<connection>> coordinator_connection();
  std::chrono::milliseconds judge(error_code code, const std::string& what);
  template <typename Attempt>
  asio::awaitable<void> call(std::string what, clock::time_point deadline, Attempt attempt);

  asio::awaitable<error_code> version_attempt();
  asio::awaitable<error_code> init_attempt(bool bump);
  asio::awaitable<error_code> add_partitions_attempt(const std::vector<partition_queue*>* queues);
  asio::awaitable<error_code> end_txn_attempt(bool commit);
  asio::awaitable<error_code> add_offsets_attempt(const std::string* group_id);
  asio::awaitable<error_code> txn_offset_commit_attempt(
      const std::map<topic_partition, offset_and_metadata>* offsets,
      const consumer_group_metadata* group, std::int32_t* coordinator);

  asio::any_io_executor executor_;
  cluster& net_;
  const producer_config& config_;
  idempotence& ids_;
  transaction_state& txn_;
  record_accumulator& accumulator_;
  const std::exception_ptr& fatal_;
  std::function<void(std::exception_ptr)> on_fenced_;
  // The transaction coordinator's node id; -1 until found, or after it moved.
  std::int32_t coordinator_ = -1;
};

}  // namespace sluice::kafka
