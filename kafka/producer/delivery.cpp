#include "kafka/producer/delivery.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

#include "kafka/producer/batch_state.hpp"

namespace sluice::kafka {

namespace detail {

asio::awaitable<void> batch_state::wait() {
  while (!done) {
    if (!waiters) {
      waiters.emplace(executor);
      waiters->expires_at(asio::steady_timer::time_point::max());
    }
    // finish() cancels the timer; every waiter wakes (and loops once if woken otherwise).
    co_await waiters->async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace detail

namespace {

asio::awaitable<record_metadata> wait_for(std::shared_ptr<detail::batch_state> batch,
                                          std::int32_t index) {
  co_await batch->wait();
  co_return batch->metadata(index);
}

}  // namespace

bool delivery::done() const {
  return batch_ && batch_->done;
}

asio::awaitable<record_metadata> delivery::get() const {
  if (!batch_) throw std::logic_error("delivery::get on an empty delivery handle");
  return wait_for(batch_, index_);
}

record_metadata delivery::result() const {
  if (!done()) throw std::logic_error("delivery::result before the record's outcome is known");
  return batch_->metadata(index_);
}

}  // namespace sluice::kafka
