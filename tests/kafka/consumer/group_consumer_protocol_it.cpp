// Consumer groups with the KIP-848 `consumer` protocol (group_protocol = consumer) against the real
// broker, whose new group coordinator assigns: members sharing partitions and reconciling as others
// join and leave, the listener's order, commits with the member epoch, static members, members
// killed without leaving, server-side regex subscriptions, the server assignor, max_poll_interval.
// The test broker (scripts/kafka) sets group.consumer.heartbeat.interval.ms=1000 and
// group.consumer.session.timeout.ms=10000, so each test takes seconds.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "kafka/consumer/consumer.hpp"
#include "kafka/consumer/consumer_error.hpp"
#include "kafka/protocol/messages/add_offsets_to_txn.hpp"
#include "kafka/protocol/messages/consumer_group_describe.hpp"
#include "kafka/protocol/messages/end_txn.hpp"
#include "kafka/protocol/messages/init_producer_id.hpp"
#include "kafka/protocol/messages/txn_offset_commit.hpp"
#include "tests/kafka/consumer/consumer_it_support.hpp"

namespace sluice::kafka {
namespace {

using namespace test_support;
using sluice::test::run_coroutine;
using std::chrono::milliseconds;

consumer_config member_settings(const std::string& group) {
  auto config = consumer_settings(group);
  config.group_protocol = group_protocol_type::consumer;
  config.enable_auto_commit = false;
  return config;
}

std::set<topic_partition> both_assignments(const consumer& a, const consumer& b) {
  auto out = a.assignment();
  auto more = b.assignment();
  out.insert(more.begin(), more.end());
  return out;
}

bool disjoint(const consumer& a, const consumer& b) {
  for (const auto& tp : a.assignment()) {
    if (b.assignment().contains(tp)) return false;
  }
  return true;
}

asio::awaitable<void> members_share_and_reconcile(asio::any_io_executor ex, std::string assignor) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("kip848");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 4);
  auto first_listener = std::make_shared<recording_listener>();
  auto second_listener = std::make_shared<recording_listener>();
  auto config = member_settings(group);
  config.group_remote_assignor = assignor;
  consumer a(ex, config);
  consumer b(ex, config);
  co_await a.start();
  co_await b.start();
  std::vector<consumer*> a_list{&a}, a_b_list{&a, &b};
  std::vector<std::string> topics(1, topic);
  a.subscribe(topics, first_listener);
  EXPECT_TRUE(co_await poll_until(a_list, [&] { return a.assignment().size() == 4; }))
      << "the only member did not get all 4 partitions";
  auto alone = a.group_metadata();
  EXPECT_GT(alone.generation_id.value(), 0) << "the member epoch is the generation";
  EXPECT_EQ(alone.member_id.size(), 22u) << "a client-generated id (KIP-1082): " << alone.member_id;
  EXPECT_EQ(first_listener->events, (std::vector<std::string>{"assigned:4"}));
  const auto first_stats = a.group_stats();
  EXPECT_GE(first_stats.rebalances, 1u);
  EXPECT_FALSE(first_stats.in_rebalance);
  EXPECT_TRUE(first_stats.last_rebalance_end.has_value());

  b.subscribe(topics, second_listener);
  EXPECT_TRUE(co_await poll_until(
      a_b_list,
      [&] { return a.assignment().size() == 2 && b.assignment().size() == 2 && disjoint(a, b); }))
      << "a has " << a.assignment().size() << ", b has " << b.assignment().size();
  EXPECT_EQ(both_assignments(a, b).size(), 4u);
  // The first member gave two partitions up (revoked, then the reconciliation's assigned with
  // nothing new); the second got them only after that.
  EXPECT_EQ(first_listener->events,
            (std::vector<std::string>{"assigned:4", "revoked:2", "assigned:0"}));
  EXPECT_FALSE(second_listener->events.empty());
  if (!second_listener->events.empty()) {
    EXPECT_EQ(second_listener->events.back(), "assigned:2");
  }
  EXPECT_GT(a.group_metadata().generation_id, alone.generation_id);
  EXPECT_GT(a.group_stats().rebalances, first_stats.rebalances);

