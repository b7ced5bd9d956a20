#include "runtime/rebalance_handoff.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sluice::runtime {

// Named events, not braced temporaries, in co_await expressions: GCC 12 destroys such temporaries
// twice when they live across a suspension point.
asio::awaitable<void> rebalance_handoff::on_partitions_revoked(
    std::vector<kafka::topic_partition> revoked) {
  rebalance_event event{rebalance_kind::revoked, std::move(revoked)};
  co_await hand_over(std::move(event));
}

asio::awaitable<void> rebalance_handoff::on_partitions_assigned(
    std::vector<kafka::topic_partition> assigned) {
  rebalance_event event{rebalance_kind::assigned, std::move(assigned)};
  co_await hand_over(std::move(event));
}

asio::awaitable<void> rebalance_handoff::on_partitions_lost(
    std::vector<kafka::topic_partition> lost) {
  rebalance_event event{rebalance_kind::lost, std::move(lost)};
  co_await hand_over(std::move(event));
}

asio::awaitable<void> rebalance_handoff::hand_over(rebalance_event event) {
  if (closed_) co_return;
  queue_.push_back(std::move(event));
  const auto mine = ++queued_;
  if (event_queued_) event_queued_();
  while (handled_ < mine && !closed_) {
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));  // cancelled: re-check
  }
}

std::optional<rebalance_event> rebalance_handoff::next() {
  if (queue_.empty()) return std::nullopt;
  auto event = std::move(queue_.front());
  queue_.pop_front();
  return event;
}

void rebalance_handoff::handled() {
  ++handled_;
  wake_.cancel();
}

void rebalance_handoff::close() {
  closed_ = true;
  queue_.clear();
  wake_.cancel();
}

}  // namespace sluice::runtime
