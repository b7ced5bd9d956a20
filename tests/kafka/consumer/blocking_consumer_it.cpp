// The blocking facade (kafka-python's KafkaConsumer style) against the real broker: group
// iteration, commits, seeks, positions, manual assignment, and records that outlive the consumer.
#include <gtest/gtest.h>

#include <thread>

#include "kafka/consumer/blocking_consumer.hpp"
#include "tests/kafka/consumer/consumer_it_support.hpp"

namespace sluice::kafka {
namespace {

using namespace test_support;
using sluice::test::run_coroutine;

// A topic with two partitions: k0..k4 on partition 0, k5..k9 on partition 1.
asio::awaitable<void> prepare(asio::any_io_executor ex, std::string topic) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  co_await create_topic(admin, topic, 2);
  co_await produce(admin, topic, 0, numbered(0, 5));
  co_await produce(admin, topic, 1, numbered(5, 5));
  admin.close();
}

void prepare_topic(const std::string& topic) {
  run_coroutine([topic](asio::any_io_executor ex) { return prepare(ex, topic); });
}

TEST(blocking_consumer, iterates_a_group_commits_and_seeks) {
  const auto topic = sluice::test::unique_topic("blocking-consumer");
  const auto group = sluice::test::unique_topic("blocking-group");
  prepare_topic(topic);
  const topic_partition p0{topic, 0}, p1{topic, 1};

  // Commits are the test's own: without auto commit, close() does not commit the positions.
  auto settings = consumer_settings(group);
  settings.enable_auto_commit = false;
  blocking_consumer consumer(settings, std::chrono::seconds(3));
  consumer.subscribe({topic});
  EXPECT_EQ(consumer.subscription(), std::set<std::string>{topic});
  std::set<std::string> keys;
  for (const auto& record : consumer) {
    EXPECT_EQ(record.topic, topic);
    EXPECT_EQ(record.value_string(), "v" + std::string(record.key_string().substr(1)));
    keys.insert(std::string(record.key_string()));
    if (keys.size() == 10) break;
  }
  EXPECT_EQ(keys.size(), 10u);
  EXPECT_EQ(consumer.assignment(), (std::set<topic_partition>{p0, p1}));
  EXPECT_EQ(consumer.position(p0), log_offset{5});
  EXPECT_EQ(consumer.position(p1), log_offset{5});

  consumer.commit();
  auto committed = consumer.committed({p0, p1});
  ASSERT_TRUE(committed.at(p0));
  EXPECT_EQ(committed.at(p0)->offset, 5);
  EXPECT_EQ(committed.at(p1)->offset, 5);
  EXPECT_EQ(consumer.group_metadata().group_id, group);

  // Nothing new: iteration ends after the iteration timeout.
  int more = 0;
  for ([[maybe_unused]] const auto& record : consumer) ++more;
  EXPECT_EQ(more, 0);

  // Seek back; poll from another thread (every call hops onto the consumer's thread).
  consumer.seek(p0, log_offset{2});
  std::vector<consumer_record> again;
  std::thread other([&] {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (again.size() < 3 && std::chrono::steady_clock::now() < until) {
      auto batch = consumer.poll(std::chrono::milliseconds(500));
      again.insert(again.end(), batch.begin(), batch.end());
    }
  });
  other.join();
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0].partition, 0);
  EXPECT_EQ(again[0].offset, 2);
  EXPECT_EQ(again[2].offset, 4);

  // Commit explicit offsets, then close: a new member of the group starts from them.
  std::map<topic_partition, offset_and_metadata> offsets;
  offsets[p0] = {3, "from the test", -1};
  consumer.commit(offsets);
  consumer.close();
  consumer.close();  // idempotent
  EXPECT_THROW(consumer.poll(std::chrono::milliseconds(10)), kafka_error);

  blocking_consumer next(settings, std::chrono::seconds(3));
  EXPECT_EQ(next.committed({p0}).at(p0)->metadata, "from the test");
  next.subscribe({topic});
  // The first record waits for the join; iteration then ends 3 s after the last one.
  auto joined = next.next(std::chrono::seconds(30));
  ASSERT_TRUE(joined);
  std::vector<std::string> rest{std::string(joined->key_string())};
  for (const auto& record : next) rest.emplace_back(record.key_string());
  EXPECT_EQ(rest, (std::vector<std::string>{"k3", "k4"}));
}

TEST(blocking_consumer, assigns_manually_and_records_outlive_the_consumer) {
  const auto topic = sluice::test::unique_topic("blocking-assign");
  prepare_topic(topic);
  const topic_partition p1{topic, 1};

  std::optional<consumer_record> first;
  std::vector<consumer_record> batch;
  {
    blocking_consumer consumer(consumer_settings());
    EXPECT_EQ(consumer.partitions_for_topic(topic),
              (std::set<partition_id>{partition_id{0}, partition_id{1}}));
    EXPECT_TRUE(consumer.topics().contains(topic));
    EXPECT_FALSE(consumer.partitions_for_topic(topic + "-missing"));
    consumer.assign({p1});
    EXPECT_EQ(consumer.assignment(), std::set<topic_partition>{p1});
    EXPECT_EQ(consumer.end_offsets({p1}).at(p1), log_offset{5});
    EXPECT_EQ(consumer.beginning_offsets({p1}).at(p1), log_offset{0});
    consumer.seek_to_end({p1});
    EXPECT_EQ(consumer.position(p1), log_offset{5});
    consumer.seek_to_beginning({p1});
    first = consumer.next(std::chrono::seconds(30));
    ASSERT_TRUE(first);
    EXPECT_EQ(first->offset, 0);
    EXPECT_EQ(consumer.position(p1), log_offset{1});

    // Paused partitions hand out nothing; resumed ones go on where they were.
    consumer.pause({p1});
    EXPECT_TRUE(consumer.poll(std::chrono::milliseconds(300)).empty());
    consumer.resume({p1});
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (batch.size() < 4 && std::chrono::steady_clock::now() < until) {
      auto more = consumer.poll(std::chrono::milliseconds(500), 4 - batch.size());
      batch.insert(batch.end(), more.begin(), more.end());
    }
  }  // the destructor closes
  EXPECT_EQ(first->key_string(), "k5");
  ASSERT_EQ(batch.size(), 4u);
  EXPECT_EQ(batch[0].offset, 1);
  EXPECT_EQ(batch[3].value_string(), "v9");
  EXPECT_EQ(batch[3].topic, topic);
}

TEST(blocking_consumer, a_bad_configuration_throws_from_the_constructor) {
  auto config = consumer_settings();
  config.max_poll_records = 0;
  EXPECT_THROW(blocking_consumer consumer(config), kafka_error);
}

}  // namespace
}  // namespace sluice::kafka
