#include "kafka/producer/transaction_state.hpp"

#include <algorithm>

#include "kafka/net/net_error.hpp"
#include "kafka/producer/failure.hpp"

namespace sluice::kafka {

namespace {

[[noreturn]] void throw_state(const std::string& what) {
  throw kafka_error(error_code::invalid_txn_state, what);
}

}  // namespace

transaction_error_step classify_transaction_error(error_code code) {
  switch (code) {
    case error_code::producer_fenced:
    case error_code::invalid_producer_epoch:
    case error_code::transactional_id_authorization_failed:
    case error_code::invalid_producer_id_mapping:
      return transaction_error_step::fenced;
    case error_code::concurrent_transactions:
      return transaction_error_step::retry_soon;
    default:
      break;
  }
  switch (classify(code)) {
    case error_action::find_coordinator_and_retry:
      return transaction_error_step::find_coordinator_and_retry;
    case error_action::retry:
    case error_action::refresh_metadata_and_retry:
      return transaction_error_step::retry;
    default:
      return transaction_error_step::abortable;
  }
}

int choose_transaction_version(const transaction_protocol_support& support, int limit) {
  const bool version_2 = support.finalized_level >= transaction_version_2 &&
                         support.end_txn_bumps_epoch && support.txn_offset_commit_adds_group &&
                         support.produce_adds_partition;
  return std::min(version_2 ? transaction_version_2 : transaction_version_1, limit);
}

transaction_state::transaction_state(std::optional<std::string> transactional_id)
    : transactional_id_(std::move(transactional_id)) {}

std::string transaction_state::name() const {
  return "transactional id '" + transactional_id_.value_or("") + "'";
}

void transaction_state::require_transactional(std::string_view call) const {
  if (!enabled()) throw_state(std::string(call) + ": the producer has no transactional_id");
}

void transaction_state::check_can_send(std::string_view topic) const {
  if (phase_ == transaction_phase::abortable_error) {
    throw kafka_error(
        error_code::transaction_abortable,
        "send to '" + std::string(topic) +
            "': the transaction failed and must be aborted: " + describe_failure(error_));
  }
  if (phase_ != transaction_phase::in_transaction) {
    throw_state("send to '" + std::string(topic) +
                "': a transactional producer sends only inside a transaction " +
                "(call begin_transaction() first)");
  }
}

void transaction_state::check_can_send_offsets(std::string_view group_id) const {
  if (group_id.empty()) {
    throw kafka_error(make_error_code(net_error::bad_configuration),
                      "send_offsets_to_transaction: the group id is empty", false);
  }
  if (phase_ == transaction_phase::in_transaction) return;
  if (phase_ == transaction_phase::abortable_error) {
    throw kafka_error(error_code::transaction_abortable,
                      "send_offsets_to_transaction: the transaction failed and must be aborted: " +
                          describe_failure(error_));
  }
  throw_state("send_offsets_to_transaction: no open transaction (call begin_transaction() first)");
}

void transaction_state::begin() {
  if (phase_ != transaction_phase::ready) {
    throw_state("begin_transaction: a transaction is already open for the " + name() +
                " (commit or abort it first)");
  }
  phase_ = transaction_phase::in_transaction;
}

void transaction_state::start_commit() {
  if (phase_ == transaction_phase::abortable_error) {
    throw kafka_error(error_code::transaction_abortable,
                      "commit the transaction of the " + name() +
                          ": it failed and must be aborted: " + describe_failure(error_));
  }
  if (phase_ != transaction_phase::in_transaction && phase_ != transaction_phase::committing)
    throw_state("commit_transaction: no open transaction for the " + name());
  phase_ = transaction_phase::committing;
}

void transaction_state::check_nothing_failed() {
  if (!error_) return;
  phase_ = transaction_phase::abortable_error;
  throw kafka_error(
      error_code::transaction_abortable,
      "commit the transaction of the " + name() +
          ": a record of it failed, so it must be aborted: " + describe_failure(error_));
}

void transaction_state::start_abort() {
  if (phase_ == transaction_phase::ready)
    throw_state("abort_transaction: no open transaction for the " + name());
  phase_ = transaction_phase::aborting;
  // Partitions not added yet never will be: their records are dropped with the transaction.
  for (auto* queue : pending_) queue->transaction_pending = false;
  pending_.clear();
}

void transaction_state::enter_abortable(const std::exception_ptr& failure) {
  if (phase_ == transaction_phase::aborting || phase_ == transaction_phase::ready) return;
  if (!error_) error_ = failure;
  phase_ = transaction_phase::abortable_error;
}

void transaction_state::reset() {
  for (auto* queue : partitions_) queue->in_transaction = false;
  partitions_.clear();
  for (auto* queue : pending_) queue->transaction_pending = false;
  pending_.clear();
  offsets_added_ = false;
  error_ = nullptr;
  phase_ = transaction_phase::ready;
}

bool transaction_state::join(partition_queue& queue) {
  if (!enabled() || queue.in_transaction || queue.transaction_pending) return false;
  if (version_ >= transaction_version_2) {
    // KIP-890 part 2: the broker adds the partition when the first Produce (v12+) of the
    // transaction arrives. The producer only notes that EndTxn is now due (Java marks the
    // transaction started on append too; the coordinator accepts ending it even if no Produce
    // got through).
    queue.in_transaction = true;
    partitions_.push_back(&queue);
    return false;
  }
  queue.transaction_pending = true;
  pending_.push_back(&queue);
  return true;
}

std::vector<partition_queue*> transaction_state::take_partitions_to_add() {
  if (pending_.empty() || adding_ ||
      (phase_ != transaction_phase::in_transaction && phase_ != transaction_phase::committing))
    return {};
  adding_ = true;
  auto pending = std::move(pending_);
  pending_.clear();
  return pending;
}

void transaction_state::partitions_added(const std::vector<partition_queue*>& queues) {
  for (auto* queue : queues) {
    queue->in_transaction = true;
    queue->transaction_pending = false;
    partitions_.push_back(queue);
  }
}

}  // namespace sluice::kafka
