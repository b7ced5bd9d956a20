// Classic-protocol assignors on the real broker: the eager `sticky` assignor keeping partitions
// across rebalances through its user data (also in a group with kafka-python's sticky assignor),
// and an application assignor registered in the config.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>

#include "kafka/consumer/assignor.hpp"
#include "kafka/consumer/consumer.hpp"
#include "tests/kafka/consumer/consumer_it_support.hpp"

namespace sluice::kafka {
namespace {

using namespace test_support;
using sluice::test::run_coroutine;
using std::chrono::milliseconds;

consumer_config classic_settings(const std::string& group, std::vector<std::string> strategies) {
  auto config = consumer_settings(group);
  config.assignment_strategies = std::move(strategies);
  config.heartbeat_interval = milliseconds(300);
  config.session_timeout = milliseconds(10'000);
  config.enable_auto_commit = false;
  return config;
}

bool subset(const std::set<topic_partition>& small, const std::set<topic_partition>& big) {
  return std::includes(big.begin(), big.end(), small.begin(), small.end());
}

asio::awaitable<void> sticky_keeps_partitions(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("sticky");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 6);
  std::vector<std::string> topics(1, topic);
  auto config = classic_settings(group, {"sticky"});
  consumer a(ex, config);
  consumer b(ex, config);
  consumer c(ex, config);
  co_await a.start();
  co_await b.start();
  co_await c.start();
  std::vector<consumer*> a_list{&a}, a_b_list{&a, &b}, all_list{&a, &b, &c};
  a.subscribe(topics);
  b.subscribe(topics);
  EXPECT_TRUE(co_await poll_until(
      a_b_list, [&] { return a.assignment().size() == 3 && b.assignment().size() == 3; }));
  const auto a_had = a.assignment();
  const auto b_had = b.assignment();
  // A third member: each keeps two of its three (whoever leads reads the others' previous
  // assignments from their user data), the newcomer gets one from each.
  c.subscribe(topics);
  EXPECT_TRUE(co_await poll_until(all_list,
                                  [&] {
                                    return a.assignment().size() == 2 &&
                                           b.assignment().size() == 2 && c.assignment().size() == 2;
                                  }))
      << a.assignment().size() << "/" << b.assignment().size() << "/" << c.assignment().size();
  EXPECT_TRUE(subset(a.assignment(), a_had));
  EXPECT_TRUE(subset(b.assignment(), b_had));
  const auto a_now = a.assignment();
  // b leaves: a keeps its two and takes some of b's; nothing of a's moves.
  co_await b.stop();
  std::vector<consumer*> a_c_list{&a, &c};
  EXPECT_TRUE(co_await poll_until(
      a_c_list, [&] { return a.assignment().size() == 3 && c.assignment().size() == 3; }));
  EXPECT_TRUE(subset(a_now, a.assignment()));
  co_await c.stop();
  EXPECT_TRUE(co_await poll_until(a_list, [&] { return a.assignment().size() == 6; }));
  co_await a.stop();
  admin.close();
}

TEST(consumer_group_assignors, sticky_keeps_partitions_across_rebalances) {
  run_coroutine([](asio::any_io_executor ex) { return sticky_keeps_partitions(ex); },
                std::chrono::seconds(180));
}

// Gives every partition to the member whose client-side user data says "greedy"; records what it
// saw and what it was told.
class greedy_assignor : public partition_assignor {
 public:
  explicit greedy_assignor(bool greedy) : greedy_(greedy) {}
  std::string name() const override { return "greedy"; }
  std::optional<std::string> subscription_user_data(
      const std::vector<std::string>& topics) override {
    (void)topics;
    return greedy_ ? "greedy" : "modest";
  }
  group_assignment assign(const partition_counts& topics,
                          const std::vector<member_subscription>& members) override {
    ++assign_calls;
    group_assignment out;
    std::string taker;
    for (const auto& m : members) {
      out[m.member_id];
      if (m.user_data == "greedy") taker = m.member_id;
    }
    if (taker.empty()) taker = members.front().member_id;
    for (const auto& [topic, count] : topics) {
      for (int p = 0; p < count; ++p) out[taker].push_back({topic, p});
    }
    return out;
  }
  void on_assignment(const std::vector<topic_partition>& assigned,
                     std::int32_t generation) override {
    last_assigned = assigned;
    last_generation = generation;
  }
  int assign_calls = 0;
  std::vector<topic_partition> last_assigned;
  std::int32_t last_generation = -1;

