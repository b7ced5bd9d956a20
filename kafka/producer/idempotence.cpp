#include "kafka/producer/idempotence.hpp"

#include <algorithm>
#include <climits>
#include <limits>

namespace sluice::kafka {

std::int32_t increment_sequence(std::int32_t sequence, std::int32_t increment) {
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1;
  return sequence + increment;
}

bool idempotence::bump_epoch_locally() {
  // Near the end of the epoch range the caller asks for a new producer id instead.
  if (producer_epoch_ >= std::numeric_limits<std::int16_t>::max() - 1) return false;
  ++producer_epoch_;
  return true;
}

bool idempotence::start_epoch_bump(int batches_in_flight) {
  if (!epoch_bump_needed_ || epoch_bumping_ || batches_in_flight > 0) return false;
  epoch_bumping_ = true;
  return true;
}

void idempotence::end_epoch_bump(bool succeeded) {
  if (succeeded) epoch_bump_needed_ = false;
  epoch_bumping_ = false;
}

bool idempotence::stamp(producer_batch& batch) {
  if (!enabled_) return false;
  if (batch.stamped && batch.producer_id == producer_id_ && batch.producer_epoch == producer_epoch_)
    return false;
  auto& queue = *batch.queue;
  batch.producer_id = producer_id_;
  batch.producer_epoch = producer_epoch_;
  batch.base_sequence = queue.next_sequence;
  batch.builder.set_producer_state(producer_id_, producer_epoch_, queue.next_sequence);
  queue.next_sequence = increment_sequence(queue.next_sequence, batch.builder.record_count());
  batch.stamped = true;
  return true;
}

void idempotence::acknowledged(const producer_batch& batch) {
  if (batch.stamped && batch.producer_epoch == producer_epoch_ &&
      batch.producer_id == producer_id_) {
    batch.queue->sequence_confirmed = true;
  }
}

void idempotence::reset_sequences(record_accumulator& accumulator) {
  for (auto& [name, topic] : accumulator.topics()) {
    for (auto& queue : topic->partitions) {
      queue.next_sequence = 0;
      queue.sequence_confirmed = false;
      queue.retrying = false;
    }
  }
}

bool idempotence::in_flight_allows(const partition_queue& queue) const {
  if (queue.in_flight.empty()) return true;
  if (queue.retrying) return false;
  return !enabled_ || queue.sequence_confirmed;
}

void mark_in_flight(producer_batch& batch) {
  batch.queue->in_flight.push_back(&batch);
}

void remove_in_flight(producer_batch& batch) {
  auto& in_flight = batch.queue->in_flight;
  auto it = std::find(in_flight.begin(), in_flight.end(), &batch);
  if (it == in_flight.end()) return;
  in_flight.erase(it);
  if (in_flight.empty()) batch.queue->retrying = false;
}

void hold_for_retry(producer_batch& batch) {
  remove_in_flight(batch);
  if (!batch.queue->in_flight.empty()) batch.queue->retrying = true;
}

bool first_unacknowledged(const producer_batch& batch) {
  const auto& queue = *batch.queue;
  return !queue.retrying && !queue.in_flight.empty() && queue.in_flight.front() == &batch;
}

}  // namespace sluice::kafka
