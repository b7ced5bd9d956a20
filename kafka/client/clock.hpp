#pragma once

// The two time helpers every part of the client needs: the wall clock as Kafka timestamps carry
// it (milliseconds since the epoch), and a coroutine pause on an executor. One copy here, used by
// the producer, the consumer and its group code, and the layers above.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>

namespace sluice::kafka {

// Now, in milliseconds since the epoch: the unit of record timestamps (CreateTime) and of
// ListOffsets' timestamp lookups.
inline std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Waits `duration` on `executor` (a retry backoff, a poll interval). Cancelled with the
// coroutine's cancellation slot like any timer wait.
inline boost::asio::awaitable<void> sleep_for(boost::asio::any_io_executor executor,
                                              std::chrono::milliseconds duration) {
  boost::asio::steady_timer timer(executor, duration);
  co_await timer.async_wait(boost::asio::use_awaitable);
}

}  // namespace sluice::kafka
