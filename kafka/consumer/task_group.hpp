#pragma once

// The background coroutines one consumer owns (fetch scheduler, per-broker fetches, heartbeat,
// auto commit). Every spawned coroutine is counted; a failure is logged with the task's name, never
// lost; `wait_idle` lets shutdown drain them with a deadline (the two-phase shutdown of
// docs/architecture.md: the owner first stops new work and wakes its loops, drains, then closes
// the connections so whatever still waits on a broker fails fast, and drains again).
//
// Threading: spawn and wait on the single-threaded executor given to the constructor.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <string>

namespace sluice::kafka {

namespace asio = boost::asio;

class task_group {
 public:
  explicit task_group(const asio::any_io_executor& executor);
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;

  void spawn(std::string name, asio::awaitable<void> task);
  int running() const { return running_; }
  // True once every task finished; false if the deadline passed first.
  asio::awaitable<bool> wait_idle(std::chrono::steady_clock::time_point deadline);

 private:
  asio::any_io_executor executor_;
  asio::steady_timer idle_;
  int running_ = 0;
};

}  // namespace sluice::kafka
