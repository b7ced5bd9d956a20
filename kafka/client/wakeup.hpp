#pragma once

// A broadcast wake-up for coroutines on one single-threaded executor: `wait` parks until
// `notify_all` or a deadline, whichever comes first. Used where a condition variable would be
// (records arrived, a partition became fetchable, the assignment changed). A notify with nobody
// waiting is not remembered, so waiters re-check their condition before waiting.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <list>

namespace sluice::kafka {

namespace asio = boost::asio;

class wakeup {
 public:
  explicit wakeup(asio::any_io_executor executor) : executor_(std::move(executor)) {}
  wakeup(const wakeup&) = delete;
  wakeup& operator=(const wakeup&) = delete;

  // Returns when notified or at the deadline.
  asio::awaitable<void> wait(std::chrono::steady_clock::time_point deadline);
  void notify_all();

 private:
  asio::any_io_executor executor_;
  std::list<asio::steady_timer*> waiters_;
};

}  // namespace sluice::kafka
