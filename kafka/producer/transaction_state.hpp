#pragma once

// A transactional producer's state machine, without I/O: which calls are legal in which phase
// (and the error each illegal one throws), the partitions of the open transaction, why it must be
// aborted, the transaction protocol in use (KIP-890), and what a transactional request does
// about an error code. The requests themselves are transaction_manager's.
//
//   ready --begin--> in_transaction --commit--> committing --EndTxn--> ready
//                         |  \--abort--> aborting --EndTxn--> ready
//                         \--a record or request failed--> abortable_error --abort--> aborting
//
// Threading: owned by one producer and used on its executor only.

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/producer/record_accumulator.hpp"
#include "kafka/protocol/error_code.hpp"

namespace sluice::kafka {

enum class transaction_phase : std::uint8_t {
  ready,
  in_transaction,
  committing,
  aborting,
  abortable_error
};

// What a request to the transaction coordinator does about an error code in its answer.
enum class transaction_error_step : std::uint8_t {
  retry,                       // after retry_backoff
  retry_soon,                  // the previous transaction is just finishing (Java waits 20 ms)
  find_coordinator_and_retry,  // the coordinator moved or is loading
  fenced,                      // another producer took the transactional id: fatal
  abortable,                   // the transaction must be aborted
};
transaction_error_step classify_transaction_error(error_code code);

// The transaction protocol versions (KIP-890 part 2).
inline constexpr int transaction_version_1 = 1;
inline constexpr int transaction_version_2 = 2;

// What the cluster offers, for choose_transaction_version.
struct transaction_protocol_support {
  // The cluster's finalized level of the feature transaction.version (0 when not finalized).
  int finalized_level = 0;
  bool end_txn_bumps_epoch = false;           // EndTxn v5+
  bool txn_offset_commit_adds_group = false;  // TxnOffsetCommit v5+
  bool produce_adds_partition = false;        // Produce v12+
};
// Version 2 when the cluster finalized it and the coordinator speaks its requests, else 1;
// never above `limit`.
int choose_transaction_version(const transaction_protocol_support& support, int limit);

class transaction_state {
 public:
  // Without a transactional id the producer is not transactional, and every call but
  // require_transactional() is unused.
  explicit transaction_state(std::optional<std::string> transactional_id);

  bool enabled() const { return transactional_id_.has_value(); }
  // "transactional id 'x'", for messages.
  std::string name() const;
  transaction_phase phase() const { return phase_; }
  // Why the transaction must be aborted (null when it need not).
  const std::exception_ptr& error() const { return error_; }

  // Each throws kafka_error for a call the phase does not allow (invalid_txn_state, or
  // transaction_abortable when the transaction failed); `call` names the public call.
  void require_transactional(std::string_view call) const;
  void check_can_send(std::string_view topic) const;
  void check_can_send_offsets(std::string_view group_id) const;
  void begin();
  void start_commit();
  // After the commit's flush: throws transaction_abortable if a record of the transaction failed.
  void check_nothing_failed();
  void start_abort();
  // A record or request of the transaction failed for good; the first failure is kept.
  void enter_abortable(const std::exception_ptr& failure);
  // The transaction ended (EndTxn answered, or nothing to end): ready for the next one.
  void reset();

  // Partitions. True if the partition must be added with AddPartitionsToTxn (version 1; the
  // sender must wake to do it); version 2 adds it on the broker with the first Produce.
  bool join(partition_queue& queue);
  // The partitions waiting for AddPartitionsToTxn, if a request for them is due now (none is
  // running and the transaction is open); marks the request running.
  std::vector<partition_queue*> take_partitions_to_add();
  void partitions_added(const std::vector<partition_queue*>& queues);
  void adding_done() { adding_ = false; }
  bool adding() const { return adding_; }
  // Whether EndTxn is due: a partition or the group's offsets are in the transaction.
  bool needs_end_txn() const { return !partitions_.empty() || offsets_added_; }
  void offsets_added() { offsets_added_ = true; }

  // A stamped batch of the transaction failed, leaving a gap in its partition's sequence: the
  // abort bumps the epoch (KIP-360) under version 1. Cleared once the abort is done (an abort
  // that failed before tries the bump again).
  void note_sequence_gap() { sequence_gap_ = true; }
  bool sequence_gap() const { return sequence_gap_; }
  void clear_sequence_gap() { sequence_gap_ = false; }

  // The protocol in use (decided at start()); 0 when not transactional.
  int version() const { return version_; }
  void set_version(int version) { version_ = version; }
  int version_limit() const { return version_limit_; }
  void limit_version(int version) { version_limit_ = version; }

 private:
  std::optional<std::string> transactional_id_;
  transaction_phase phase_ = transaction_phase::ready;
  std::exception_ptr error_;
  // Waiting for AddPartitionsToTxn, and added to the transaction.
  std::vector<partition_queue*> pending_;
  bool adding_ = false;
  std::vector<partition_queue*> partitions_;
  bool offsets_added_ = false;
  bool sequence_gap_ = false;
  int version_ = 0;
  int version_limit_ = transaction_version_2;
};

}  // namespace sluice::kafka
