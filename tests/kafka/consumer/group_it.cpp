// Consumer groups (classic protocol) against the real broker: commits, members splitting
// partitions and rebalancing as they join and leave (range, roundrobin, cooperative-sticky),
// pattern subscriptions, max_poll_interval and CommitFailed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "kafka/consumer/consumer.hpp"
#include "kafka/consumer/consumer_error.hpp"
#include "tests/kafka/consumer/consumer_it_support.hpp"

namespace sluice::kafka {
namespace {

using namespace test_support;
using sluice::test::run_coroutine;
using std::chrono::milliseconds;

consumer_config group_settings(const std::string& group, const std::string& assignor) {
  auto config = consumer_settings(group);
  config.assignment_strategies = {assignor};
  config.heartbeat_interval = milliseconds(300);
  config.session_timeout = milliseconds(10'000);
  config.enable_auto_commit = false;
  return config;
}

asio::awaitable<void> commits_with_manual_assignment(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("commit");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 2);
  co_await produce(admin, topic, 0, numbered(0, 10));
  topic_partition p0{topic, 0}, p1{topic, 1};
  std::vector<topic_partition> both{p0, p1};
  {
    consumer c(ex, group_settings(group, "range"));
    co_await c.start();
    c.assign(both);
    auto nothing = co_await c.committed(both);
    EXPECT_FALSE(nothing[p0].has_value());
    EXPECT_FALSE(nothing[p1].has_value());
    auto records = co_await read_records(c, 6);
    EXPECT_EQ(records.size(), 10u - 4u);
    co_await c.commit();
    auto after = co_await c.committed(both);
    EXPECT_TRUE(after[p0].has_value());
    if (after[p0]) {
      EXPECT_EQ(after[p0]->offset, 6);
    }
    std::map<topic_partition, offset_and_metadata> explicit_offsets{{p0, {3, "checkpoint-3", -1}}};
    co_await c.commit(explicit_offsets);
    auto explicit_after = co_await c.committed(both);
    EXPECT_TRUE(explicit_after[p0].has_value());
    if (explicit_after[p0]) {
      EXPECT_EQ(explicit_after[p0]->offset, 3);
      EXPECT_EQ(explicit_after[p0]->metadata, "checkpoint-3");
    }
    // seek_to_committed goes back to 3.
    co_await c.seek_to_committed();
    EXPECT_EQ(co_await c.position(p0), log_offset{3});
    co_await c.stop();
  }
  // A new consumer of the group starts from the committed offset, not from auto_offset_reset.
  consumer next(ex, group_settings(group, "range"));
  co_await next.start();
  next.assign(both);
  auto first = co_await next.getone(milliseconds(20'000));
  EXPECT_TRUE(first.has_value());
  if (first) {
    EXPECT_EQ(first->offset, 3);
  }
  co_await next.stop();
  admin.close();
}

TEST(consumer_group, commits_with_manual_assignment) {
  run_coroutine([](asio::any_io_executor ex) { return commits_with_manual_assignment(ex); });
}

// KIP-320 for a committed position: the group committed offset 20 with leader epoch 0, but the
// partition's epoch 0 ends at 10 (as after a truncation that lost what was committed). A new
// member must go on at 10, where the logs diverge, instead of resetting by auto_offset_reset
// (earliest: re-reading 0..9) on OFFSET_OUT_OF_RANGE. With the negotiated Fetch version the first
// fetch's diverging epoch says so; capped at Fetch v11 (no diverging epochs) the consumer
// validates the committed position with OffsetForLeaderEpoch before fetching.
asio::awaitable<void> committed_epoch_is_validated(asio::any_io_executor ex,
                                                   std::optional<int> fetch_version) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("validate");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 1);
  co_await produce(admin, topic, 0, numbered(0, 10));
  topic_partition p0{topic, 0};
  std::vector<topic_partition> one{p0};
  {
    consumer c(ex, group_settings(group, "range"));
    co_await c.start();
    c.assign(one);
    std::map<topic_partition, offset_and_metadata> beyond{{p0, {20, "", 0}}};
    co_await c.commit(beyond);
    co_await c.stop();
  }
  consumer next(ex, group_settings(group, "range"));
  if (fetch_version) next.limit_fetch_version_for_testing(*fetch_version);
  co_await next.start();
  next.assign(one);
  // The position starts at the committed 20 and moves to 10 once the truncation is found; records
  // handed out meanwhile would mean a reset by policy.
  std::vector<consumer_record> early;
  auto position = co_await next.position(p0);
  for (int round = 0; round < 150 && position != log_offset{10}; ++round) {
    auto batch = co_await next.getmany(milliseconds(200));
    early.insert(early.end(), batch.begin(), batch.end());
    position = co_await next.position(p0);
  }
  EXPECT_EQ(position, log_offset{10}) << "the committed position was not validated";
  EXPECT_TRUE(early.empty()) << early.size() << " records re-read from offset "
                             << (early.empty() ? -1 : early.front().offset);
  co_await produce(admin, topic, 0, numbered(10, 5));  // offsets 10..14
  auto first = co_await next.getone(milliseconds(20'000));
  EXPECT_TRUE(first.has_value());
  if (first) {
    EXPECT_EQ(first->offset, 10);
  }
  co_await next.stop();
  admin.close();
}

TEST(consumer_group, committed_epoch_is_validated_by_the_fetch) {
  run_coroutine(
      [](asio::any_io_executor ex) { return committed_epoch_is_validated(ex, std::nullopt); });
}

TEST(consumer_group, committed_epoch_is_validated_with_offset_for_leader_epoch) {
  run_coroutine([](asio::any_io_executor ex) { return committed_epoch_is_validated(ex, 11); });
}

asio::awaitable<void> members_split_and_rebalance(asio::any_io_executor ex, std::string assignor) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("split");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 4);
  auto first_listener = std::make_shared<recording_listener>();
  auto second_listener = std::make_shared<recording_listener>();
  consumer a(ex, group_settings(group, assignor));
  consumer b(ex, group_settings(group, assignor));
  co_await a.start();
  co_await b.start();
  std::vector<consumer*> only_a{&a};
  std::vector<consumer*> both_members{&a, &b};
  std::vector<std::string> topics(1, topic);
  a.subscribe(topics, first_listener);
  EXPECT_EQ(a.subscription(), (std::set<std::string>{topic}));
  EXPECT_TRUE(co_await poll_until(only_a, [&] { return a.assignment().size() == 4; }))
      << "the only member did not get all 4 partitions";
  auto alone = a.group_metadata();
  EXPECT_EQ(alone.group_id, group);
  EXPECT_GE(alone.generation_id.value(), 1);
  EXPECT_FALSE(alone.member_id.empty());

  b.subscribe(topics, second_listener);
  EXPECT_TRUE(co_await poll_until(
      both_members, [&] { return a.assignment().size() == 2 && b.assignment().size() == 2; }))
      << assignor << ": the partitions were not split 2/2 (a has " << a.assignment().size()
      << ", b has " << b.assignment().size() << ")";
  std::set<topic_partition> together;
  for (const auto& tp : a.assignment()) together.insert(tp);
  for (const auto& tp : b.assignment()) together.insert(tp);
  EXPECT_EQ(together.size(), 4u);
  EXPECT_GT(a.group_metadata().generation_id, alone.generation_id);

  // Records of every partition reach exactly one member.
  for (int p = 0; p < 4; ++p) co_await produce(admin, topic, p, numbered(0, 10));
  std::vector<consumer_record> received;
  EXPECT_TRUE(co_await poll_until(
      both_members, [&] { return received.size() >= 40; }, &received));
  std::set<std::pair<int, std::int64_t>> unique;
  for (const auto& r : received) unique.insert({r.partition, r.offset});
  EXPECT_EQ(received.size(), 40u);
  EXPECT_EQ(unique.size(), 40u);
  co_await a.commit();
  co_await b.commit();

  // b leaves: a gets everything back, from the committed offsets (nothing is read twice).
  co_await b.stop();
  std::vector<consumer_record> after;
  EXPECT_TRUE(co_await poll_until(
      only_a, [&] { return a.assignment().size() == 4; }, &after));
  co_await produce(admin, topic, 0, numbered(10, 1));
  EXPECT_TRUE(co_await poll_until(
      only_a, [&] { return !after.empty(); }, &after));
  EXPECT_EQ(after.size(), 1u);
  if (!after.empty()) {
    EXPECT_EQ(after.front().offset, 10);
  }

  EXPECT_FALSE(first_listener->events.empty());
  EXPECT_EQ(first_listener->events.front(), "assigned:4");
  EXPECT_FALSE(second_listener->events.empty());
  if (assignor == "cooperative-sticky") {
    // Incremental: a gave up only the two partitions that moved, and kept the others throughout.
    EXPECT_NE(std::find(first_listener->events.begin(), first_listener->events.end(), "revoked:2"),
              first_listener->events.end());
    EXPECT_EQ(std::find(first_listener->events.begin(), first_listener->events.end(), "revoked:4"),
              first_listener->events.end());
  } else {
    EXPECT_NE(std::find(first_listener->events.begin(), first_listener->events.end(), "revoked:4"),
              first_listener->events.end());
  }
  // b revoked its partitions when it left.
  EXPECT_EQ(second_listener->events.back(), "revoked:2");
  co_await a.stop();
  admin.close();
}

TEST(consumer_group, members_split_and_rebalance_range) {
  run_coroutine([](asio::any_io_executor ex) { return members_split_and_rebalance(ex, "range"); },
                std::chrono::seconds(240));
}

TEST(consumer_group, members_split_and_rebalance_roundrobin) {
  run_coroutine(
      [](asio::any_io_executor ex) { return members_split_and_rebalance(ex, "roundrobin"); },
      std::chrono::seconds(240));
}

TEST(consumer_group, members_split_and_rebalance_cooperative_sticky) {
  run_coroutine(
      [](asio::any_io_executor ex) {
        return members_split_and_rebalance(ex, "cooperative-sticky");
      },
      std::chrono::seconds(240));
}

asio::awaitable<void> pattern_subscription(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto prefix = test::unique_topic("pattern");
  co_await create_topic(admin, prefix + "-a", 1);
  co_await create_topic(admin, prefix + "-b", 2);
  co_await create_topic(admin, "other-" + prefix, 1);
  auto config = group_settings(test::unique_topic("group"), "range");
  // Re-check the pattern every second so that the new topic shows up quickly.
  config.metadata_max_age = milliseconds(1'000);
  consumer c(ex, config);
  co_await c.start();
  std::vector<consumer*> only_c{&c};
  c.subscribe(std::regex(prefix + "-.*"));
  EXPECT_TRUE(co_await poll_until(only_c, [&] { return c.assignment().size() == 3; }))
      << "assigned " << c.assignment().size();
  EXPECT_EQ(c.subscription(), (std::set<std::string>{prefix + "-a", prefix + "-b"}));
  co_await create_topic(admin, prefix + "-c", 1);
  EXPECT_TRUE(co_await poll_until(only_c, [&] { return c.assignment().size() == 4; }))
      << "the new topic did not join the subscription";
  co_await produce(admin, prefix + "-c", 0, numbered(0, 2));
  std::vector<consumer_record> received;
  EXPECT_TRUE(co_await poll_until(
      only_c, [&] { return received.size() >= 2; }, &received));
  for (const auto& r : received) EXPECT_EQ(r.topic, prefix + "-c");
  co_await c.stop();
  admin.close();
}

TEST(consumer_group, pattern_subscription) {
  run_coroutine([](asio::any_io_executor ex) { return pattern_subscription(ex); },
                std::chrono::seconds(180));
}

asio::awaitable<void> max_poll_interval_leaves_and_rejoins(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("slow");
  co_await create_topic(admin, topic, 2);
  co_await produce(admin, topic, 0, numbered(0, 4));
  auto listener = std::make_shared<recording_listener>();
  auto config = group_settings(test::unique_topic("group"), "range");
  config.max_poll_interval = milliseconds(2'000);
  consumer c(ex, config);
  co_await c.start();
  std::vector<consumer*> only_c{&c};
  std::vector<std::string> topics(1, topic);
  c.subscribe(topics, listener);
  std::vector<consumer_record> received;
  EXPECT_TRUE(co_await poll_until(
      only_c, [&] { return received.size() >= 4; }, &received));
  auto before = c.group_metadata();
  // "Processing" that outlasts max_poll_interval: the consumer leaves the group meanwhile.
  co_await sleep_ms(ex, 4'000);
  EXPECT_EQ(c.group_metadata().generation_id, generation_id{-1});
  try {
    co_await c.commit();
    ADD_FAILURE() << "commit after leaving the group did not fail";
  } catch (const kafka_error& e) {
    EXPECT_EQ(e.code(), make_error_code(consumer_error::commit_failed)) << e.what();
  }
  // The next polls rejoin (once, cleanly) and reading goes on from the last commit (none: start).
  co_await produce(admin, topic, 1, numbered(0, 1));
  std::vector<consumer_record> again;
  EXPECT_TRUE(co_await poll_until(
      only_c, [&] { return c.assignment().size() == 2 && again.size() >= 5; }, &again));
  EXPECT_GT(c.group_metadata().generation_id, before.generation_id);
  EXPECT_NE(std::find(listener->events.begin(), listener->events.end(), "lost:2"),
            listener->events.end());
  co_await c.commit();
  co_await c.stop();
  admin.close();
}

TEST(consumer_group, max_poll_interval_leaves_and_rejoins) {
  run_coroutine([](asio::any_io_executor ex) { return max_poll_interval_leaves_and_rejoins(ex); },
                std::chrono::seconds(180));
}

}  // namespace
}  // namespace sluice::kafka

namespace sluice::kafka {
namespace {

asio::awaitable<void> auto_commit_and_unsubscribe(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("autocommit");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 1);
  co_await produce(admin, topic, 0, numbered(0, 5));
  auto listener = std::make_shared<recording_listener>();
  auto config = group_settings(group, "range");
  config.enable_auto_commit = true;
  config.auto_commit_interval = milliseconds(200);
  consumer c(ex, config);
  co_await c.start();
  std::vector<consumer*> only_c{&c};
  std::vector<std::string> topics(1, topic);
  c.subscribe(topics, listener);
  std::vector<consumer_record> received;
  EXPECT_TRUE(co_await poll_until(
      only_c, [&] { return received.size() >= 5; }, &received));
  topic_partition tp{topic, 0};
  std::vector<topic_partition> just_tp(1, tp);
  // The auto commit catches up with the position without an explicit commit.
  std::optional<offset_and_metadata> committed;
  for (int i = 0; i < 100 && !(committed && committed->offset == 5); ++i) {
    committed = (co_await c.committed(just_tp))[tp];
    co_await c.getmany(milliseconds(100));
  }
  EXPECT_TRUE(committed && committed->offset == 5);
  // unsubscribe revokes through the listener and leaves the group.
  co_await c.unsubscribe();
  EXPECT_TRUE(c.assignment().empty());
  EXPECT_TRUE(c.subscription().empty());
  EXPECT_EQ(listener->events.back(), "revoked:1");
  EXPECT_EQ(c.group_metadata().generation_id, generation_id{-1});
  co_await c.stop();
  admin.close();
}

TEST(consumer_group, auto_commit_and_unsubscribe) {
  run_coroutine([](asio::any_io_executor ex) { return auto_commit_and_unsubscribe(ex); },
                std::chrono::seconds(180));
}

asio::awaitable<void> static_member_restarts_without_rebalance(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("static");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 2);
  auto config_for = [&](std::string instance) {
    auto config = group_settings(group, "range");
    config.group_instance_id = std::move(instance);
    return config;
  };
  auto stays_listener = std::make_shared<recording_listener>();
  consumer stays(ex, config_for("stays"));
  auto restarts = std::make_unique<consumer>(ex, config_for("restarts"));
  co_await stays.start();
  co_await restarts->start();
  std::vector<std::string> topics(1, topic);
  stays.subscribe(topics, stays_listener);
  restarts->subscribe(topics);
  std::vector<consumer*> both{&stays, restarts.get()};
  EXPECT_TRUE(co_await poll_until(
      both, [&] { return stays.assignment().size() == 1 && restarts->assignment().size() == 1; }));
  const auto generation = stays.group_metadata().generation_id;
  const auto events = stays_listener->events;
  const auto restarts_had = restarts->assignment();
  // A static member does not leave the group when it stops (KIP-345)...
  co_await restarts->stop();
  restarts.reset();
  // ...and its replacement with the same instance id takes over its partitions at once.
  consumer replacement(ex, config_for("restarts"));
  co_await replacement.start();
  replacement.subscribe(topics);
  std::vector<consumer*> now_both{&stays, &replacement};
  EXPECT_TRUE(
      co_await poll_until(now_both, [&] { return replacement.assignment() == restarts_had; }));
  // Let heartbeats run a few rounds: no rebalance reaches the member that stayed.
  co_await poll_until(
      now_both, [] { return false; }, nullptr, std::chrono::seconds(2));
  EXPECT_EQ(stays.group_metadata().generation_id, generation);
  EXPECT_EQ(stays_listener->events, events);
  EXPECT_EQ(stays.assignment().size(), 1u);
  co_await replacement.stop();
  co_await stays.stop();
  admin.close();
}

TEST(consumer_group, static_member_restarts_without_rebalance) {
  run_coroutine(
      [](asio::any_io_executor ex) { return static_member_restarts_without_rebalance(ex); },
      std::chrono::seconds(180));
}

// A kafka-python consumer (range assignor) in the same group. The test runs it twice: first it
// joins before Sluice (so it leads and runs its range assignor over Sluice's subscription), then
// after (so it reads the assignment Sluice's leader encoded).
asio::awaitable<void> shares_a_group_with_kafka_python(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("mixed");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 4);
  const std::string base = "/tmp/sluice-consumer-mixed-" + std::to_string(::getpid());
  const std::string script = base + ".py", out = base + ".out", stop = base + ".stop",
                    log = base + ".log";
  std::remove(out.c_str());
  std::remove(stop.c_str());
  {
    std::ofstream file(script);
    file << python_group_member("kafka.coordinator.assignors.range", "RangePartitionAssignor");
  }
  auto* python = ::popen((test::python() + " " + script + " " + test::bootstrap_servers() + " " +
                          topic + " " + group + " " + out + " " + stop + " > " + log + " 2>&1")
                             .c_str(),
                         "r");
  EXPECT_NE(python, nullptr);
  // Wait until the Python member owns all four partitions (a loaded machine starts Python slowly).
  for (int i = 0; i < 600 && read_text(out) != "0 1 2 3"; ++i) co_await sleep_ms(ex, 100);
  EXPECT_EQ(read_text(out), "0 1 2 3") << "the kafka-python member did not join; its output:\n"
                                       << read_text(log);

  consumer c(ex, group_settings(group, "range"));
  co_await c.start();
  std::vector<consumer*> only_c{&c};
  std::vector<std::string> topics(1, topic);
  c.subscribe(topics);
  EXPECT_TRUE(co_await poll_until(
      only_c, [&] { return c.assignment().size() == 2 && read_text(out).size() == 3; }))
      << "sluice has " << c.assignment().size() << ", kafka-python has '" << read_text(out) << "'";
  // Range over members sorted by member id: the two halves, disjoint.
  std::set<int> ours;
  for (const auto& tp : c.assignment()) ours.insert(tp.partition);
  std::set<int> theirs;
  for (char ch : read_text(out)) {
    if (ch >= '0' && ch <= '9') theirs.insert(ch - '0');
  }
  std::set<int> all(ours);
  all.insert(theirs.begin(), theirs.end());
  EXPECT_EQ(all, (std::set<int>{0, 1, 2, 3}));
  EXPECT_TRUE(ours == (std::set<int>{0, 1}) || ours == (std::set<int>{2, 3}));
  // The Python member leaves; we take everything.
  { std::ofstream(stop) << "stop"; }
  if (python != nullptr) ::pclose(python);
  EXPECT_TRUE(co_await poll_until(only_c, [&] { return c.assignment().size() == 4; }));

  // A Python member joins again: now Sluice leads, and the Python member reads the assignment
  // Sluice's leader encoded for it.
  std::remove(stop.c_str());
  std::remove(out.c_str());
  auto* second = ::popen((test::python() + " " + script + " " + test::bootstrap_servers() + " " +
                          topic + " " + group + " " + out + " " + stop + " 2>&1")
                             .c_str(),
                         "r");
  EXPECT_NE(second, nullptr);
  EXPECT_TRUE(co_await poll_until(
      only_c, [&] { return c.assignment().size() == 2 && read_text(out).size() == 3; }))
      << "sluice has " << c.assignment().size() << ", kafka-python has '" << read_text(out) << "'";
  { std::ofstream(stop) << "stop"; }
  if (second != nullptr) ::pclose(second);
  co_await c.stop();
  for (const auto& path : {script, out, stop, log}) std::remove(path.c_str());
  admin.close();
}

TEST(consumer_group, shares_a_group_with_kafka_python) {
  run_coroutine([](asio::any_io_executor ex) { return shares_a_group_with_kafka_python(ex); },
                std::chrono::seconds(240));
}

}  // namespace
}  // namespace sluice::kafka