  // Records of b's partitions, consumed and committed with b's member epoch.
  for (const auto& tp : b.assignment()) {
    co_await produce(admin, topic, tp.partition, numbered(0, 3));
  }
  auto records = co_await read_records(b, 6);
  EXPECT_EQ(records.size(), 6u);
  co_await b.commit();
  const auto b_has = b.assignment();
  std::vector<topic_partition> owned_by_b(b_has.begin(), b_has.end());
  auto committed = co_await b.committed(owned_by_b);
  for (const auto& tp : owned_by_b) {
    EXPECT_TRUE(committed[tp].has_value()) << tp.to_string();
    if (committed[tp]) {
      EXPECT_EQ(committed[tp]->offset, 3) << tp.to_string();
    }
  }

  // b leaves (epoch -1): a takes everything again, and starts b's partitions at b's commits.
  co_await b.stop();
  EXPECT_EQ(second_listener->events.back(), "revoked:2");
  EXPECT_TRUE(co_await poll_until(a_list, [&] { return a.assignment().size() == 4; }));
  EXPECT_EQ(first_listener->events.back(), "assigned:2");
  for (const auto& tp : owned_by_b)
    EXPECT_EQ(co_await a.position(tp), log_offset{3}) << tp.to_string();
  co_await a.stop();
  admin.close();
}

TEST(consumer_group_protocol, members_share_and_reconcile_uniform) {
  run_coroutine([](asio::any_io_executor ex) { return members_share_and_reconcile(ex, "uniform"); },
                std::chrono::seconds(180));
}

TEST(consumer_group_protocol, members_share_and_reconcile_range) {
  run_coroutine([](asio::any_io_executor ex) { return members_share_and_reconcile(ex, "range"); },
                std::chrono::seconds(180));
}

// The broker's new group coordinator (on by default in Kafka 4.x) runs the group:
// ConsumerGroupDescribe (KIP-848) shows it with our member, its epoch, subscription and the
// assignor asked for.
asio::awaitable<void> the_broker_runs_the_new_coordinator(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("kip848");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 1);
  auto config = member_settings(group);
  config.group_remote_assignor = "range";
  consumer a(ex, config);
  co_await a.start();
  std::vector<consumer*> a_list{&a};
  std::vector<std::string> topics(1, topic);
  a.subscribe(topics);
  EXPECT_TRUE(co_await poll_until(a_list, [&] { return a.assignment().size() == 1; }));
  auto node = co_await admin.find_coordinator(coordinator_type::group, group);
  protocol::consumer_group_describe_request request;
  request.group_ids.push_back(group);
  auto response = co_await admin.send_to(node, std::move(request));
  EXPECT_EQ(response.groups.size(), 1u);
  if (!response.groups.empty()) {
    const auto& described = response.groups[0];
    EXPECT_EQ(described.error_code, 0) << described.error_message.value_or("");
    EXPECT_EQ(described.assignor_name, "range");
    EXPECT_EQ(described.members.size(), 1u);
    if (!described.members.empty()) {
      EXPECT_EQ(described.members[0].member_id, a.group_metadata().member_id);
      EXPECT_EQ(described.members[0].member_epoch, a.group_metadata().generation_id.value());
      EXPECT_EQ(described.members[0].subscribed_topic_names, topics);
      EXPECT_EQ(described.members[0].assignment.topic_partitions.size(), 1u);
    }
  }
  co_await a.stop();
  admin.close();
}

TEST(consumer_group_protocol, the_broker_runs_the_new_coordinator) {
  run_coroutine([](asio::any_io_executor ex) { return the_broker_runs_the_new_coordinator(ex); },
                std::chrono::seconds(120));
}

