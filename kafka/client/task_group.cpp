#include "kafka/client/task_group.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>

namespace sluice::kafka {

task_group::task_group(const asio::any_io_executor& executor, std::string owner)
    : executor_(executor), owner_(std::move(owner)), state_(std::make_shared<state>(executor)) {}

void task_group::spawn(std::string name, asio::awaitable<void> task) {
  ++state_->running;
  asio::co_spawn(
      executor_, std::move(task),
      [shared = state_, owner = owner_, name = std::move(name)](const std::exception_ptr& failure) {
        if (failure) {
          try {
            std::rethrow_exception(failure);
          } catch (const std::exception& e) {
            spdlog::error("{} task '{}' failed: {}", owner, name, e.what());
          } catch (...) {
            spdlog::error("{} task '{}' failed with a non-standard exception", owner, name);
          }
        }
        if (--shared->running == 0) shared->idle.cancel();
      });
}

asio::awaitable<bool> task_group::wait_idle(std::chrono::steady_clock::time_point deadline) {
  auto shared = state_;
  while (shared->running > 0 && std::chrono::steady_clock::now() < deadline) {
    // The last task to finish cancels the timer. One waiter at a time (the owner's shutdown):
    // re-arming the timer cancels any other wait on it.
    shared->idle.expires_at(deadline);
    co_await shared->idle.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return shared->running == 0;
}

}  // namespace sluice::kafka
