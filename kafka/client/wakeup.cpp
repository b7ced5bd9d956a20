#include "kafka/client/wakeup.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sluice::kafka {

asio::awaitable<void> wakeup::wait(std::chrono::steady_clock::time_point deadline) {
  asio::steady_timer timer(executor_, deadline);
  auto self = waiters_.insert(waiters_.end(), &timer);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  waiters_.erase(self);
}

void wakeup::notify_all() {
  for (auto* timer : waiters_) timer->cancel();
}

}  // namespace sluice::kafka