 private:
  bool greedy_;
};

asio::awaitable<void> application_assignor(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("custom");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 3);
  std::vector<std::string> topics(1, topic);
  auto greedy = std::make_shared<greedy_assignor>(true);
  auto modest = std::make_shared<greedy_assignor>(false);
  auto greedy_config = classic_settings(group, {"greedy", "range"});
  greedy_config.custom_assignors.push_back(greedy);
  auto modest_config = classic_settings(group, {"greedy", "range"});
  modest_config.custom_assignors.push_back(modest);
  consumer first(ex, modest_config);
  consumer second(ex, greedy_config);
  co_await first.start();
  co_await second.start();
  std::vector<consumer*> both{&first, &second};
  first.subscribe(topics);
  second.subscribe(topics);
  EXPECT_TRUE(co_await poll_until(both,
                                  [&] {
                                    return second.assignment().size() == 3 &&
                                           first.assignment().empty() &&
                                           modest->last_generation >= 0 &&
                                           greedy->last_assigned.size() == 3;
                                  }))
      << "first has " << first.assignment().size() << ", second " << second.assignment().size();
  // Exactly one leader ran the application's assignor; both were told their part.
  EXPECT_GE(greedy->assign_calls + modest->assign_calls, 1);
  EXPECT_EQ(greedy->last_generation, second.group_metadata().generation_id.value());
  EXPECT_EQ(modest->last_generation, first.group_metadata().generation_id.value());
  EXPECT_TRUE(modest->last_assigned.empty());
  co_await first.stop();
  co_await second.stop();
  admin.close();
}

TEST(consumer_group_assignors, application_assignor_decides_the_assignment) {
  run_coroutine([](asio::any_io_executor ex) { return application_assignor(ex); },
                std::chrono::seconds(120));
}

std::set<int> partitions_in(const std::string& text) {
  std::set<int> out;
  for (char ch : text) {
    if (ch >= '0' && ch <= '9') out.insert(ch - '0');
  }
  return out;
}

// A kafka-python member with its StickyPartitionAssignor ("sticky") in the group.
asio::awaitable<void> sticky_with_kafka_python(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("sticky-mixed");
  auto group = test::unique_topic("group");
  co_await create_topic(admin, topic, 4);
  const std::string base = "/tmp/sluice-sticky-mixed-" + std::to_string(::getpid());
  const std::string script = base + ".py", out = base + ".out", stop = base + ".stop";
  std::remove(out.c_str());
  std::remove(stop.c_str());
  {
    std::ofstream file(script);
    file << python_group_member("kafka.coordinator.assignors.sticky.sticky_assignor",
                                "StickyPartitionAssignor");
  }
  const std::string command = test::python() + " " + script + " " + test::bootstrap_servers() +
                              " " + topic + " " + group + " " + out + " " + stop + " 2>&1";
  // Sluice joins first and leads; the Python member's subscription names the same assignor.
  consumer c(ex, classic_settings(group, {"sticky"}));
  co_await c.start();
  std::vector<consumer*> only_c{&c};
  std::vector<std::string> topics(1, topic);
  c.subscribe(topics);
  EXPECT_TRUE(co_await poll_until(only_c, [&] { return c.assignment().size() == 4; }));
  auto* python = ::popen(command.c_str(), "r");
  EXPECT_NE(python, nullptr);
  EXPECT_TRUE(co_await poll_until(
      only_c,
      [&] { return c.assignment().size() == 2 && partitions_in(read_text(out)).size() == 2; }))
      << "sluice has " << c.assignment().size() << ", kafka-python has '" << read_text(out) << "'";
  std::set<int> all = partitions_in(read_text(out));
  for (const auto& tp : c.assignment()) all.insert(tp.partition);
  EXPECT_EQ(all, (std::set<int>{0, 1, 2, 3}));
  const auto kept = c.assignment();
  // The Python member leaves: Sluice keeps its two and takes the other two back.
  { std::ofstream(stop) << "stop"; }
  if (python != nullptr) ::pclose(python);
  EXPECT_TRUE(co_await poll_until(only_c, [&] { return c.assignment().size() == 4; }));
  EXPECT_TRUE(subset(kept, c.assignment()));
  co_await c.stop();
  for (const auto& path : {script, out, stop}) std::remove(path.c_str());
  admin.close();
}

TEST(consumer_group_assignors, sticky_shares_a_group_with_kafka_python) {
  run_coroutine([](asio::any_io_executor ex) { return sticky_with_kafka_python(ex); },
                std::chrono::seconds(180));
}

}  // namespace
}  // namespace sluice::kafka
