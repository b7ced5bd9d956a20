// The producer against the real broker (scripts/kafka): records are read back with a raw Fetch
// and record_batch_decoder, independently of the producer under test.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "kafka/producer/partitioner.hpp"
#include "kafka/producer/producer.hpp"
#include "kafka/protocol/messages/delete_topics.hpp"
#include "tests/kafka/producer/producer_it_support.hpp"
#include "tests/support/run_coroutine.hpp"

namespace sluice::kafka {
namespace {

using namespace test_support;
using sluice::test::run_coroutine;
using sluice::test::unique_topic;

protocol::bytes bytes_of(const std::string& text) {
  return protocol::to_bytes(text);
}

asio::awaitable<void> send_and_read_back(asio::any_io_executor executor) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("produce");
  co_await create_topic(admin, topic, 1);

  producer p(executor, test_producer_config());
  co_await p.start();
  EXPECT_GE(p.identity().id.value(), 0);  // idempotent by default
  std::vector<records::record_header> headers{{"trace", bytes_of("abc")}, {"empty", std::nullopt}};
  auto first = co_await p.send_and_wait(topic, bytes_of("hello"), bytes_of("k1"), std::nullopt,
                                        timestamp_ms{1'700'000'000'000}, headers);
  EXPECT_EQ(first.topic, topic);
  EXPECT_EQ(first.partition, 0);
  EXPECT_EQ(first.offset, 0);
  EXPECT_EQ(first.timestamp, 1'700'000'000'000);
  auto tombstone = co_await p.send_and_wait(topic, std::nullopt, bytes_of("k2"));
  EXPECT_EQ(tombstone.offset, 1);
  EXPECT_GT(tombstone.timestamp, 1'700'000'000'000);
  co_await p.stop();

  auto records = co_await read_records(admin, topic, 0);
  EXPECT_EQ(records.size(), 2u);
  if (records.size() == 2) {
    EXPECT_EQ(text(records[0].key), "k1");
    EXPECT_EQ(text(records[0].value), "hello");
    EXPECT_EQ(records[0].timestamp, 1'700'000'000'000);
    EXPECT_EQ(records[0].headers, headers);
    EXPECT_EQ(text(records[1].key), "k2");
    EXPECT_FALSE(records[1].value.has_value());
  }
  admin.close();
}

TEST(producer, sends_a_record_and_reads_it_back) {
  run_coroutine([](asio::any_io_executor executor) { return send_and_read_back(executor); });
}

// Many records per partition, sent without waiting: each partition's records come back in the
// order they were sent, and the delivery offsets match the log.
asio::awaitable<void> keeps_order(asio::any_io_executor executor, producer_config config,
                                  std::string prefix) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic(prefix);
  constexpr int partitions = 3;
  constexpr int per_partition = 3000;
  co_await create_topic(admin, topic, partitions);

  config.batch_size = 4096;  // many batches, several in flight per partition
  producer p(executor, config);
  co_await p.start();
  std::vector<std::pair<int, delivery>> handles;
  for (int i = 0; i < per_partition; ++i) {
    for (int partition = 0; partition < partitions; ++partition) {
      auto value = "p" + std::to_string(partition) + "-" + std::to_string(i);
      handles.emplace_back(partition, co_await p.send(topic, bytes_of(value), std::nullopt,
                                                      partition_id{partition}));
    }
  }
  co_await p.flush();
  std::map<int, std::int64_t> last_offset;
  for (auto& [partition, handle] : handles) {
    EXPECT_TRUE(handle.done());
    auto where = co_await handle.get();
    EXPECT_EQ(where.partition, partition);
    if (config.acks != acks::none) {
      auto [it, fresh] = last_offset.try_emplace(partition, where.offset);
      if (!fresh) {
        EXPECT_EQ(where.offset, it->second + 1);
        it->second = where.offset;
      }
    } else {
      EXPECT_EQ(where.offset, -1);
    }
  }
  co_await p.stop();

