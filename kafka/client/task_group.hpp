#pragma once

// The background coroutines one client owns (the consumer's fetch scheduler, per-broker fetches,
// heartbeat and auto commit; the producer's sender, per-broker requests and housekeeping). Every
// spawned coroutine is counted; a failure is logged with the task's name, never lost; `wait_idle`
// lets shutdown drain them with a deadline (the two-phase shutdown of docs/architecture.md: the
// owner first stops new work and wakes its loops, drains, then closes the connections so whatever
// still waits on a broker fails fast, and drains again).
//
// Threading: spawn and wait on the single-threaded executor given to the constructor.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>

namespace sluice::kafka {

namespace asio = boost::asio;

class task_group {
 public:
  // `owner` ("consumer", "producer") starts the log line of a task that failed.
  task_group(const asio::any_io_executor& executor, std::string owner);
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;

  void spawn(std::string name, asio::awaitable<void> task);
  int running() const { return state_->running; }
  // True once every task finished; false if the deadline passed first.
  asio::awaitable<bool> wait_idle(std::chrono::steady_clock::time_point deadline);

 private:
  // Shared with each task's completion handler: a task may keep the group's owner alive and be
  // the one to destroy it (see consumer::impl::spawn), after which its completion handler still
  // runs and must not touch the destroyed task_group.
  struct state {
    explicit state(const asio::any_io_executor& executor)
        : idle(executor, asio::steady_timer::time_point::max()) {}
    asio::steady_timer idle;
    int running = 0;
  };
  asio::any_io_executor executor_;
  std::string owner_;
  std::shared_ptr<state> state_;
};

}  // namespace sluice::kafka
