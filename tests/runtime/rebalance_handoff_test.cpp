#include "runtime/rebalance_handoff.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

namespace sluice::runtime {
namespace {

namespace asio = boost::asio;
using kafka::topic_partition;

// Plays the consumer's group coroutine: calls one callback and notes when it returned.
struct group_side {
  rebalance_handoff& handoff;
  std::vector<std::string>& returned;

  asio::awaitable<void> revoke(std::vector<topic_partition> partitions, std::string name) {
    co_await handoff.on_partitions_revoked(std::move(partitions));
    returned.push_back(std::move(name));
  }
  asio::awaitable<void> assign(std::vector<topic_partition> partitions, std::string name) {
    co_await handoff.on_partitions_assigned(std::move(partitions));
    returned.push_back(std::move(name));
  }
  asio::awaitable<void> lose(std::vector<topic_partition> partitions, std::string name) {
    co_await handoff.on_partitions_lost(std::move(partitions));
    returned.push_back(std::move(name));
  }
};

struct fixture {
  asio::io_context context;
  int loop_woken = 0;  // how often the handoff woke the loop's poll
  rebalance_handoff handoff{context.get_executor(), [this] { ++loop_woken; }};
  std::vector<std::string> returned;
  group_side group{handoff, returned};

  template <typename Awaitable>
  void spawn(Awaitable awaitable) {
    asio::co_spawn(context, std::move(awaitable), asio::detached);
    settle();
  }
  void settle() {
    context.restart();
    context.poll();
  }
};

TEST(rebalance_handoff, a_callback_returns_only_after_the_loop_handled_its_event) {
  fixture f;
  const std::vector<topic_partition> partitions{{"in", 0}, {"in", 1}};
  f.spawn(f.group.revoke(partitions, "revoked"));
  EXPECT_TRUE(f.returned.empty());
  ASSERT_TRUE(f.handoff.pending());
  EXPECT_EQ(f.loop_woken, 1) << "the loop, waiting in a poll, was not told of the event";

  auto event = f.handoff.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->kind, rebalance_kind::revoked);
  EXPECT_EQ(event->partitions, partitions);
  f.settle();
  EXPECT_TRUE(f.returned.empty())
      << "the callback returned while the loop was still handling its event";

  f.handoff.handled();
  f.settle();
  EXPECT_EQ(f.returned, std::vector<std::string>{"revoked"});
  EXPECT_FALSE(f.handoff.pending());
}

TEST(rebalance_handoff, events_reach_the_loop_in_order_and_each_callback_waits_for_its_own) {
  fixture f;
  f.spawn(f.group.revoke({{"in", 0}}, "revoked"));
  f.spawn(f.group.assign({{"in", 1}}, "assigned"));
  f.spawn(f.group.lose({{"in", 2}}, "lost"));
  EXPECT_EQ(f.loop_woken, 3);

  auto first = f.handoff.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->kind, rebalance_kind::revoked);
  f.handoff.handled();
  f.settle();
  EXPECT_EQ(f.returned, std::vector<std::string>{"revoked"});

  auto second = f.handoff.next();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->kind, rebalance_kind::assigned);
  EXPECT_EQ(second->partitions, (std::vector<topic_partition>{{"in", 1}}));
  f.handoff.handled();
  f.settle();
  EXPECT_EQ(f.returned, (std::vector<std::string>{"revoked", "assigned"}));

  auto third = f.handoff.next();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->kind, rebalance_kind::lost);
  f.handoff.handled();
  f.settle();
  EXPECT_EQ(f.returned, (std::vector<std::string>{"revoked", "assigned", "lost"}));
  EXPECT_FALSE(f.handoff.next());
}

TEST(rebalance_handoff, closing_releases_waiting_callbacks_and_later_ones_do_not_wait) {
  fixture f;
  f.spawn(f.group.revoke({{"in", 0}}, "waiting"));
  EXPECT_TRUE(f.returned.empty());
  f.handoff.close();
  f.settle();
  EXPECT_EQ(f.returned, std::vector<std::string>{"waiting"});
  EXPECT_FALSE(f.handoff.pending());

  f.spawn(f.group.revoke({{"in", 1}}, "after close"));
  EXPECT_EQ(f.returned, (std::vector<std::string>{"waiting", "after close"}));
  EXPECT_FALSE(f.handoff.pending()) << "an event queued after close would never be handled";
}

}  // namespace
}  // namespace sluice::runtime