  for (int partition = 0; partition < partitions; ++partition) {
    auto records = co_await read_records(admin, topic, partition);
    EXPECT_EQ(records.size(), static_cast<std::size_t>(per_partition)) << "partition " << partition;
    for (std::size_t i = 0; i < records.size(); ++i) {
      const auto expected = "p" + std::to_string(partition) + "-" + std::to_string(i);
      if (text(records[i].value) != expected) {
        ADD_FAILURE() << "partition " << partition << " offset " << i << ": "
                      << text(records[i].value) << " instead of " << expected;
        break;
      }
      EXPECT_EQ(records[i].offset, static_cast<std::int64_t>(i));
    }
  }
  admin.close();
}

TEST(producer, keeps_order_per_partition_with_acks_all_and_idempotence) {
  run_coroutine([](asio::any_io_executor executor) {
    return keeps_order(executor, test_producer_config(), "order-all");
  });
}

TEST(producer, keeps_order_with_acks_1) {
  auto config = test_producer_config();
  config.acks = acks::leader;
  config.max_in_flight_requests_per_connection = 1;
  run_coroutine([config](asio::any_io_executor executor) {
    return keeps_order(executor, config, "order-1");
  });
}

TEST(producer, acks_0_writes_without_answers) {
  auto config = test_producer_config();
  config.acks = acks::none;
  config.max_in_flight_requests_per_connection = 1;
  run_coroutine([config](asio::any_io_executor executor) {
    return keeps_order(executor, config, "order-0");
  });
}

asio::awaitable<void> round_trips_codec(asio::any_io_executor executor,
                                        records::compression codec) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic(std::string("codec-") + records::to_string(codec));
  co_await create_topic(admin, topic, 1);
  auto config = test_producer_config();
  config.compression = codec;
  config.linger = std::chrono::milliseconds(20);
  producer p(executor, config);
  co_await p.start();
  constexpr int count = 500;
  for (int i = 0; i < count; ++i) {
    co_await p.send(topic, bytes_of("value " + std::to_string(i) + std::string(50, 'z')),
                    bytes_of(std::to_string(i)));
  }
  co_await p.flush();
  co_await p.stop();
  auto batches = co_await read_partition(admin, topic, 0);
  int seen = 0;
  for (const auto& batch : batches) {
    EXPECT_EQ(batch.header.codec(), codec);
    for (const auto& record : batch.records) {
      EXPECT_EQ(text(record.value), "value " + std::to_string(seen) + std::string(50, 'z'));
      ++seen;
    }
  }
  EXPECT_EQ(seen, count);
  admin.close();
}

TEST(producer, round_trips_every_compression_codec) {
  for (auto codec : records::all_compressions) {
    SCOPED_TRACE(records::to_string(codec));
    run_coroutine(
        [codec](asio::any_io_executor executor) { return round_trips_codec(executor, codec); });
  }
}

// Keyed records land where the Java client would put them: toPositive(murmur2(key)) % 7.
asio::awaitable<void> keyed_partitions(asio::any_io_executor executor) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("keyed");
  co_await create_topic(admin, topic, 7);
  producer p(executor, test_producer_config());
  co_await p.start();
  EXPECT_EQ((co_await p.partitions_for(topic)).size(), 7u);
  // Partitions computed with kafka-clients 4.3.1's Utils.murmur2 (see partitioner_test).
  const std::map<std::string, std::int32_t> java = {{"a", 5},      {"ab", 0},         {"abc", 4},
                                                    {"hello", 4},  {"key-0", 0},      {"key-1", 5},
                                                    {"key-42", 3}, {"order-12345", 3}};
  for (const auto& [key, expected] : java) {
    auto where = co_await p.send_and_wait(topic, bytes_of("v"), bytes_of(key));
    EXPECT_EQ(where.partition, expected) << key;
  }
  co_await p.stop();
  for (const auto& entry : java) {
    auto records = co_await read_records(admin, topic, entry.second);
    EXPECT_TRUE(std::any_of(records.begin(), records.end(),
                            [&entry](const auto& r) { return text(r.key) == entry.first; }))
        << entry.first << " not found on partition " << entry.second;
  }
  admin.close();
}

TEST(producer, keyed_records_land_on_the_java_murmur2_partition) {
  run_coroutine([](asio::any_io_executor executor) { return keyed_partitions(executor); });
}

