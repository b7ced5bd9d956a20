#pragma once

// rebalance_handoff: the consumer's rebalance callbacks, turned into events that the stream loop
// handles at a safe point between records (franz-go's BlockRebalanceOnPoll; Kafka Streams runs
// its callbacks inside poll()).
//
// A callback queues its event and waits until the loop has handled it. So the group protocol
// moves on (JoinGroup after a revocation, fetching after an assignment) only once the loop has
// committed and closed what the event asks; and the loop looks at events only between records,
// never while it is inside process() or a commit. Processing, commits and opening or closing
// tasks therefore never interleave: the double commits of two paths acting on one transaction
// cannot happen by construction.
//
// An error while handling an event is the loop's error (run() throws it), never a log line of
// the consumer. Once the loop has ended (close()), callbacks return at once: the app is stopping
// and has closed its tasks already.
//
// One executor: the app's, which the consumer's group coroutine and the loop share.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "kafka/consumer/rebalance_listener.hpp"

namespace sluice::runtime {

namespace asio = boost::asio;

enum class rebalance_kind : std::uint8_t {
  revoked,   // commit, then close the tasks (state kept on disk)
  assigned,  // open the tasks; they restore before they process
  lost,      // someone else may own them already: drop their uncommitted work
};

struct rebalance_event {
  rebalance_kind kind = rebalance_kind::assigned;
  std::vector<kafka::topic_partition> partitions;
};

class rebalance_handoff final : public kafka::rebalance_listener {
 public:
  // The timer never expires; cancel() wakes every waiter (a second expires_at would cancel the
  // other waiters too, and they each other, forever).
  // `event_queued` runs when a callback has queued its event: the loop may be waiting in a poll
  // (up to its poll timeout), and is to look at the event now.
  rebalance_handoff(asio::any_io_executor executor, std::function<void()> event_queued)
      : wake_(executor, asio::steady_timer::time_point::max()),
        event_queued_(std::move(event_queued)) {}

  asio::awaitable<void> on_partitions_revoked(std::vector<kafka::topic_partition> revoked) override;
  asio::awaitable<void> on_partitions_assigned(
      std::vector<kafka::topic_partition> assigned) override;
  asio::awaitable<void> on_partitions_lost(std::vector<kafka::topic_partition> lost) override;

  // ---- the loop's side ----
  bool pending() const { return !queue_.empty(); }
  // The oldest event not handled yet; its callback keeps waiting until handled().
  std::optional<rebalance_event> next();
  // The event next() returned is done: its callback returns.
  void handled();
  // The loop has ended: waiting callbacks return, later ones do not wait.
  void close();

 private:
  asio::awaitable<void> hand_over(rebalance_event event);

  std::deque<rebalance_event> queue_;
  std::uint64_t queued_ = 0;
  std::uint64_t handled_ = 0;
  bool closed_ = false;
  asio::steady_timer wake_;  // waiting callbacks park on it; cancelled when something changed
  std::function<void()> event_queued_;
};

}  // namespace sluice::runtime