// A static member leaves with epoch -2 and its replacement (same instance id) gets the same
// partitions back, while the other member sees no change.
asio::awaitable<void> static_member_rejoins(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("kip848");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 4);
  auto config_a = member_settings(group);
  config_a.group_instance_id = "instance-a";
  auto config_b = member_settings(group);
  config_b.group_instance_id = "instance-b";
  auto stays_listener = std::make_shared<recording_listener>();
  consumer restarts(ex, config_a);
  consumer stays(ex, config_b);
  co_await restarts.start();
  co_await stays.start();
  std::vector<consumer*> restarts_stays_list{&restarts, &stays};
  std::vector<std::string> topics(1, topic);
  restarts.subscribe(topics);
  stays.subscribe(topics, stays_listener);
  EXPECT_TRUE(co_await poll_until(restarts_stays_list, [&] {
    return restarts.assignment().size() == 2 && stays.assignment().size() == 2 &&
           disjoint(restarts, stays);
  }));
  const auto restarts_had = restarts.assignment();
  const auto stays_had = stays.assignment();
  const auto events = stays_listener->events;
  co_await restarts.stop();

  consumer replacement(ex, config_a);
  co_await replacement.start();
  std::vector<consumer*> replacement_stays_list{&replacement, &stays};
  replacement.subscribe(topics);
  EXPECT_TRUE(co_await poll_until(replacement_stays_list,
                                  [&] { return replacement.assignment() == restarts_had; }))
      << "the replacement has " << replacement.assignment().size() << " partitions";
  // A few heartbeats more: the member that stayed was not touched.
  co_await poll_until(
      replacement_stays_list, [] { return false; }, nullptr, std::chrono::seconds(2));
  EXPECT_EQ(stays.assignment(), stays_had);
  EXPECT_EQ(stays_listener->events, events);
  co_await replacement.stop();
  co_await stays.stop();
  admin.close();
}

TEST(consumer_group_protocol, static_member_rejoins_with_its_partitions) {
  run_coroutine([](asio::any_io_executor ex) { return static_member_rejoins(ex); },
                std::chrono::seconds(180));
}

// A static member destroyed without stop() (kill -9) sends no leave, so the coordinator refuses
// its instance id to a successor until the session timeout (UNRELEASED_INSTANCE_ID). A successor
// that knows the dead member's id releases it (epoch -2) and takes its partitions straight over:
// the other member's assignment never changes, as it would if the dead one had been dropped.
asio::awaitable<void> successor_releases_crashed_member(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("kip848");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 4);
  auto crashed_config = member_settings(group);
  crashed_config.group_instance_id = "instance-a";
  auto stays_config = member_settings(group);
  stays_config.group_instance_id = "instance-b";
  auto stays_listener = std::make_shared<recording_listener>();
  consumer stays(ex, stays_config);
  co_await stays.start();
  std::vector<std::string> topics(1, topic);
  stays.subscribe(topics, stays_listener);
  std::set<topic_partition> crashed_had;
  std::string crashed_member;
  {
    consumer crashed(ex, crashed_config);
    co_await crashed.start();
    std::vector<consumer*> both{&crashed, &stays};
    crashed.subscribe(topics);
    EXPECT_TRUE(co_await poll_until(both, [&] {
      return crashed.assignment().size() == 2 && stays.assignment().size() == 2 &&
             disjoint(crashed, stays);
    }));
    crashed_had = crashed.assignment();
    crashed_member = crashed.group_metadata().member_id;
  }  // no stop(): no leave heartbeat, as after kill -9
  const auto stays_had = stays.assignment();
  const auto events = stays_listener->events;

  auto successor_config = crashed_config;
  successor_config.previous_member_id = crashed_member;
  consumer successor(ex, successor_config);
  co_await successor.start();
  std::vector<consumer*> successor_stays{&successor, &stays};
  successor.subscribe(topics);
  EXPECT_TRUE(
      co_await poll_until(successor_stays, [&] { return successor.assignment() == crashed_had; }))
      << "the successor has " << successor.assignment().size() << " partitions";
  EXPECT_NE(successor.group_metadata().member_id, crashed_member);
  // Past the dead member's session timeout (10 s on the test broker): nothing moved meanwhile.
  co_await poll_until(
      successor_stays, [] { return false; }, nullptr, std::chrono::seconds(12));
  EXPECT_EQ(successor.assignment(), crashed_had);
  EXPECT_EQ(stays.assignment(), stays_had);
  EXPECT_EQ(stays_listener->events, events) << "the other member saw the dead one dropped";
  co_await successor.stop();
  co_await stays.stop();
  admin.close();
}

TEST(consumer_group_protocol, a_successor_releases_a_crashed_static_member) {
  run_coroutine([](asio::any_io_executor ex) { return successor_releases_crashed_member(ex); },
                std::chrono::seconds(180));
}