// Keyless records stick to one partition per batch, and all partitions get some.
asio::awaitable<void> keyless_and_user_partitioner(asio::any_io_executor executor) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("keyless");
  co_await create_topic(admin, topic, 3);
  auto config = test_producer_config();
  config.batch_size = 1024;
  {
    producer p(executor, config);
    co_await p.start();
    std::set<std::int32_t> used;
    constexpr int record_count = 600;
    std::vector<delivery> handles;
    handles.reserve(record_count);
    for (int i = 0; i < record_count; ++i)
      handles.push_back(co_await p.send(topic, bytes_of(std::string(100, 'k'))));
    co_await p.flush();
    for (auto& handle : handles) used.insert((co_await handle.get()).partition);
    EXPECT_EQ(used.size(), 3u);
    co_await p.stop();
  }
  config.partitioner = std::make_shared<round_robin_partitioner>();
  producer p(executor, config);
  co_await p.start();
  for (int i = 0; i < 6; ++i) {
    auto where = co_await p.send_and_wait(topic, bytes_of("rr"), bytes_of("same key"));
    EXPECT_EQ(where.partition, i % 3);
  }
  co_await p.stop();
  admin.close();
}

TEST(producer, spreads_keyless_records_and_uses_a_user_partitioner) {
  run_coroutine(
      [](asio::any_io_executor executor) { return keyless_and_user_partitioner(executor); });
}

asio::awaitable<void> clear_errors(asio::any_io_executor executor) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("errors");
  co_await create_topic(admin, topic, 2);
  auto config = test_producer_config();
  config.max_block = std::chrono::milliseconds(1500);
  producer p(executor, config);
  co_await p.start();
  try {
    co_await p.send(topic, bytes_of("x"), std::nullopt, partition_id{5});
    ADD_FAILURE() << "a partition that does not exist was accepted";
  } catch (const kafka_error& e) {
    EXPECT_NE(std::string(e.what()).find("partition 5 does not exist (the topic has 2 partitions)"),
              std::string::npos)
        << e.what();
  }
  try {
    co_await p.send(unique_topic("missing"), bytes_of("x"));
    ADD_FAILURE() << "a topic that does not exist was accepted";
  } catch (const kafka_error& e) {
    EXPECT_NE(std::string(e.what()).find("no metadata for the topic after max_block (1500 ms)"),
              std::string::npos)
        << e.what();
  }
  try {
    co_await p.send(topic, protocol::bytes(2'000'000));
    ADD_FAILURE() << "a record over max_request_size was accepted";
  } catch (const kafka_error& e) {
    EXPECT_EQ(e.kafka_code(), error_code::message_too_large);
  }
  co_await p.stop();
  try {
    co_await p.send(topic, bytes_of("late"));
    ADD_FAILURE() << "send after stop was accepted";
  } catch (const kafka_error& e) {
    EXPECT_NE(std::string(e.what()).find("the producer is stopped"), std::string::npos) << e.what();
  }
  admin.close();
}

TEST(producer, rejects_bad_sends_with_clear_errors) {
  run_coroutine([](asio::any_io_executor executor) { return clear_errors(executor); });
}

// A topic deleted under the producer: every attempt fails with a retriable error until the
// delivery timeout, then the record fails saying why.
asio::awaitable<void> gives_up_at_the_delivery_timeout(asio::any_io_executor executor) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("deleted");
  co_await create_topic(admin, topic, 1);
  auto config = test_producer_config();
  config.request_timeout = std::chrono::milliseconds(2000);
  config.delivery_timeout = std::chrono::milliseconds(3000);
  producer p(executor, config);
  co_await p.start();
  co_await p.send_and_wait(topic, protocol::to_bytes("before"));

  protocol::delete_topics_request request;
  request.topic_names.push_back(topic);
  request.topics.push_back({.name = topic});
  request.timeout_ms = 10'000;
  auto deleted = co_await admin.send_to_controller(std::move(request));
  EXPECT_EQ(deleted.responses.at(0).error_code, 0);

  auto handle = co_await p.send(topic, protocol::to_bytes("after"));
  try {
    co_await handle.get();
    ADD_FAILURE() << "a record to a deleted topic was delivered";
  } catch (const kafka_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(topic + "-0"), std::string::npos) << what;
    EXPECT_NE(what.find("delivery_timeout (3000 ms)"), std::string::npos) << what;
    EXPECT_TRUE(e.retriable()) << what;
  }
  co_await p.stop();
  admin.close();
}

