#pragma once

// What send() gives back: a handle on one record's delivery.
//
// A record's outcome is its batch's outcome, so a handle is a shared pointer to the batch's
// result plus the record's index in it: no allocation per record, and one wake-up per batch for
// everyone waiting on its records.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>

namespace sluice::kafka {

namespace asio = boost::asio;

// Where a record landed (Java's RecordMetadata).
struct record_metadata {
  std::string topic;
  std::int32_t partition = -1;
  // -1 with acks=0 (the broker does not answer) and for a retried batch the broker recognised
  // as a duplicate of one it had written (the earlier answer was lost).
  std::int64_t offset = -1;
  // The record's create time, or the broker's append time for LogAppendTime topics.
  std::int64_t timestamp = -1;
  bool operator==(const record_metadata&) const = default;
};

namespace detail {
struct batch_state;
}

class delivery {
 public:
  delivery() = default;
  delivery(std::shared_ptr<detail::batch_state> batch, std::int32_t index)
      : batch_(std::move(batch)), index_(index) {}

  // Whether the outcome is known.
  bool done() const;
  // Waits for the outcome: the record's metadata, or a kafka_error saying why the record was
  // not written (and where: topic, partition, broker). The handle may be dropped before.
  asio::awaitable<record_metadata> get() const;
  // The outcome when done(); throws like get(), or std::logic_error if not done yet.
  record_metadata result() const;

 private:
  std::shared_ptr<detail::batch_state> batch_;
  std::int32_t index_ = 0;
};

}  // namespace sluice::kafka
