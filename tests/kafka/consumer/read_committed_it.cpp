// read_committed against transactions written by a peer client (kafka-python's transactional
// producer): committed data is read, aborted data and the transaction markers are not, and
// read_uncommitted sees everything but the markers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "kafka/consumer/consumer.hpp"
#include "tests/kafka/consumer/consumer_it_support.hpp"

namespace sluice::kafka {
namespace {

using namespace test_support;
using sluice::test::run_coroutine;
using std::chrono::milliseconds;

// Three transactions on partition 0: c1 (3 records, committed), a1 (4, aborted), c2 (2, committed).
// Offsets: c1 0-2, marker 3, a1 4-7, marker 8, c2 9-10, marker 11.
constexpr const char* transactions_script = R"(
import sys
from kafka import KafkaProducer
bootstrap, topic = sys.argv[1], sys.argv[2]
p = KafkaProducer(bootstrap_servers=bootstrap, transactional_id="sluice-it-" + topic)
p.init_transactions()
for name, commit, n in (("c1", True, 3), ("a1", False, 4), ("c2", True, 2)):
    p.begin_transaction()
    for i in range(n):
        p.send(topic, key=f"{name}-{i}".encode(), value=f"{name}-{i}".encode(), partition=0)
    p.flush()
    if commit:
        p.commit_transaction()
    else:
        p.abort_transaction()
p.close()
)";

void write_transactions(const std::string& topic) {
  std::string path = "/tmp/sluice-consumer-txn-" + std::to_string(::getpid()) + ".py";
  {
    std::ofstream out(path);
    out << transactions_script;
  }
  // kafka-python is the peer (pip install kafka-python); its absence fails the test loudly.
  std::string command = test::python() + " " + path + " " + test::bootstrap_servers() + " " + topic;
  int status = std::system(command.c_str());
  std::remove(path.c_str());
  ASSERT_EQ(status, 0) << "the kafka-python transactional producer failed: " << command;
}

asio::awaitable<std::vector<std::string>> read_keys(asio::any_io_executor ex, std::string topic,
                                                    isolation_level level, std::size_t expected) {
  auto config = consumer_settings();
  config.isolation = level;
  consumer c(ex, config);
  co_await c.start();
  topic_partition tp{topic, 0};
  c.assign({tp});
  auto records = co_await read_records(c, expected, std::chrono::seconds(20));
  // Nothing more arrives, and the position moved past the last marker.
  auto more = co_await c.getmany(milliseconds(500));
  EXPECT_TRUE(more.empty());
  EXPECT_EQ(co_await c.position(tp), log_offset{12});
  EXPECT_EQ(c.highwater(tp), log_offset{12});
  if (level == isolation_level::read_committed) {
    EXPECT_EQ(c.last_stable_offset(tp), log_offset{12});
  }
  std::vector<std::string> keys;
  keys.reserve(records.size());
  for (const auto& r : records) keys.emplace_back(r.key_string());
  co_await c.stop();
  co_return keys;
}

asio::awaitable<void> filters_aborted_transactions(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("txn");
  co_await create_topic(admin, topic, 1);
  write_transactions(topic);
  auto committed = co_await read_keys(ex, topic, isolation_level::read_committed, 5);
  EXPECT_EQ(committed, (std::vector<std::string>{"c1-0", "c1-1", "c1-2", "c2-0", "c2-1"}));
  auto everything = co_await read_keys(ex, topic, isolation_level::read_uncommitted, 9);
  EXPECT_EQ(everything, (std::vector<std::string>{"c1-0", "c1-1", "c1-2", "a1-0", "a1-1", "a1-2",
                                                  "a1-3", "c2-0", "c2-1"}));
  // end_offsets under read_committed is the last stable offset.
  consumer c(ex, [] {
    auto config = consumer_settings();
    config.isolation = isolation_level::read_committed;
    return config;
  }());
  co_await c.start();
  std::vector<topic_partition> tps(1, topic_partition{topic, 0});
  auto end = co_await c.end_offsets(tps);
  EXPECT_EQ(end[tps[0]], log_offset{12});
  co_await c.stop();
  admin.close();
}

TEST(consumer_read_committed, filters_aborted_transactions) {
  run_coroutine([](asio::any_io_executor ex) { return filters_aborted_transactions(ex); });
}

// A transaction left open: read_committed reads nothing past the last stable offset until it
// commits.
constexpr const char* open_transaction_script = R"(
import sys, os, time
from kafka import KafkaProducer
bootstrap, topic, opened, stop = sys.argv[1:5]
p = KafkaProducer(bootstrap_servers=bootstrap, transactional_id="sluice-it-open-" + topic)
p.init_transactions()
p.begin_transaction()
for i in range(2):
    p.send(topic, key=f"open-{i}".encode(), value=b"v", partition=0)
p.flush()
open(opened, "w").close()
deadline = time.time() + 60
while not os.path.exists(stop) and time.time() < deadline:
    time.sleep(0.05)
p.commit_transaction()
p.close()
)";

asio::awaitable<void> stops_at_the_last_stable_offset(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("lso");
  co_await create_topic(admin, topic, 1);
  const std::string base = "/tmp/sluice-consumer-lso-" + std::to_string(::getpid());
  const std::string script = base + ".py", opened = base + ".open", stop = base + ".stop";
  std::remove(opened.c_str());
  std::remove(stop.c_str());
  {
    std::ofstream out(script);
    out << open_transaction_script;
  }
  auto* python = ::popen((test::python() + " " + script + " " + test::bootstrap_servers() + " " +
                          topic + " " + opened + " " + stop + " 2>&1")
                             .c_str(),
                         "r");
  EXPECT_NE(python, nullptr);
  for (int i = 0; i < 300 && !std::ifstream(opened).good(); ++i) co_await sleep_ms(ex, 100);
  EXPECT_TRUE(std::ifstream(opened).good()) << "the transaction was not opened";

  auto config = consumer_settings();
  config.isolation = isolation_level::read_committed;
  consumer c(ex, config);
  co_await c.start();
  topic_partition tp{topic, 0};
  c.assign({tp});
  // The open transaction's records are in the log (high watermark 2) but not stable (LSO 0).
  for (int i = 0; i < 100 && !c.last_stable_offset(tp); ++i) {
    EXPECT_TRUE((co_await c.getmany(milliseconds(100))).empty());
  }
  EXPECT_TRUE((co_await c.getmany(milliseconds(500))).empty());
  EXPECT_EQ(c.highwater(tp), log_offset{2});
  EXPECT_EQ(c.last_stable_offset(tp), log_offset{0});
  EXPECT_EQ(co_await c.position(tp), log_offset{0});
  // Commit: the records (and then the marker) become readable.
  { std::ofstream(stop) << "stop"; }
  auto records = co_await read_records(c, 2);
  EXPECT_EQ(records.size(), 2u);
  if (python != nullptr) {
    EXPECT_EQ(::pclose(python), 0);
  }
  for (int i = 0; i < 100 && c.last_stable_offset(tp) != log_offset{3}; ++i)
    co_await c.getmany(milliseconds(100));
  EXPECT_EQ(c.last_stable_offset(tp), log_offset{3});
  co_await c.stop();
  for (const auto& path : {script, opened, stop}) std::remove(path.c_str());
  admin.close();
}

TEST(consumer_read_committed, stops_at_the_last_stable_offset) {
  run_coroutine([](asio::any_io_executor ex) { return stops_at_the_last_stable_offset(ex); });
}

}  // namespace
}  // namespace sluice::kafka