TEST(producer, gives_up_at_the_delivery_timeout_with_the_reason) {
  run_coroutine(
      [](asio::any_io_executor executor) { return gives_up_at_the_delivery_timeout(executor); });
}

// Records for a topic deleted under the producer are retried (UNKNOWN_TOPIC_OR_PARTITION) and
// hold the buffer, so send() waits for memory and then fails saying so; stop() is bounded and
// fails what it could not deliver.
asio::awaitable<void> full_buffer(asio::any_io_executor executor) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("full");
  co_await create_topic(admin, topic, 1);
  auto config = test_producer_config();
  config.batch_size = 4096;
  config.buffer_memory = 4096;
  config.max_block = std::chrono::milliseconds(500);
  config.request_timeout = std::chrono::milliseconds(2000);
  config.delivery_timeout = std::chrono::milliseconds(60'000);
  producer p(executor, config);
  co_await p.start();
  co_await p.send_and_wait(topic, protocol::to_bytes("before"));
  protocol::delete_topics_request request;
  request.topic_names.push_back(topic);
  request.topics.push_back({.name = topic});
  request.timeout_ms = 10'000;
  co_await admin.send_to_controller(std::move(request));

  std::vector<delivery> queued;
  bool waited_out = false;
  for (int i = 0; i < 200 && !waited_out; ++i) {
    try {
      queued.push_back(co_await p.send(topic, protocol::bytes(100, std::byte{'x'})));
    } catch (const kafka_error& e) {
      waited_out = true;
      EXPECT_NE(std::string(e.what()).find(
                    "buffer_memory (4096 bytes) stayed full for max_block (500 ms)"),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_TRUE(waited_out) << "200 records fit into a 4 KiB buffer";
  EXPECT_FALSE(queued.empty());
  co_await p.stop(std::chrono::milliseconds(500));
  for (auto& handle : queued) {
    try {
      co_await handle.get();
      ADD_FAILURE() << "a record to a deleted topic was delivered";
    } catch (const kafka_error& e) {
      EXPECT_NE(std::string(e.what()).find("stopped before the record was delivered"),
                std::string::npos)
          << e.what();
    }
  }
  admin.close();
}

TEST(producer, a_full_buffer_makes_send_wait_then_fail_and_stop_is_bounded) {
  run_coroutine([](asio::any_io_executor executor) { return full_buffer(executor); });
}

// The producer over TLS with SASL SCRAM-SHA-512, the listener scripts/kafka adds with
// `--security sasl_ssl` (scripts/test starts the broker that way).
asio::awaitable<void> over_sasl_ssl(asio::any_io_executor executor) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("sasl-ssl");
  co_await create_topic(admin, topic, 1);
  auto config = test_producer_config();
  config.bootstrap_servers =
      parse_bootstrap_servers(test::required_env("SLUICE_SASL_SSL_BOOTSTRAP"));
  config.security.protocol = security_protocol::sasl_ssl;
  config.security.tls.ca_file = test::required_env("SLUICE_CA_FILE");
  config.security.sasl = {sasl_mechanism::scram_sha_512, test::required_env("SLUICE_SCRAM_USER"),
                          test::required_env("SLUICE_SCRAM_PASSWORD"), ""};
  producer p(executor, config);
  co_await p.start();
  auto where = co_await p.send_and_wait(topic, protocol::to_bytes("secret"));
  EXPECT_EQ(where.offset, 0);
  co_await p.stop();
  auto records = co_await read_records(admin, topic, 0);
  EXPECT_EQ(records.size(), 1u);
  if (!records.empty()) {
    EXPECT_EQ(text(records[0].value), "secret");
  }
  admin.close();
}

TEST(producer, sends_over_tls_with_sasl_scram) {
  run_coroutine([](asio::any_io_executor executor) { return over_sasl_ssl(executor); });
}

}  // namespace
}  // namespace sluice::kafka
