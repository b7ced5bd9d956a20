#pragma once

// The shared result of one producer batch (internal to the producer). Every delivery handle of
// the batch's records points here. It lives as long as the batch or any handle.
//
// Threading: completed and awaited on the producer's strand only.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <exception>
#include <optional>
#include <vector>

#include "kafka/producer/delivery.hpp"

namespace sluice::kafka::detail {

struct batch_state {
  batch_state(asio::any_io_executor executor, std::shared_ptr<const std::string> topic,
              std::int32_t partition)
      : executor(std::move(executor)), topic(std::move(topic)), partition(partition) {}

  asio::any_io_executor executor;
  std::shared_ptr<const std::string> topic;
  std::int32_t partition;
  // Each record's create timestamp, by index in the batch.
  std::vector<std::int64_t> timestamps;

  bool done = false;
  std::int64_t base_offset = -1;
  std::int64_t log_append_time = -1;
  std::exception_ptr error;
  // Created by the first waiter; cancelled (which wakes every waiter) on completion.
  std::optional<asio::steady_timer> waiters;

  void complete(std::int64_t offset, std::int64_t append_time) {
    if (done) return;
    base_offset = offset;
    log_append_time = append_time;
    finish();
  }
  void fail(std::exception_ptr failure) {
    if (done) return;
    error = std::move(failure);
    finish();
  }
  record_metadata metadata(std::int32_t index) const {
    if (error) std::rethrow_exception(error);
    const auto offset = base_offset < 0 ? -1 : base_offset + index;
    const auto timestamp =
        log_append_time >= 0 ? log_append_time : timestamps[static_cast<std::size_t>(index)];
    return {*topic, partition, offset, timestamp};
  }
  asio::awaitable<void> wait();

 private:
  void finish() {
    done = true;
    if (waiters) waiters->cancel();
  }
};

}  // namespace sluice::kafka::detail