// A member destroyed without stop() sends no leave; the coordinator drops it at the session
// timeout (10 s on the test broker) and the survivor takes its partitions.
asio::awaitable<void> killed_member_is_dropped(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("kip848");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 4);
  consumer survivor(ex, member_settings(group));
  co_await survivor.start();
  std::vector<consumer*> survivor_list{&survivor};
  std::vector<std::string> topics(1, topic);
  survivor.subscribe(topics);
  {
    consumer killed(ex, member_settings(group));
    co_await killed.start();
    std::vector<consumer*> survivor_killed_list{&survivor, &killed};
    killed.subscribe(topics);
    EXPECT_TRUE(co_await poll_until(survivor_killed_list, [&] {
      return survivor.assignment().size() == 2 && killed.assignment().size() == 2;
    }));
  }  // no stop(): no leave heartbeat
  EXPECT_TRUE(co_await poll_until(
      survivor_list, [&] { return survivor.assignment().size() == 4; }, nullptr,
      std::chrono::seconds(60)))
      << "the survivor has " << survivor.assignment().size() << " partitions";
  co_await survivor.stop();
  admin.close();
}

TEST(consumer_group_protocol, killed_member_is_dropped_after_the_session_timeout) {
  run_coroutine([](asio::any_io_executor ex) { return killed_member_is_dropped(ex); },
                std::chrono::seconds(180));
}

// The coordinator evaluates the regex (KIP-848; it re-evaluates about every 10 s, so topics
// created later join then; this test keeps to the topics that exist at the join).
asio::awaitable<void> server_side_regex(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto prefix = test::unique_topic("kip848re");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, prefix + "-one", 2);
  co_await create_topic(admin, prefix + "-two", 1);
  co_await create_topic(admin, "other-" + prefix, 1);
  consumer c(ex, member_settings(group));
  co_await c.start();
  std::vector<consumer*> c_list{&c};
  c.subscribe(subscription_pattern{prefix + "-.*"});
  EXPECT_TRUE(co_await poll_until(c_list, [&] { return c.assignment().size() == 3; }))
      << "has " << c.assignment().size();
  EXPECT_EQ(c.subscription(), (std::set<std::string>{prefix + "-one", prefix + "-two"}));
  co_await c.stop();
  admin.close();
}

TEST(consumer_group_protocol, server_side_regex_subscription) {
  run_coroutine([](asio::any_io_executor ex) { return server_side_regex(ex); },
                std::chrono::seconds(180));
}

asio::awaitable<void> unknown_assignor_is_an_error(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("kip848");
  co_await create_topic(admin, topic, 1);
  auto config = member_settings(test::unique_topic("group"));
  config.group_remote_assignor = "no-such-assignor";
  consumer c(ex, config);
  co_await c.start();
  std::vector<std::string> topics(1, topic);
  c.subscribe(topics);
  std::optional<kafka_error> raised;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!raised && std::chrono::steady_clock::now() < until) {
    try {
      co_await c.getmany(milliseconds(100));
    } catch (const kafka_error& e) {
      raised = e;
    }
  }
  EXPECT_TRUE(raised.has_value());
  if (raised) {
    EXPECT_EQ(raised->code(), make_error_code(error_code::unsupported_assignor)) << raised->what();
    EXPECT_NE(std::string(raised->what()).find("no-such-assignor"), std::string::npos)
        << raised->what();
  }
  co_await c.stop();
  admin.close();
}

TEST(consumer_group_protocol, unknown_server_assignor_is_an_error) {
  run_coroutine([](asio::any_io_executor ex) { return unknown_assignor_is_an_error(ex); },
                std::chrono::seconds(120));
}

