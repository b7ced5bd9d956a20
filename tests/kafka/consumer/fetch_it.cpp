// The consumer with manual assignment against the real broker: fetching, positions, seeks,
// offset lookups, pause/resume, offset-out-of-range handling, compressed batches and headers.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <map>
#include <set>

#include "kafka/consumer/consumer.hpp"
#include "kafka/consumer/consumer_error.hpp"
#include "tests/kafka/consumer/consumer_it_support.hpp"

namespace sluice::kafka {
namespace {

using namespace test_support;
using sluice::test::run_coroutine;
using std::chrono::milliseconds;

std::vector<topic_partition> partitions_of(const std::string& topic, int n) {
  std::vector<topic_partition> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int p = 0; p < n; ++p) out.push_back({topic, p});
  return out;
}

asio::awaitable<void> reads_every_partition_in_order(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("fetch");
  co_await create_topic(admin, topic, 3);
  for (int p = 0; p < 3; ++p) {
    co_await produce(admin, topic, p, numbered(0, 5));
    co_await produce(admin, topic, p, numbered(5, 5));
  }
  consumer c(ex, consumer_settings());
  co_await c.start();
  c.assign(partitions_of(topic, 3));
  EXPECT_EQ(c.assignment().size(), 3u);
  auto records = co_await read_records(c, 30);
  EXPECT_EQ(records.size(), 30u);
  std::map<int, std::vector<std::int64_t>> offsets;
  for (const auto& r : records) {
    EXPECT_EQ(r.topic, topic);
    EXPECT_EQ(r.key_string(), "k" + std::to_string(r.offset));
    EXPECT_EQ(r.value_string(), "v" + std::to_string(r.offset));
    EXPECT_GT(r.timestamp, 0);
    offsets[r.partition].push_back(r.offset);
  }
  for (int p = 0; p < 3; ++p) {
    std::vector<std::int64_t> expected;
    expected.reserve(10);
    for (int i = 0; i < 10; ++i) expected.push_back(i);
    EXPECT_EQ(offsets[p], expected) << "partition " << p;
    topic_partition tp{topic, p};
    EXPECT_EQ(co_await c.position(tp), log_offset{10});
    EXPECT_EQ(c.highwater({topic, p}), log_offset{10});
    EXPECT_TRUE(c.last_poll_timestamp({topic, p}).has_value());
  }
  // Nothing more: an empty answer after the timeout.
  auto none = co_await c.getmany(milliseconds(300));
  EXPECT_TRUE(none.empty());
  co_await c.stop();
  admin.close();
}

TEST(consumer_fetch, reads_every_partition_in_order) {
  run_coroutine([](asio::any_io_executor ex) { return reads_every_partition_in_order(ex); });
}

asio::awaitable<void> seeks_and_positions(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("seek");
  co_await create_topic(admin, topic, 1);
  co_await produce(admin, topic, 0, numbered(0, 10));
  topic_partition tp{topic, 0};
  auto config = consumer_settings();
  config.offset_reset = auto_offset_reset::latest;
  consumer c(ex, config);
  co_await c.start();
  c.assign({tp});
  // latest: the position is the end of the log.
  EXPECT_EQ(co_await c.position(tp), log_offset{10});
  c.seek(tp, log_offset{4});
  EXPECT_EQ(co_await c.position(tp), log_offset{4});
  auto first = co_await c.getone(milliseconds(10'000));
  EXPECT_TRUE(first.has_value());
  if (first) {
    EXPECT_EQ(first->offset, 4);
  }
  EXPECT_EQ(co_await c.position(tp), log_offset{5});
  auto batch = co_await c.getmany(milliseconds(10'000), 2);
  EXPECT_EQ(batch.size(), 2u);
  if (batch.size() == 2) {
    EXPECT_EQ(batch[0].offset, 5);
    EXPECT_EQ(batch[1].offset, 6);
  }
  co_await c.seek_to_beginning();
  EXPECT_EQ(co_await c.position(tp), log_offset{0});
  auto again = co_await c.getone(milliseconds(10'000));
  EXPECT_TRUE(again && again->offset == 0);
  std::vector<topic_partition> just_tp(1, tp);
  co_await c.seek_to_end(just_tp);
  EXPECT_EQ(co_await c.position(tp), log_offset{10});
  EXPECT_TRUE((co_await c.getmany(milliseconds(300))).empty());
  co_await produce(admin, topic, 0, numbered(10, 3));
  auto fresh = co_await read_records(c, 3);
  EXPECT_EQ(fresh.size(), 3u);
  if (!fresh.empty()) {
    EXPECT_EQ(fresh.front().offset, 10);
  }
  // Positions of unassigned partitions are an error, not a guess.
  try {
    topic_partition unassigned{topic, 7};
    co_await c.position(unassigned);
    ADD_FAILURE() << "position of an unassigned partition did not throw";
  } catch (const kafka_error& e) {
    EXPECT_EQ(e.code(), make_error_code(consumer_error::illegal_state));
  }
  co_await c.stop();
  admin.close();
}

TEST(consumer_fetch, seeks_and_positions) {
  run_coroutine([](asio::any_io_executor ex) { return seeks_and_positions(ex); });
}

asio::awaitable<void> decodes_compressed_batches_with_headers(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("codecs");
  co_await create_topic(admin, topic, 1);
  const std::vector<records::compression> codecs{
      records::compression::none, records::compression::gzip, records::compression::snappy,
      records::compression::lz4, records::compression::zstd};
  int n = 0;
  for (auto codec : codecs) {
    std::vector<test_record> batch;
    for (int i = 0; i < 20; ++i, ++n) {
      batch.push_back({"key-" + std::to_string(n),
                       std::string(100, static_cast<char>('a' + n % 26)),
                       0,
                       {{"codec", records::to_string(codec)}, {"n", std::to_string(n)}}});
    }
    co_await produce(admin, topic, 0, batch, codec);
  }
  std::vector<consumer_record> records;
  {
    consumer c(ex, consumer_settings());
    co_await c.start();
    c.assign({{topic, 0}});
    // Small polls so that compressed chunks are handed out across several calls.
    while (records.size() < 100) {
      auto got = co_await c.getmany(milliseconds(10'000), 7);
      if (got.empty()) break;
      records.insert(records.end(), got.begin(), got.end());
    }
    co_await c.stop();
  }
  // The consumer is gone: the records keep their buffers alive.
  EXPECT_EQ(records.size(), 100u);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    EXPECT_EQ(r.offset, static_cast<std::int64_t>(i));
    EXPECT_EQ(r.key_string(), "key-" + std::to_string(i));
    EXPECT_EQ(r.value_string(), std::string(100, static_cast<char>('a' + i % 26)));
    EXPECT_EQ(r.headers.size(), 2u);
    if (r.headers.size() == 2) {
      EXPECT_EQ(r.headers[0].key, "codec");
      EXPECT_EQ(protocol::as_string_view(*r.headers[0].value), records::to_string(codecs[i / 20]));
      EXPECT_EQ(r.headers[1].key, "n");
      EXPECT_EQ(protocol::as_string_view(*r.headers[1].value), std::to_string(i));
    }
    auto owned = r.to_record();
    EXPECT_EQ(owned.offset, r.offset);
    EXPECT_EQ(owned.headers.size(), 2u);
  }
  admin.close();
}

TEST(consumer_fetch, decodes_compressed_batches_with_headers) {
  run_coroutine(
      [](asio::any_io_executor ex) { return decodes_compressed_batches_with_headers(ex); });
}

asio::awaitable<void> looks_up_offsets_and_topics(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("lookups");
  co_await create_topic(admin, topic, 2);
  // Timestamps 1000, 2000, ... 5000 on partition 0.
  std::vector<test_record> timed;
  timed.reserve(5);
  for (int i = 1; i <= 5; ++i) timed.push_back({"k", "v", std::int64_t{i} * 1000});
  co_await produce(admin, topic, 0, timed);
  co_await produce(admin, topic, 1, numbered(0, 3));
  consumer c(ex, consumer_settings());
  co_await c.start();
  topic_partition p0{topic, 0}, p1{topic, 1};
  std::vector<topic_partition> both{p0, p1};
  auto begin = co_await c.beginning_offsets(both);
  EXPECT_EQ(begin[p0], log_offset{0});
  EXPECT_EQ(begin[p1], log_offset{0});
  auto end = co_await c.end_offsets(both);
  EXPECT_EQ(end[p0], log_offset{5});
  EXPECT_EQ(end[p1], log_offset{3});
  std::map<topic_partition, timestamp_ms> asked{{p0, timestamp_ms{2500}}};
  auto times = co_await c.offsets_for_times(asked);
  EXPECT_TRUE(times[p0].has_value());
  if (times[p0]) {
    EXPECT_EQ(times[p0]->offset, 2);
    EXPECT_EQ(times[p0]->timestamp, 3000);
  }
  std::map<topic_partition, timestamp_ms> too_late{{p0, timestamp_ms{99'000}}};
  auto none = co_await c.offsets_for_times(too_late);
  EXPECT_FALSE(none[p0].has_value());

  auto all = co_await c.topics();
  EXPECT_TRUE(all.contains(topic));
  auto parts = co_await c.partitions_for_topic(topic);
  EXPECT_TRUE(parts.has_value());
  if (parts) {
    EXPECT_EQ(*parts, (std::set<partition_id>{partition_id{0}, partition_id{1}}));
  }
  EXPECT_FALSE((co_await c.partitions_for_topic(topic + "-missing")).has_value());
  try {
    std::vector<topic_partition> missing(1, topic_partition{topic + "-missing", 0});
    co_await c.end_offsets(missing);
    ADD_FAILURE() << "end_offsets of a missing topic did not throw";
  } catch (const kafka_error& e) {
    EXPECT_EQ(e.kafka_code(), error_code::unknown_topic_or_partition);
    EXPECT_NE(std::string(e.what()).find(topic + "-missing"), std::string::npos) << e.what();
  }
  co_await c.stop();
  admin.close();
}

TEST(consumer_fetch, looks_up_offsets_and_topics) {
  run_coroutine([](asio::any_io_executor ex) { return looks_up_offsets_and_topics(ex); });
}

asio::awaitable<void> pause_and_resume(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("pause");
  co_await create_topic(admin, topic, 2);
  co_await produce(admin, topic, 0, numbered(0, 5));
  co_await produce(admin, topic, 1, numbered(0, 5));
  topic_partition p0{topic, 0}, p1{topic, 1};
  consumer c(ex, consumer_settings());
  co_await c.start();
  c.assign({p0, p1});
  c.pause({p0});
  EXPECT_EQ(c.paused(), (std::set<topic_partition>{p0}));
  auto first = co_await read_records(c, 5);
  EXPECT_EQ(first.size(), 5u);
  for (const auto& r : first) EXPECT_EQ(r.partition, 1);
  EXPECT_TRUE((co_await c.getmany(milliseconds(500))).empty());
  EXPECT_EQ(co_await c.position(p0), log_offset{0});
  c.resume({p0});
  EXPECT_TRUE(c.paused().empty());
  auto second = co_await read_records(c, 5);
  EXPECT_EQ(second.size(), 5u);
  for (const auto& r : second) EXPECT_EQ(r.partition, 0);
  // getmany restricted to some partitions.
  co_await c.seek_to_beginning();
  std::vector<topic_partition> just_p1(1, p1);
  auto only_p1 = co_await c.getmany(milliseconds(10'000), 100, just_p1);
  EXPECT_FALSE(only_p1.empty());
  for (const auto& r : only_p1) EXPECT_EQ(r.partition, 1);
  co_await c.stop();
  admin.close();
}

TEST(consumer_fetch, pause_and_resume) {
  run_coroutine([](asio::any_io_executor ex) { return pause_and_resume(ex); });
}

asio::awaitable<void> wake_later(consumer& c) {
  asio::steady_timer pause(co_await asio::this_coro::executor, milliseconds(200));
  co_await pause.async_wait(asio::use_awaitable);
  c.wake_getmany();
}

// A getmany() with no deadline (it would wait for ever on an empty topic) returns once woken, and
// records still come after.
asio::awaitable<void> woken_getmany_returns_at_once(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("wake");
  co_await create_topic(admin, topic, 1);
  topic_partition p0{topic, 0};
  consumer c(ex, consumer_settings());
  co_await c.start();
  c.assign({p0});
  // Woken before it waits: the next getmany returns at once.
  c.wake_getmany();
  EXPECT_TRUE((co_await c.getmany(milliseconds::max())).empty());
  // Woken while it waits.
  asio::co_spawn(ex, wake_later(c), asio::detached);
  EXPECT_TRUE((co_await c.getmany(milliseconds::max())).empty());
  co_await produce(admin, topic, 0, numbered(0, 3));
  auto records = co_await read_records(c, 3);
  EXPECT_EQ(records.size(), 3u);
  co_await c.stop();
  admin.close();
}

TEST(consumer_fetch, woken_getmany_returns_at_once) {
  run_coroutine([](asio::any_io_executor ex) { return woken_getmany_returns_at_once(ex); });
}

asio::awaitable<void> offset_out_of_range_with_reset_none(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("oor");
  co_await create_topic(admin, topic, 2);
  co_await produce(admin, topic, 0, numbered(0, 3));
  topic_partition p0{topic, 0}, p1{topic, 1};
  auto config = consumer_settings();
  config.offset_reset = auto_offset_reset::none;
  consumer c(ex, config);
  co_await c.start();
  c.assign({p0, p1});
  // No position and no reset policy: position() says so, naming the partition.
  try {
    co_await c.position(p1);
    ADD_FAILURE() << "position without a reset policy did not throw";
  } catch (const kafka_error& e) {
    EXPECT_EQ(e.code(), make_error_code(consumer_error::no_offset_for_partition));
    EXPECT_NE(std::string(e.what()).find(p1.to_string()), std::string::npos) << e.what();
  }
  c.seek(p0, log_offset{1000});
  c.seek(p1, log_offset{0});
  bool thrown = false;
  for (int i = 0; i < 50 && !thrown; ++i) {
    try {
      co_await c.getmany(milliseconds(200));
    } catch (const kafka_error& e) {
      thrown = true;
      EXPECT_EQ(e.kafka_code(), error_code::offset_out_of_range);
      EXPECT_NE(std::string(e.what()).find(p0.to_string()), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find(p1.to_string()), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(thrown) << "fetching at offset 1000 of a 3-record partition did not fail";
  // A seek clears it.
  c.seek(p0, log_offset{1});
  auto records = co_await read_records(c, 2);
  EXPECT_EQ(records.size(), 2u);
  if (!records.empty()) {
    EXPECT_EQ(records.front().offset, 1);
  }
  co_await c.stop();

  // With earliest the consumer resets by itself.
  config.offset_reset = auto_offset_reset::earliest;
  consumer resetting(ex, config);
  co_await resetting.start();
  resetting.assign({p0});
  resetting.seek(p0, log_offset{1000});
  auto reset = co_await read_records(resetting, 3);
  EXPECT_EQ(reset.size(), 3u);
  if (!reset.empty()) {
    EXPECT_EQ(reset.front().offset, 0);
  }
  co_await resetting.stop();
  admin.close();
}

TEST(consumer_fetch, offset_out_of_range_with_reset_none) {
  run_coroutine([](asio::any_io_executor ex) { return offset_out_of_range_with_reset_none(ex); });
}

asio::awaitable<void> many_records_across_fetches(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("bulk");
  co_await create_topic(admin, topic, 1);
  for (int b = 0; b < 20; ++b)
    co_await produce(admin, topic, 0, numbered(b * 500, 500), records::compression::lz4);
  auto config = consumer_settings();
  // Small fetches: many round trips, prefetch queue refilled while records are handed out.
  config.max_partition_fetch_bytes = 16 * 1024;
  config.max_poll_records = 333;
  consumer c(ex, config);
  co_await c.start();
  c.assign({{topic, 0}});
  auto records = co_await read_records(c, 10'000, std::chrono::seconds(60));
  EXPECT_EQ(records.size(), 10'000u);
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (records[i].offset != static_cast<std::int64_t>(i)) {
      ADD_FAILURE() << "record " << i << " has offset " << records[i].offset;
      break;
    }
  }
  co_await c.stop();
  admin.close();
}

TEST(consumer_fetch, many_records_across_fetches) {
  run_coroutine([](asio::any_io_executor ex) { return many_records_across_fetches(ex); });
}

asio::awaitable<void> assign_and_subscribe_do_not_mix(asio::any_io_executor ex) {
  consumer c(ex, consumer_settings(test::unique_topic("group")));
  co_await c.start();
  c.assign({{"some-topic", 0}});
  try {
    c.subscribe(std::vector<std::string>{"some-topic"});
    ADD_FAILURE() << "subscribe after assign did not throw";
  } catch (const kafka_error& e) {
    EXPECT_EQ(e.code(), make_error_code(consumer_error::illegal_state));
  }
  c.assign({});
  c.subscribe(std::vector<std::string>{"some-topic"});
  try {
    c.assign({{"some-topic", 0}});
    ADD_FAILURE() << "assign after subscribe did not throw";
  } catch (const kafka_error& e) {
    EXPECT_EQ(e.code(), make_error_code(consumer_error::illegal_state));
  }
  co_await c.unsubscribe();
  c.assign({{"some-topic", 0}});
  EXPECT_EQ(c.assignment().size(), 1u);
  co_await c.stop();
}

TEST(consumer_fetch, assign_and_subscribe_do_not_mix) {
  run_coroutine([](asio::any_io_executor ex) { return assign_and_subscribe_do_not_mix(ex); });
}

// What bench/sluice_consume did against a missing topic: seek_to_beginning on it, then the consumer
// goes away (here without stop(), as when an exception unwinds past it) while the executor runs
// on. seek_to_beginning must not fail for a topic that may appear later (its lookup stays pending,
// like the Java consumer's lazy seekToBeginning), and the background tasks must not outlive the
// consumer's state. (Regression: the fetch scheduler resumed on a destroyed consumer and crashed.)
asio::awaitable<void> missing_topic_seek_then_destroy(asio::any_io_executor ex) {
  auto topic = test::unique_topic("gone");
  topic_partition tp{topic, 0};
  {
    consumer c(ex, consumer_settings());
    co_await c.start();
    c.assign({tp});
    co_await c.seek_to_beginning();
    for (int i = 0; i < 3; ++i) EXPECT_TRUE((co_await c.getmany(milliseconds(200))).empty());
  }
  // The executor keeps running what the destroyed consumer left behind.
  co_await sleep_ms(ex, 1500);
  {
    consumer c(ex, consumer_settings());
    co_await c.start();
    c.assign({tp});
    EXPECT_TRUE((co_await c.getmany(milliseconds(300))).empty());
  }
  co_await sleep_ms(ex, 1500);
}

TEST(consumer_fetch, missing_topic_seek_then_destroy) {
  run_coroutine([](asio::any_io_executor ex) { return missing_topic_seek_then_destroy(ex); });
}

// A manually assigned topic that does not exist yet: the consumer must neither crash nor raise;
// getmany answers nothing while the scheduler keeps retrying metadata with backoff (as the Java
// client does, warning UNKNOWN_TOPIC_OR_PARTITION), and once the topic is created the records
// produced to it arrive. (Regression: this used to crash the fetch scheduler.)
asio::awaitable<void> missing_topic_is_read_once_created(asio::any_io_executor ex,
                                                         bool with_group) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto topic = test::unique_topic("missing");
  // With a group the position is first looked up among the group's committed offsets.
  auto config = consumer_settings(with_group ? test::unique_topic("missing-group") : "");
  config.retry_backoff = milliseconds(50);  // many scheduler rounds against the missing topic
  consumer c(ex, config);
  co_await c.start();
  topic_partition tp{topic, 0};
  c.assign({tp});
  for (int i = 0; i < 10; ++i) {
    auto none = co_await c.getmany(milliseconds(300));
    EXPECT_TRUE(none.empty()) << "round " << i;
  }
  EXPECT_EQ(c.assignment(), std::set<topic_partition>{tp});
  // A second, equally missing partition next to it, reassigned while the scheduler retries.
  topic_partition other{topic, 1};
  c.assign({tp, other});
  EXPECT_TRUE((co_await c.getmany(milliseconds(300))).empty());
  c.assign({tp});
  EXPECT_TRUE((co_await c.getmany(milliseconds(300))).empty());

  co_await create_topic(admin, topic, 1);
  co_await produce(admin, topic, 0, numbered(0, 5));
  auto records = co_await read_records(c, 5, std::chrono::seconds(60));
  EXPECT_EQ(records.size(), 5u);
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].topic, topic);
    EXPECT_EQ(records[i].partition, 0);
    EXPECT_EQ(records[i].offset, static_cast<std::int64_t>(i));
    EXPECT_EQ(records[i].value_string(), "v" + std::to_string(i));
  }
  EXPECT_EQ(co_await c.position(tp), log_offset{5});
  co_await c.stop();
  admin.close();
}

TEST(consumer_fetch, missing_topic_is_read_once_created) {
  run_coroutine(
      [](asio::any_io_executor ex) { return missing_topic_is_read_once_created(ex, false); });
}

TEST(consumer_fetch, missing_topic_is_read_once_created_with_group) {
  run_coroutine(
      [](asio::any_io_executor ex) { return missing_topic_is_read_once_created(ex, true); });
}

// A missing topic next to an existing one: the existing one is read normally meanwhile.
asio::awaitable<void> missing_topic_does_not_block_others(asio::any_io_executor ex) {
  cluster admin(ex, client_settings());
  co_await admin.start();
  auto present = test::unique_topic("present");
  co_await create_topic(admin, present, 1);
  co_await produce(admin, present, 0, numbered(0, 4));
  auto missing = test::unique_topic("absent");
  consumer c(ex, consumer_settings());
  co_await c.start();
  c.assign({{present, 0}, {missing, 0}});
  auto records = co_await read_records(c, 4);
  EXPECT_EQ(records.size(), 4u);
  for (const auto& r : records) EXPECT_EQ(r.topic, present);
  EXPECT_TRUE((co_await c.getmany(milliseconds(500))).empty());
  co_await c.stop();
  admin.close();
}

TEST(consumer_fetch, missing_topic_does_not_block_others) {
  run_coroutine([](asio::any_io_executor ex) { return missing_topic_does_not_block_others(ex); });
}

}  // namespace
}  // namespace sluice::kafka
