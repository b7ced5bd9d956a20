#pragma once

// What becomes of a batch once it left its queue or waited too long: completed with its offsets,
// sent again after a retriable error (back to the front of its queue, in order), or failed for
// good, with the consequences for idempotence (a sequence gap needs an epoch bump, KIP-360) and
// for the open transaction (a failed batch makes it abortable, fencing makes the producer fail).
// The rules are those of the sender (see sender.hpp).
//
// Threading: the producer's executor.

#include <cstdint>
#include <exception>
#include <memory>
#include <string>

#include "kafka/producer/producer_core.hpp"
#include "kafka/protocol/messages/produce.hpp"

namespace sluice::kafka {

// "topic-partition", for messages.
std::string partition_name(const partition_queue& queue);

class batch_completion {
 public:
  using clock = producer_clock;

  explicit batch_completion(producer_core& core) : core_(core) {}

  void complete(std::unique_ptr<producer_batch> batch, std::int64_t base_offset,
                std::int64_t append_time);
  void fail(std::unique_ptr<producer_batch> batch, std::exception_ptr failure);
  // The broker's answer for one batch of a Produce request to `node`.
  void answered(std::unique_ptr<producer_batch> batch,
                const protocol::produce_response::partition_produce_response& answer,
                std::int32_t node, clock::time_point now);
  // A retriable failure: sent again unless retries or delivery_timeout ran out. Without an
  // answer from the broker the leader may have moved, so metadata is refreshed.
  void retry_or_fail(std::unique_ptr<producer_batch> batch, std::string why, clock::time_point now,
                     bool broker_answered);
  // Fails the queued batches that are past delivery_timeout; lowers `next` to the next such
  // deadline.
  void expire(clock::time_point now, clock::time_point& next);
  void fail_all_queued(const std::exception_ptr& failure);

 private:
  void finish(producer_batch& batch);
  void retry(std::unique_ptr<producer_batch> batch, std::string why, clock::time_point now);

  producer_core& core_;
};

}  // namespace sluice::kafka