// A member that stops polling leaves (epoch -1); its partitions are lost to it and it rejoins with
// epoch 0 on its next poll.
asio::awaitable<void> poll_timeout_leaves_and_rejoins(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("kip848");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 2);
  auto config = member_settings(group);
  config.max_poll_interval = milliseconds(2'000);
  auto listener = std::make_shared<recording_listener>();
  consumer c(ex, config);
  co_await c.start();
  std::vector<consumer*> c_list{&c};
  std::vector<std::string> topics(1, topic);
  c.subscribe(topics, listener);
  EXPECT_TRUE(co_await poll_until(c_list, [&] { return c.assignment().size() == 2; }));
  const auto before = c.group_metadata();
  co_await sleep_ms(ex, 4'000);  // no poll for twice max_poll_interval
  EXPECT_TRUE(co_await poll_until(
      c_list, [&] { return c.assignment().size() == 2 && listener->events.size() >= 3; }));
  EXPECT_EQ(listener->events, (std::vector<std::string>{"assigned:2", "lost:2", "assigned:2"}));
  EXPECT_EQ(c.group_metadata().member_id, before.member_id);
  co_await c.stop();
  admin.close();
}

TEST(consumer_group_protocol, poll_timeout_leaves_and_rejoins) {
  run_coroutine([](asio::any_io_executor ex) { return poll_timeout_leaves_and_rejoins(ex); },
                std::chrono::seconds(120));
}

// Sends to the node until the error is not a transient one (the transaction coordinator loads its
// log, a previous transaction of the id is still completing).
template <typename Request, typename ErrorOf>
asio::awaitable<typename Request::response_type> send_until_settled(cluster& admin, node_id node,
                                                                    Request request,
                                                                    ErrorOf error_of) {
  typename Request::response_type response;
  for (int attempt = 0; attempt < 100; ++attempt) {
    response = co_await admin.send_to(node, request);
    auto code = static_cast<error_code>(error_of(response));
    if (code != error_code::coordinator_load_in_progress &&
        code != error_code::concurrent_transactions && code != error_code::not_coordinator &&
        code != error_code::coordinator_not_available) {
      break;
    }
    co_await sleep_ms(admin.executor(), 200);
  }
  co_return response;
}

// FindCoordinator until a coordinator is ready: on a fresh broker the first transactional id
// makes it create __transaction_state, and it answers COORDINATOR_NOT_AVAILABLE meanwhile.
asio::awaitable<node_id> coordinator_when_ready(cluster& admin, coordinator_type type,
                                                std::string key) {
  for (int attempt = 0;; ++attempt) {
    try {
      co_return co_await admin.find_coordinator(type, key);
    } catch (const kafka_error& e) {
      if (!e.retriable() || attempt >= 100) throw;
    }
    co_await sleep_ms(admin.executor(), 200);
  }
}

std::int16_t first_partition_error(const protocol::txn_offset_commit_response& response) {
  if (response.topics.empty() || response.topics[0].partitions.empty()) return -1;
  return response.topics[0].partitions[0].error_code;
}

// EOS v2 (KIP-447) with a KIP-848 member: group_metadata() carries the member epoch as the
// generation and the member id, which is what TxnOffsetCommit must name for the new coordinator to
// accept the offsets; a zombie's epoch is refused.
asio::awaitable<void> transactional_offsets(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("kip848");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 1);
  consumer c(ex, member_settings(group));
  co_await c.start();
  std::vector<consumer*> c_list{&c};
  std::vector<std::string> topics(1, topic);
  c.subscribe(topics);
  EXPECT_TRUE(co_await poll_until(c_list, [&] { return c.assignment().size() == 1; }));
  const auto metadata = c.group_metadata();
  EXPECT_GT(metadata.generation_id.value(), 0);

  const auto txn_id = test::unique_topic("txn");
  const auto txn_node =
      co_await coordinator_when_ready(admin, coordinator_type::transaction, txn_id);
  protocol::init_producer_id_request init;
  init.transactional_id = txn_id;
  init.transaction_timeout_ms = 30'000;
  auto producer = co_await send_until_settled(admin, txn_node, init,
                                              [](const auto& r) { return r.error_code; });
  EXPECT_EQ(producer.error_code, 0);
  protocol::add_offsets_to_txn_request add;
  add.transactional_id = txn_id;
  add.producer_id = producer.producer_id;
  add.producer_epoch = producer.producer_epoch;
  add.group_id = group;
  auto added =
      co_await send_until_settled(admin, txn_node, add, [](const auto& r) { return r.error_code; });
  EXPECT_EQ(added.error_code, 0);

  const auto group_node = co_await coordinator_when_ready(admin, coordinator_type::group, group);
  protocol::txn_offset_commit_request commit;
  commit.transactional_id = txn_id;
  commit.group_id = group;
  commit.producer_id = producer.producer_id;
  commit.producer_epoch = producer.producer_epoch;
  commit.member_id = metadata.member_id;
  commit.group_instance_id = metadata.group_instance_id;
  commit.topics.push_back({.name = topic});
  commit.topics[0].partitions.push_back({.partition_index = 0, .committed_offset = 7});
  auto zombie = commit;
  zombie.generation_id = metadata.generation_id.value() + 10;
  auto refused = co_await admin.send_to(group_node, zombie);
  EXPECT_NE(first_partition_error(refused), 0) << "a wrong member epoch was accepted";
  commit.generation_id = metadata.generation_id.value();
  auto accepted = co_await admin.send_to(group_node, commit);
  EXPECT_EQ(first_partition_error(accepted), 0)
      << error_name(static_cast<error_code>(first_partition_error(accepted)));

  protocol::end_txn_request end;
  end.transactional_id = txn_id;
  end.producer_id = producer.producer_id;
  end.producer_epoch = producer.producer_epoch;
  end.committed = true;
  auto ended =
      co_await send_until_settled(admin, txn_node, end, [](const auto& r) { return r.error_code; });
  EXPECT_EQ(ended.error_code, 0);
  std::vector<topic_partition> wanted{{topic, 0}};
  auto committed = co_await c.committed(wanted);
  EXPECT_TRUE(committed[wanted[0]].has_value());
  if (committed[wanted[0]]) {
    EXPECT_EQ(committed[wanted[0]]->offset, 7);
  }
  co_await c.stop();
  admin.close();
}

