// Transaction versions (KIP-890 part 2) against the real broker (Kafka 4.3.1 finalizes
// transaction.version 2 by default): with version 2 every transaction ends with an epoch bump
// the producer adopts; version 1 (forced with the testing hook, as on an older cluster) keeps the
// epoch. Under both, a read_committed consumer (kafka/consumer) sees committed records only.
#include <gtest/gtest.h>

#include <algorithm>

#include "kafka/consumer/consumer.hpp"
#include "kafka/producer/producer.hpp"
#include "tests/kafka/producer/producer_it_support.hpp"
#include "tests/support/run_coroutine.hpp"

namespace sluice::kafka {
namespace {

using namespace test_support;
using sluice::test::run_coroutine;
using sluice::test::unique_topic;

// Everything a read_committed consumer (no group) reads from partition 0, until it has
// `expected` records or 30 s passed (markers land shortly after EndTxn returns).
asio::awaitable<std::vector<std::string>> read_committed_values(asio::any_io_executor executor,
                                                                std::string topic,
                                                                std::size_t expected) {
  consumer_config config;
  static_cast<client_config&>(config) = test_client_config();
  config.isolation = isolation_level::read_committed;
  config.offset_reset = auto_offset_reset::earliest;
  consumer reader(executor, config);
  co_await reader.start();
  std::vector<topic_partition> partitions(1, topic_partition{topic, 0});
  reader.assign(partitions);
  co_await reader.seek_to_beginning();
  std::vector<std::string> values;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (values.size() < expected && std::chrono::steady_clock::now() < deadline) {
    auto records = co_await reader.getmany(std::chrono::milliseconds(500));
    for (const auto& record : records) values.emplace_back(record.value_string());
  }
  // A little longer: nothing aborted may trail the committed records.
  auto more = co_await reader.getmany(std::chrono::milliseconds(500));
  for (const auto& record : more) values.emplace_back(record.value_string());
  co_await reader.stop();
  co_return values;
}

asio::awaitable<void> transactions_at_version(asio::any_io_executor executor, int limit,
                                              std::string prefix) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic(prefix);
  co_await create_topic(admin, topic, 1);
  auto config = test_producer_config();
  config.transactional_id = unique_topic(prefix + "-id");
  config.max_block = std::chrono::seconds(30);
  producer p(executor, config);
  if (limit > 0) p.limit_transaction_version_for_testing(limit);
  co_await p.start();
  const int version = p.transaction_version();
  if (limit > 0) {
    EXPECT_EQ(version, limit);
  } else {
    // Kafka 4.3.1 finalizes transaction.version 2 by default.
    EXPECT_EQ(version, 2);
  }
  const auto id = p.identity().id;
  std::vector<std::int16_t> epochs{p.identity().epoch.value()};

  p.begin_transaction();
  co_await p.send(topic, protocol::to_bytes("committed-1"));
  co_await p.commit_transaction();
  epochs.push_back(p.identity().epoch.value());

  p.begin_transaction();
  co_await p.send(topic, protocol::to_bytes("aborted-1"));
  co_await p.flush();  // in the log, then aborted
  co_await p.abort_transaction();
  epochs.push_back(p.identity().epoch.value());

  // Several batches of one transaction after the epoch changed: sequences start again at 0.
  p.begin_transaction();
  for (int i = 0; i < 3; ++i) {
    co_await p.send(topic, protocol::to_bytes("committed-2-" + std::to_string(i)));
    co_await p.flush();
  }
  co_await p.commit_transaction();
  epochs.push_back(p.identity().epoch.value());

  // A transaction with nothing in it ends without EndTxn: the epoch stays.
  p.begin_transaction();
  co_await p.commit_transaction();
  epochs.push_back(p.identity().epoch.value());
  EXPECT_EQ(p.identity().id, id);
  co_await p.stop();

  if (version == 2) {
    // KIP-890 part 2: one bump per ended transaction.
    EXPECT_EQ(epochs,
              (std::vector<std::int16_t>{epochs[0], static_cast<std::int16_t>(epochs[0] + 1),
                                         static_cast<std::int16_t>(epochs[0] + 2),
                                         static_cast<std::int16_t>(epochs[0] + 3),
                                         static_cast<std::int16_t>(epochs[0] + 3)}));
  } else {
    EXPECT_TRUE(std::all_of(epochs.begin(), epochs.end(),
                            [&](std::int16_t epoch) { return epoch == epochs[0]; }));
  }

