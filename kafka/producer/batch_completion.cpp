#include "kafka/producer/batch_completion.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "kafka/producer/failure.hpp"

namespace sluice::kafka {

std::string partition_name(const partition_queue& queue) {
  return *queue.topic->name + "-" + std::to_string(queue.partition);
}

void batch_completion::finish(producer_batch& batch) {
  remove_in_flight(batch);
  core_.accumulator.release(batch);
  core_.accumulator.batch_finished();
  core_.notify_progress();
}

void batch_completion::complete(std::unique_ptr<producer_batch> batch, std::int64_t base_offset,
                                std::int64_t append_time) {
  core_.ids.acknowledged(*batch);
  finish(*batch);
  batch->state->complete(base_offset, append_time);
}

void batch_completion::fail(std::unique_ptr<producer_batch> batch, std::exception_ptr failure) {
  finish(*batch);
  // A stamped batch that is never acknowledged leaves a gap in the partition's sequence: an
  // idempotent producer bumps its epoch to start over (KIP-360), a transactional one does so
  // when the caller aborts.
  if (batch->stamped && core_.ids.enabled()) {
    if (core_.txn.enabled()) {
      core_.txn.note_sequence_gap();
    } else {
      core_.ids.request_epoch_bump();
      core_.wake();
    }
  }
  if (core_.txn.enabled()) core_.txn.enter_abortable(failure);
  ++core_.statistics.failed_batches;
  batch->state->fail(std::move(failure));
}

void batch_completion::retry(std::unique_ptr<producer_batch> batch, std::string why,
                             clock::time_point now) {
  // A batch that comes back after stop() or during an abort is not sent again: nobody would
  // send it, and its delivery would never complete.
  if (core_.state == producer_core::phase::closed) {
    fail(std::move(batch),
         make_failure(error_code::request_timed_out,
                      "the producer stopped before the record was delivered; last error: " + why));
    return;
  }
  if (core_.txn.enabled() && core_.txn.phase() == transaction_phase::aborting) {
    fail(std::move(batch),
         make_failure(error_code::transaction_abortable,
                      "the transaction of the " + core_.txn.name() + " was aborted"));
    return;
  }
  ++core_.statistics.retried_batches;
  spdlog::debug("producer: retrying {} records for {} (attempt {}, sequence {}): {}",
                batch->builder.record_count(), partition_name(*batch->queue), batch->attempts,
                batch->base_sequence, why);
  hold_for_retry(*batch);
  batch->retry_after = now + core_.config.retry_backoff;
  batch->last_error = std::move(why);
  record_accumulator::requeue(std::move(batch));
}

void batch_completion::retry_or_fail(std::unique_ptr<producer_batch> batch, std::string why,
                                     clock::time_point now, bool broker_answered) {
  const auto& config = core_.config;
  if (batch->attempts > config.retries || now >= batch->created + config.delivery_timeout) {
    // (The message is built before the batch is moved into the call.)
    auto failure = make_failure(
        error_code::request_timed_out,
        "deliver " + std::to_string(batch->builder.record_count()) + " records to " +
            partition_name(*batch->queue) + ": gave up after " + std::to_string(batch->attempts) +
            " attempts (retries " + std::to_string(config.retries) + ", delivery_timeout (" +
            std::to_string(config.delivery_timeout.count()) + " ms)); last error: " + why);
    fail(std::move(batch), std::move(failure));
    return;
  }
  if (!broker_answered) core_.metadata_needed = true;
  retry(std::move(batch), std::move(why), now);
}

void batch_completion::answered(
    std::unique_ptr<producer_batch> batch,
    const protocol::produce_response::partition_produce_response& answer, std::int32_t node,
    clock::time_point now) {
  const auto code = static_cast<error_code>(answer.error_code);
  if (code == error_code::none) {
    complete(std::move(batch), answer.base_offset, answer.log_append_time_ms);
    return;
  }
  std::string why = "produce to " + partition_name(*batch->queue) + " on broker " +
                    std::to_string(node) + ": " + error_name(code) +
                    (answer.error_message ? " (" + *answer.error_message + ")" : "");
  if (code == error_code::duplicate_sequence_number) {
    // An earlier attempt was written; its answer was lost. Offsets are unknown, not wrong.
    complete(std::move(batch), -1, -1);
    return;
  }
  const bool transactional = core_.txn.enabled();
  if (core_.ids.enabled() && (code == error_code::out_of_order_sequence_number ||
                              code == error_code::unknown_producer_id)) {
    if (!first_unacknowledged(*batch)) {
      // Only a consequence of an earlier batch of the partition failing: send it again after it.
      retry_or_fail(std::move(batch), why, now, true);
      return;
    }
    if (transactional) {
      fail(std::move(batch), make_failure(code, why));
      return;
    }
    // The broker lost our sequence (KIP-360): bump the epoch, then resend from sequence 0.
    spdlog::warn("producer: {}; bumping the producer epoch (KIP-360)", why);
    core_.ids.request_epoch_bump();
    // The sender restamps every queued batch once the epoch changed.
    retry(std::move(batch), why, now);
    return;
  }
  if (transactional &&
      (code == error_code::producer_fenced || code == error_code::invalid_producer_epoch ||
       code == error_code::transactional_id_authorization_failed)) {
    auto failure = make_failure(code, why + ": another producer with transactional id '" +
                                          *core_.config.transactional_id + "' fenced this one");
    core_.enter_fatal(failure);
    fail(std::move(batch), failure);
    return;
  }
  const auto action = classify(code);
  if (action == error_action::retry || action == error_action::refresh_metadata_and_retry ||
      action == error_action::find_coordinator_and_retry) {
    if (action == error_action::refresh_metadata_and_retry) core_.metadata_needed = true;
    retry_or_fail(std::move(batch), why, now, true);
    return;
  }
  fail(std::move(batch), make_failure(code, why));
}

void batch_completion::expire(clock::time_point now, clock::time_point& next) {
  const auto timeout = core_.config.delivery_timeout;
  for (auto& [name, topic] : core_.accumulator.topics()) {
    for (auto& queue : topic->partitions) {
      while (!queue.batches.empty()) {
        const auto due = queue.batches.front()->created + timeout;
        if (now < due) {
          next = std::min(next, due);
          break;
        }
        auto batch = std::move(queue.batches.front());
        queue.batches.pop_front();
        const auto what =
            "deliver " + std::to_string(batch->builder.record_count()) + " records to " +
            partition_name(queue) + ": delivery_timeout (" + std::to_string(timeout.count()) +
            " ms) expired after " + std::to_string(batch->attempts) + " attempts" +
            (batch->last_error.empty() ? std::string(" (never sent: no leader or no connection)")
                                       : "; last error: " + batch->last_error);
        fail(std::move(batch), make_failure(error_code::request_timed_out, what));
      }
    }
  }
}

void batch_completion::fail_all_queued(const std::exception_ptr& failure) {
  for (auto& [name, topic] : core_.accumulator.topics()) {
    for (auto& queue : topic->partitions) {
      while (!queue.batches.empty()) {
        auto batch = std::move(queue.batches.front());
        queue.batches.pop_front();
        fail(std::move(batch), failure);
      }
    }
  }
}

}  // namespace sluice::kafka