TEST(consumer_group_protocol, transactional_offsets_carry_the_member_epoch) {
  run_coroutine([](asio::any_io_executor ex) { return transactional_offsets(ex); },
                std::chrono::seconds(120));
}

// With auto commit, a member commits what it consumed of the partitions it gives up before it
// acknowledges the revocation, so the next owner starts right after.
asio::awaitable<void> auto_commit_before_revocation(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("kip848");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 4);
  for (int p = 0; p < 4; ++p) co_await produce(admin, topic, p, numbered(0, 3));
  auto config = member_settings(group);
  config.enable_auto_commit = true;
  config.auto_commit_interval = milliseconds(600'000);  // only the commits a rebalance makes
  consumer a(ex, config);
  consumer b(ex, config);
  co_await a.start();
  co_await b.start();
  std::vector<consumer*> a_list{&a}, b_list{&b};
  std::vector<std::string> topics(1, topic);
  a.subscribe(topics);
  auto first = co_await read_records(a, 12);
  EXPECT_EQ(first.size(), 12u);
  b.subscribe(topics);
  EXPECT_TRUE(co_await poll_until(b_list, [&] { return b.assignment().size() == 2; }));
  const auto b_has = b.assignment();
  std::vector<topic_partition> moved(b_has.begin(), b_has.end());
  auto committed = co_await b.committed(moved);
  for (const auto& tp : moved) {
    EXPECT_TRUE(committed[tp].has_value()) << tp.to_string();
    if (committed[tp]) {
      EXPECT_EQ(committed[tp]->offset, 3) << tp.to_string();
    }
    EXPECT_EQ(co_await b.position(tp), log_offset{3}) << tp.to_string();
  }
  co_await a.stop();
  co_await b.stop();
  admin.close();
}

TEST(consumer_group_protocol, auto_commit_before_revocation) {
  run_coroutine([](asio::any_io_executor ex) { return auto_commit_before_revocation(ex); },
                std::chrono::seconds(120));
}

// A new subscription goes to the coordinator with the next heartbeat, which sends a new target.
asio::awaitable<void> subscription_change(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto first = test::unique_topic("kip848");
  auto second = test::unique_topic("kip848");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, first, 2);
  co_await create_topic(admin, second, 1);
  auto listener = std::make_shared<recording_listener>();
  consumer c(ex, member_settings(group));
  co_await c.start();
  std::vector<consumer*> c_list{&c};
  std::vector<std::string> one(1, first);
  c.subscribe(one, listener);
  EXPECT_TRUE(co_await poll_until(c_list, [&] { return c.assignment().size() == 2; }));
  std::vector<std::string> both{first, second};
  c.subscribe(both, listener);
  EXPECT_TRUE(co_await poll_until(c_list, [&] { return c.assignment().size() == 3; }));
  std::vector<std::string> just_second(1, second);
  c.subscribe(just_second, listener);
  EXPECT_TRUE(co_await poll_until(c_list, [&] {
    return c.assignment() == std::set<topic_partition>{{second, 0}};
  }));
  EXPECT_EQ(listener->events,
            (std::vector<std::string>{"assigned:2", "assigned:1", "revoked:2", "assigned:0"}));
  co_await c.stop();
  admin.close();
}

TEST(consumer_group_protocol, subscription_change_reconciles) {
  run_coroutine([](asio::any_io_executor ex) { return subscription_change(ex); },
                std::chrono::seconds(120));
}

}  // namespace
}  // namespace sluice::kafka
