#pragma once

// The idempotent producer's bookkeeping (KIP-98, KIP-360), without I/O: its producer id and
// epoch, each partition's next sequence number, whether an epoch bump is due, and the rules for
// how many batches of one partition may be in flight.
//
// The rules (see sender.hpp for the sender that follows them):
// - A batch gets the producer id, epoch and its partition's next sequence when first drained and
//   keeps them across retries, so the broker drops a resent duplicate. After an epoch bump it is
//   stamped again, and every partition starts over at sequence 0.
// - Until the broker acknowledged one batch of the current epoch on a partition, only one batch
//   is in flight there: a broker without state for the producer accepts any first sequence, so a
//   later batch could be written before an earlier one that failed, and the order would be lost.
// - A batch that comes back to be retried holds its partition until every batch still in flight
//   there has come back (`retrying`), so the retry is written before what followed it. This one
//   holds for every producer, idempotent or not.
//
// Threading: owned by one producer and used on its executor only.

#include <cstdint>

#include "kafka/producer/record_accumulator.hpp"

namespace sluice::kafka {

// Java's DefaultRecordBatch.incrementSequence: sequences wrap to 0 after INT32_MAX.
std::int32_t increment_sequence(std::int32_t sequence, std::int32_t increment);

class idempotence {
 public:
  explicit idempotence(bool enabled) : enabled_(enabled) {}

  bool enabled() const { return enabled_; }
  // records::no_producer_id / no_producer_epoch until InitProducerId answered.
  std::int64_t producer_id() const { return producer_id_; }
  std::int16_t producer_epoch() const { return producer_epoch_; }
  bool has_producer_id() const { return producer_id_ >= 0; }
  void set_producer(std::int64_t id, std::int16_t epoch) {
    producer_id_ = id;
    producer_epoch_ = epoch;
  }
  // KIP-360: an idempotent producer without a transactional id bumps its epoch itself; the
  // broker accepts a higher epoch that starts again at sequence 0. False when the epoch is
  // exhausted and a new producer id is needed instead (InitProducerId).
  bool bump_epoch_locally();

  // Epoch bumps (KIP-360): requested when the broker and the producer disagree about a
  // partition's sequence; the sender stops draining until the bump is done.
  void request_epoch_bump() { epoch_bump_needed_ = true; }
  bool epoch_bump_needed() const { return epoch_bump_needed_; }
  // Whether to start the bump now: requested, not running, and nothing stamped with the old
  // epoch in flight any more. Marks it running.
  bool start_epoch_bump(int batches_in_flight);
  // The bump is over; `succeeded` clears the request.
  void end_epoch_bump(bool succeeded);

  // Stamps the producer id, epoch and the partition's next sequence on a batch not stamped with
  // the current ones (a new batch, or one queued before an epoch bump). True if it stamped, so
  // the batch's encoded bytes are stale. No-op (false) when idempotence is off.
  bool stamp(producer_batch& batch);
  // The broker acknowledged the batch: if it carries the current epoch, the partition may have
  // more than one batch in flight from now on.
  void acknowledged(const producer_batch& batch);
  // Every partition starts again at sequence 0 (a new epoch or producer id).
  static void reset_sequences(record_accumulator& accumulator);
  // The ordering rules above: may the partition's front batch be sent now, given what is in
  // flight?
  bool in_flight_allows(const partition_queue& queue) const;

 private:
  const bool enabled_;
  std::int64_t producer_id_ = records::no_producer_id;
  std::int16_t producer_epoch_ = records::no_producer_epoch;
  bool epoch_bump_needed_ = false;
  bool epoch_bumping_ = false;
};

// In-flight bookkeeping per partition, for every producer.

// The batch leaves its partition's queue for a request.
void mark_in_flight(producer_batch& batch);
// The batch's request came back (answered or not). The partition stops retrying once nothing of
// it is in flight.
void remove_in_flight(producer_batch& batch);
// The batch came back to be retried: if batches sent after it are still out, the partition holds
// until they are back too.
void hold_for_retry(producer_batch& batch);
// Whether the batch is the partition's oldest unacknowledged one: only its sequence error says
// the broker lost state; a later batch's error follows from it.
bool first_unacknowledged(const producer_batch& batch);

}  // namespace sluice::kafka
