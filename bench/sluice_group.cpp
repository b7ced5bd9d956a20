// Sluice group driver for scripts/bench: two members of one new consumer group (classic
// protocol, --assignor alone: "range" is eager, "cooperative-sticky" incremental, KIP-429) on one
// io_context. Member A subscribes to --topic, gets its partitions and fetches for a second; then
// member B subscribes; the driver waits until both together own all --partitions partitions with
// B owning some. Every listener call is printed with its CLOCK_MONOTONIC time; bench/run.py works
// out the join times and pauses from them. Both members call getmany() all the time, as an
// application would. Everything but the assignor is the consumer's default.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bench/driver_common.hpp"
#include "kafka/client/clock.hpp"
#include "kafka/consumer/consumer.hpp"
#include "kafka/consumer/rebalance_listener.hpp"
#include "kafka/net/broker_address.hpp"

namespace asio = boost::asio;
using namespace sluice;

namespace {

constexpr auto settle_timeout = std::chrono::seconds(90);

struct event {
  char member;
  std::string kind;  // subscribe, assigned, revoked, lost
  double t;
  std::vector<std::int32_t> partitions;
};

struct group_log {
  std::vector<event> events;
  std::set<std::int32_t> owned[2];
  bool stop = false;
  int loops_running = 0;
};

class listener final : public kafka::rebalance_listener {
 public:
  listener(std::shared_ptr<group_log> log, char member) : log_(std::move(log)), member_(member) {}

  asio::awaitable<void> on_partitions_revoked(
      std::vector<kafka::topic_partition> revoked) override {
    note("revoked", revoked);
    co_return;
  }
  asio::awaitable<void> on_partitions_assigned(
      std::vector<kafka::topic_partition> assigned) override {
    note("assigned", assigned);
    co_return;
  }
  asio::awaitable<void> on_partitions_lost(std::vector<kafka::topic_partition> lost) override {
    note("lost", lost);
    co_return;
  }

 private:
  void note(const char* kind, const std::vector<kafka::topic_partition>& partitions) {
    event e{member_, kind, bench::monotonic_seconds(), {}};
    auto& owned = log_->owned[member_ - 'A'];
    for (const auto& tp : partitions) {
      e.partitions.push_back(tp.partition);
      if (e.kind == "assigned")
        owned.insert(tp.partition);
      else
        owned.erase(tp.partition);
    }
    log_->events.push_back(std::move(e));
  }

  std::shared_ptr<group_log> log_;
  char member_;
};

// What an application does between rebalances: getmany() in a loop.
asio::awaitable<void> poll_loop(kafka::consumer* consumer, std::shared_ptr<group_log> log) {
  ++log->loops_running;
  try {
    while (!log->stop) (void)co_await consumer->getmany(std::chrono::milliseconds(20));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sluice_group: getmany failed: %s\n", e.what());
  }
  --log->loops_running;
}

// Waits (checking every millisecond) until `done()` holds; false after settle_timeout.
template <typename Done>
asio::awaitable<bool> wait_until(asio::any_io_executor executor, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + settle_timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) co_return false;
    co_await kafka::sleep_for(executor, std::chrono::milliseconds(1));
  }
  co_return true;
}

kafka::consumer_config member_config(const bench::driver_args& args, const char* name) {
  kafka::consumer_config config;
  config.bootstrap_servers = kafka::parse_bootstrap_servers(args.bootstrap);
  config.client_id = std::string("sluice-bench-group-") + name;
  config.group_id = args.group;
  config.enable_auto_commit = false;
  config.offset_reset = kafka::auto_offset_reset::earliest;
  config.assignment_strategies = {args.assignor};
  return config;
}

asio::awaitable<int> run(asio::any_io_executor executor, bench::driver_args args) {
  if (args.group.empty()) throw std::invalid_argument("--group is required");
  if (args.assignor != "range" && args.assignor != "cooperative-sticky") {
    throw std::invalid_argument("--assignor must be range or cooperative-sticky, not '" +
                                args.assignor + "'");
  }
  auto log = std::make_shared<group_log>();
  kafka::consumer a(executor, member_config(args, "a"));
  kafka::consumer b(executor, member_config(args, "b"));
  co_await a.start();
  co_await b.start();

  log->events.push_back({'A', "subscribe", bench::monotonic_seconds(), {}});
  a.subscribe(std::vector<std::string>{args.topic}, std::make_shared<listener>(log, 'A'));
  asio::co_spawn(executor, poll_loop(&a, log), [](std::exception_ptr) {});
  bool settled = co_await wait_until(executor, [&] { return !log->owned[0].empty(); });
  if (settled) {
    co_await kafka::sleep_for(executor, std::chrono::milliseconds(1000));
    log->events.push_back({'B', "subscribe", bench::monotonic_seconds(), {}});
    b.subscribe(std::vector<std::string>{args.topic}, std::make_shared<listener>(log, 'B'));
    asio::co_spawn(executor, poll_loop(&b, log), [](std::exception_ptr) {});
    settled = co_await wait_until(executor, [&] {
      return !log->owned[1].empty() && log->owned[0].size() + log->owned[1].size() ==
                                           static_cast<std::size_t>(args.partitions);
    });
  }
  if (!settled) std::fprintf(stderr, "sluice_group: the group did not settle within 90 s\n");
  // Stopping revokes again: not part of the measurement.
  const std::vector<event> recorded = log->events;
  log->stop = true;
  co_await wait_until(executor, [&] { return log->loops_running == 0; });
  co_await b.stop();
  co_await a.stop();

  std::printf("{\"errors\": %d, \"events\": [", settled ? 0 : 1);
  for (std::size_t i = 0; i < recorded.size(); ++i) {
    const event& e = recorded[i];
    std::printf("%s{\"member\": \"%c\", \"event\": \"%s\", \"t\": %.6f, \"partitions\": [",
                i ? ", " : "", e.member, e.kind.c_str(), e.t);
    for (std::size_t j = 0; j < e.partitions.size(); ++j)
      std::printf("%s%d", j ? ", " : "", e.partitions[j]);
    std::printf("]}");
  }
  std::printf("]}\n");
  std::fflush(stdout);
  co_return settled ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return bench::driver_main(argc, argv, "sluice_group", run);
}