  auto committed = co_await read_committed_values(executor, topic, 4);
  EXPECT_EQ(committed, (std::vector<std::string>{"committed-1", "committed-2-0", "committed-2-1",
                                                 "committed-2-2"}));
  // read_uncommitted would see the aborted record: it was written.
  auto everything = co_await read_records(admin, topic, 0);
  EXPECT_EQ(everything.size(), 5u);
  admin.close();
}

TEST(producer_transaction_version, version_2_bumps_the_epoch_per_transaction) {
  run_coroutine(
      [](asio::any_io_executor executor) { return transactions_at_version(executor, 0, "tv2"); });
}

TEST(producer_transaction_version, version_1_keeps_the_epoch) {
  run_coroutine(
      [](asio::any_io_executor executor) { return transactions_at_version(executor, 1, "tv1"); });
}

// Records queued but never sent when the transaction aborts: their deliveries fail, the abort
// succeeds (with version 2 the coordinator may never have heard of the transaction: EndTxn still
// goes out, as from the Java client), and the next transaction commits.
asio::awaitable<void> abort_before_sending(asio::any_io_executor executor, int limit,
                                           std::string prefix) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic(prefix);
  co_await create_topic(admin, topic, 1);
  auto config = test_producer_config();
  config.transactional_id = unique_topic(prefix + "-id");
  config.max_block = std::chrono::seconds(30);
  config.linger = std::chrono::seconds(10);  // nothing leaves before the abort
  producer p(executor, config);
  if (limit > 0) p.limit_transaction_version_for_testing(limit);
  co_await p.start();
  p.begin_transaction();
  auto dropped = co_await p.send(topic, protocol::to_bytes("dropped"));
  co_await p.abort_transaction();
  bool failed = false;
  try {
    co_await dropped.get();
  } catch (const kafka_error& e) {
    failed = std::string(e.what()).find("aborted") != std::string::npos;
  }
  EXPECT_TRUE(failed) << "a record of an aborted transaction was delivered";
  p.begin_transaction();
  co_await p.send(topic, protocol::to_bytes("kept"));
  co_await p.commit_transaction();
  co_await p.stop();
  auto committed = co_await read_committed_values(executor, topic, 1);
  EXPECT_EQ(committed, (std::vector<std::string>{"kept"}));
  admin.close();
}

TEST(producer_transaction_version, abort_before_anything_was_sent_version_2) {
  run_coroutine([](asio::any_io_executor executor) {
    return abort_before_sending(executor, 0, "tv2-unsent");
  });
}

TEST(producer_transaction_version, abort_before_anything_was_sent_version_1) {
  run_coroutine([](asio::any_io_executor executor) {
    return abort_before_sending(executor, 1, "tv1-unsent");
  });
}

// Version 2: the epoch a zombie holds is the one before a bump; after a second producer with the
// same id starts, the first one's Produce and EndTxn are fenced.
asio::awaitable<void> fenced_after_bumps(asio::any_io_executor executor) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("tv2-fence");
  co_await create_topic(admin, topic, 1);
  auto config = test_producer_config();
  config.transactional_id = unique_topic("tv2-fence-id");
  config.max_block = std::chrono::seconds(30);
  producer first(executor, config);
  co_await first.start();
  for (int i = 0; i < 2; ++i) {
    first.begin_transaction();
    co_await first.send(topic, protocol::to_bytes("first-" + std::to_string(i)));
    co_await first.commit_transaction();
  }
  first.begin_transaction();
  co_await first.send(topic, protocol::to_bytes("zombie"));
  co_await first.flush();

  producer second(executor, config);
  co_await second.start();
  EXPECT_GT(second.identity().epoch, first.identity().epoch);
  bool fenced = false;
  try {
    co_await first.send(topic, protocol::to_bytes("zombie-2"));
    co_await first.commit_transaction();
  } catch (const kafka_error& e) {
    fenced = std::string(e.what()).find("fenced") != std::string::npos;
    EXPECT_FALSE(e.retriable()) << e.what();
  }
  EXPECT_TRUE(fenced) << "the zombie committed";
  second.begin_transaction();
  co_await second.send(topic, protocol::to_bytes("survivor"));
  co_await second.commit_transaction();
  co_await first.stop();
  co_await second.stop();

  auto committed = co_await read_committed_values(executor, topic, 3);
  EXPECT_EQ(committed, (std::vector<std::string>{"first-0", "first-1", "survivor"}));
  admin.close();
}

TEST(producer_transaction_version, version_2_still_fences_a_zombie) {
  run_coroutine([](asio::any_io_executor executor) { return fenced_after_bumps(executor); });
}

}  // namespace
}  // namespace sluice::kafka
