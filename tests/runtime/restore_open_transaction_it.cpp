// A restore that starts while a transaction on its changelog is still open (real broker): it
// must end past that transaction, with its records when it commits and without them when it
// aborts. This is the moment of a handoff: the previous owner's commit is decided (its offsets are
// stable) while the coordinator is still writing the markers to the changelog partitions, whose
// last stable offset then lies below the committed records. A restore that stopped at the last
// stable offset found at its start lost them; a chaos run lost 75 outer-join results that way.
#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "kafka/protocol/wire.hpp"
#include "runtime/changelog_restorer.hpp"
#include "tests/runtime/app_test_support.hpp"

namespace sluice::runtime {
namespace {

using namespace test_support;
using kafka::protocol::to_bytes;

enum class ending : std::uint8_t { commit, abort };

struct restored {
  std::map<std::string, std::string> entries;
  restore_outcome outcome;
  bool ended_before_restore_finished = false;
};

asio::awaitable<void> send(kafka::producer& producer, const std::string& topic,
                           const std::string& key, const std::string& value) {
  const kafka::partition_id partition{0};
  auto delivery = co_await producer.send(topic, to_bytes(value), to_bytes(key), partition);
  (void)delivery;
}

// Ends the producer's open transaction after a pause; the flags say when it began and finished.
asio::awaitable<void> end_transaction_later(asio::any_io_executor executor,
                                            kafka::producer& producer, ending end, bool& started,
                                            bool& done) {
  asio::steady_timer timer(executor, std::chrono::milliseconds(1500));
  co_await timer.async_wait(asio::use_awaitable);
  started = true;
  if (end == ending::commit) {
    co_await producer.commit_transaction();
  } else {
    co_await producer.abort_transaction();
  }
  done = true;
}

// One committed transaction (a), then a second one (b, c) left open while the restore starts and
// ended 1.5 s later.
asio::awaitable<restored> restore_across_open_transaction(asio::any_io_executor executor,
                                                          std::filesystem::path state_dir,
                                                          ending end) {
  const std::string changelog = sluice::test::unique_topic("open-txn-changelog");
  co_await create_topic(executor, changelog, 1);
  kafka::producer_config config;
  static_cast<kafka::client_config&>(config) = client();
  config.transactional_id = changelog + "-writer";
  kafka::producer producer(executor, config);
  co_await producer.start();
  producer.begin_transaction();
  co_await send(producer, changelog, "a", "1");
  co_await producer.commit_transaction();
  producer.begin_transaction();
  co_await send(producer, changelog, "b", "2");
  co_await send(producer, changelog, "c", "3");
  co_await producer.flush();  // in the log, the transaction open

  bool ending_started = false;
  bool ending_done = false;
  asio::co_spawn(executor,
                 end_transaction_later(executor, producer, end, ending_started, ending_done),
                 asio::detached);

  auto memory =
      std::make_shared<state::rocksdb::memory_budget>(state::rocksdb::memory_budget_config{});
  auto database =
      state::rocksdb::task_database::open({state_dir, "restore-open-txn", "0_0", memory});
  auto store = database.open_kv_store("store");
  kafka::consumer consumer(executor, restore_consumer_config(client()));
  co_await consumer.start();
  const kafka::topic_partition partition{changelog, 0};
  const std::string label = "restore-open-txn";
  restored out;
  out.outcome = co_await restore_store(consumer, *store, partition, label);
  out.ended_before_restore_finished = ending_started;
  // A restore that ended too early must still leave the producer to its commit or abort (10 s).
  for (int waits = 0; !ending_done && waits < 200; ++waits) {
    asio::steady_timer pause(executor, std::chrono::milliseconds(50));
    co_await pause.async_wait(asio::use_awaitable);
  }
  store->all([&](state::bytes_view key, state::bytes_view value) {
    out.entries.emplace(std::string(key), std::string(value));
    return true;
  });
  co_await consumer.stop();
  co_await producer.stop();
  co_return out;
}

restored run(ending end) {
  const auto state_dir = std::filesystem::temp_directory_path() /
                         sluice::test::unique_topic("sluice-restore-open-txn");
  auto out = run_coroutine([&](asio::any_io_executor executor) {
    return restore_across_open_transaction(executor, state_dir, end);
  });
  std::filesystem::remove_all(state_dir);
  return out;
}

TEST(restore_open_transaction, waits_for_a_commit_and_applies_its_records) {
  const auto out = run(ending::commit);
  EXPECT_TRUE(out.ended_before_restore_finished)
      << "the restore finished while the transaction was open";
  const std::map<std::string, std::string> all{{"a", "1"}, {"b", "2"}, {"c", "3"}};
  EXPECT_EQ(out.entries, all);
  EXPECT_EQ(out.outcome.records, 3u);
  // a, marker, b, c: the restore's end is the high watermark it found, the second marker's offset.
  EXPECT_EQ(out.outcome.to, 4);
}

TEST(restore_open_transaction, waits_for_an_abort_and_skips_its_records) {
  const auto out = run(ending::abort);
  EXPECT_TRUE(out.ended_before_restore_finished)
      << "the restore finished while the transaction was open";
  const std::map<std::string, std::string> committed{{"a", "1"}};
  EXPECT_EQ(out.entries, committed);
  EXPECT_EQ(out.outcome.records, 1u);
}

}  // namespace
}  // namespace sluice::runtime