namespace sluice::kafka {
namespace {

// Takes its time in on_partitions_assigned (restoring state, say); records must wait for it.
class slow_listener : public rebalance_listener {
 public:
  explicit slow_listener(asio::any_io_executor executor) : executor_(std::move(executor)) {}
  asio::awaitable<void> on_partitions_revoked(std::vector<topic_partition>) override { co_return; }
  asio::awaitable<void> on_partitions_assigned(std::vector<topic_partition> assigned) override {
    co_await sleep_ms(executor_, 1'500);
    if (!assigned.empty()) restored = true;
  }
  bool restored = false;

 private:
  asio::any_io_executor executor_;
};

asio::awaitable<void> listener_is_awaited_before_records(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("listener");
  co_await create_topic(admin, topic, 2);
  co_await produce(admin, topic, 0, numbered(0, 3));
  co_await produce(admin, topic, 1, numbered(0, 3));
  auto listener = std::make_shared<slow_listener>(ex);
  consumer c(ex, group_settings(test::unique_topic("group"), "range"));
  co_await c.start();
  std::vector<std::string> topics(1, topic);
  c.subscribe(topics, listener);
  bool records_before_restore = false;
  std::size_t received = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (received < 6 && std::chrono::steady_clock::now() < until) {
    auto records = co_await c.getmany(milliseconds(100));
    if (!records.empty() && !listener->restored) records_before_restore = true;
    received += records.size();
  }
  EXPECT_EQ(received, 6u);
  EXPECT_TRUE(listener->restored);
  EXPECT_FALSE(records_before_restore)
      << "getmany returned records before on_partitions_assigned finished";
  co_await c.stop();
  admin.close();
}

TEST(consumer_group, listener_is_awaited_before_records) {
  run_coroutine([](asio::any_io_executor ex) { return listener_is_awaited_before_records(ex); },
                std::chrono::seconds(120));
}

// A kafka-python member that is killed (SIGKILL, no LeaveGroup): after its session times out the
// group rebalances and the Sluice member takes its partitions.
asio::awaitable<void> takes_over_from_a_killed_member(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("killed");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 2);
  const std::string base = "/tmp/sluice-consumer-killed-" + std::to_string(::getpid());
  const std::string script = base + ".py", out = base + ".out", stop = base + ".stop",
                    pid_file = base + ".pid";
  std::remove(out.c_str());
  {
    std::ofstream file(script);
    file << python_group_member("kafka.coordinator.assignors.range", "RangePartitionAssignor");
  }
  // Started in the background; its pid lets the test kill it hard.
  auto command = test::python() + " " + script + " " + test::bootstrap_servers() + " " + topic +
                 " " + group + " " + out + " " + stop + " >/dev/null 2>&1 & echo $! > " + pid_file;
  EXPECT_EQ(std::system(command.c_str()), 0);
  consumer c(ex, group_settings(group, "range"));
  co_await c.start();
  std::vector<consumer*> only_c{&c};
  std::vector<std::string> topics(1, topic);
  c.subscribe(topics);
  EXPECT_TRUE(co_await poll_until(only_c, [&] {
    return c.assignment().size() == 1 && read_text(out).size() == 1;
  })) << "the two members did not split the partitions";
  auto pid = std::stoi(read_text(pid_file));
  EXPECT_EQ(std::system(("kill -9 " + std::to_string(pid)).c_str()), 0);
  // The session timeout (10 s) passes, then the rebalance gives us both partitions.
  EXPECT_TRUE(co_await poll_until(
      only_c, [&] { return c.assignment().size() == 2; }, nullptr, std::chrono::seconds(90)));
  co_await c.stop();
  for (const auto& path : {script, out, pid_file}) std::remove(path.c_str());
  admin.close();
}

TEST(consumer_group, takes_over_from_a_killed_member) {
  run_coroutine([](asio::any_io_executor ex) { return takes_over_from_a_killed_member(ex); },
                std::chrono::seconds(180));
}

}  // namespace
}  // namespace sluice::kafka
