// The transactional producer against the real broker. A peer (kcat, librdkafka) reads with
// read_committed; offsets sent to a transaction are read back with OffsetFetch.
#include <gtest/gtest.h>

#include <map>

#include "kafka/producer/producer.hpp"
#include "kafka/protocol/messages/offset_fetch.hpp"
#include "tests/kafka/producer/producer_it_support.hpp"
#include "tests/support/run_coroutine.hpp"

namespace sluice::kafka {
namespace {

using namespace test_support;
using sluice::test::run_coroutine;
using sluice::test::unique_topic;

producer_config transactional_config(const std::string& id) {
  auto config = test_producer_config();
  config.transactional_id = id;
  config.max_block = std::chrono::seconds(30);
  return config;
}

// A transaction's body: sends one record, then fails if asked to.
asio::awaitable<void> send_in_body(producer* p, std::string topic, std::string value, bool fail) {
  co_await p->send(topic, protocol::to_bytes(value), std::nullopt, partition_id{0});
  if (fail) throw std::runtime_error("processing failed");
}

asio::awaitable<void> commit_and_abort(asio::any_io_executor executor, std::string topic) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  co_await create_topic(admin, topic, 2);
  producer p(executor, transactional_config(unique_topic("txn-id")));
  co_await p.start();
  EXPECT_GE(p.identity().id.value(), 0);

  p.begin_transaction();
  co_await p.send(topic, protocol::to_bytes("committed-1"), std::nullopt, partition_id{0});
  co_await p.send(topic, protocol::to_bytes("committed-2"), std::nullopt, partition_id{1});
  co_await p.commit_transaction();

  p.begin_transaction();
  auto aborted =
      co_await p.send(topic, protocol::to_bytes("aborted-1"), std::nullopt, partition_id{0});
  co_await p.send(topic, protocol::to_bytes("aborted-2"), std::nullopt, partition_id{1});
  co_await p.flush();  // written to the log, then aborted
  EXPECT_GE((co_await aborted.get()).offset, 0);
  co_await p.abort_transaction();

  // The scoped helper: an exception aborts, a normal return commits.
  // (Bodies capture by reference: GCC 12 destroys a lambda temporary with a std::string capture
  // twice when it sits inside a co_await expression.)
  const auto failing = [&p, &topic]() { return send_in_body(&p, topic, "aborted-3", true); };
  const auto succeeding = [&p, &topic]() { return send_in_body(&p, topic, "committed-3", false); };
  try {
    co_await p.run_in_transaction(failing);
    ADD_FAILURE() << "run_in_transaction swallowed the exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "processing failed");
  }
  co_await p.run_in_transaction(succeeding);
  // Sending outside a transaction is refused.
  try {
    co_await p.send(topic, protocol::to_bytes("outside"));
    ADD_FAILURE() << "send outside a transaction was accepted";
  } catch (const kafka_error& e) {
    EXPECT_NE(std::string(e.what()).find("begin_transaction"), std::string::npos) << e.what();
  }
  co_await p.stop();
  admin.close();
}

TEST(producer_transactions, committed_visible_aborted_invisible_to_read_committed) {
  const auto topic = unique_topic("txn");
  run_coroutine(
      [topic](asio::any_io_executor executor) { return commit_and_abort(executor, topic); });
  auto committed = kcat_values(topic, true, 3);
  std::sort(committed.begin(), committed.end());
  EXPECT_EQ(committed, (std::vector<std::string>{"committed-1", "committed-2", "committed-3"}));
  auto everything = kcat_values(topic, false, 5);
  std::sort(everything.begin(), everything.end());
  // aborted-3 was still queued when its transaction aborted, so it was never written.
  EXPECT_EQ(everything, (std::vector<std::string>{"aborted-1", "aborted-2", "committed-1",
                                                  "committed-2", "committed-3"}));
}

asio::awaitable<void> fencing(asio::any_io_executor executor, int version_limit) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto topic = unique_topic("txn-fence");
  co_await create_topic(admin, topic, 1);
  const auto id = unique_topic("txn-fence-id");
  producer first(executor, transactional_config(id));
  if (version_limit > 0) first.limit_transaction_version_for_testing(version_limit);
  co_await first.start();
  first.begin_transaction();
  co_await first.send(topic, protocol::to_bytes("zombie"));
  co_await first.flush();

  // A second producer with the same transactional id fences the first (and aborts its open
  // transaction).
  producer second(executor, transactional_config(id));
  if (version_limit > 0) second.limit_transaction_version_for_testing(version_limit);
  co_await second.start();
  EXPECT_EQ(second.identity().id, first.identity().id);
  EXPECT_GT(second.identity().epoch, first.identity().epoch);

  try {
    co_await first.send(topic, protocol::to_bytes("zombie-2"));
    co_await first.commit_transaction();
    ADD_FAILURE() << "the fenced producer committed";
  } catch (const kafka_error& e) {
    EXPECT_FALSE(e.retriable());
    EXPECT_NE(std::string(e.what()).find("fenced"), std::string::npos) << e.what();
  }
  // Once fenced, always fenced.
  try {
    first.begin_transaction();
    co_await first.send(topic, protocol::to_bytes("zombie-3"));
    ADD_FAILURE() << "the fenced producer sent again";
  } catch (const kafka_error& e) {
    EXPECT_NE(std::string(e.what()).find("fenced"), std::string::npos) << e.what();
  }

  second.begin_transaction();
  co_await second.send(topic, protocol::to_bytes("survivor"));
  co_await second.commit_transaction();
  co_await first.stop();
  co_await second.stop();
  admin.close();
  co_return;
}

TEST(producer_transactions, a_second_producer_with_the_same_id_fences_the_first) {
  run_coroutine([](asio::any_io_executor executor) { return fencing(executor, 0); });
}

TEST(producer_transactions, fencing_with_transaction_version_1) {
  run_coroutine([](asio::any_io_executor executor) { return fencing(executor, 1); });
}

// The group's committed offset, once stable: right after EndTxn the transaction markers may not
// be written yet, and the coordinator answers UNSTABLE_OFFSET_COMMIT (as a consumer sees it).
asio::awaitable<std::int64_t> committed_offset(cluster& admin, std::string group, std::string topic,
                                               std::int32_t partition) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto node = co_await admin.find_coordinator(coordinator_type::group, group);
    auto conn = co_await admin.connection_to(node);
    protocol::offset_fetch_request request;
    const auto version =
        std::min<std::int16_t>(conn->required_version(protocol::api_key::offset_fetch), 9);
    request.require_stable = true;
    if (version >= 8) {
      protocol::offset_fetch_request::offset_fetch_request_group entry;
      entry.group_id = group;
      entry.topics.emplace().push_back({.name = topic, .partition_indexes = {partition}});
      request.groups.push_back(std::move(entry));
    } else {
      request.group_id = group;
      request.topics.emplace().push_back({.name = topic, .partition_indexes = {partition}});
    }
    auto response = co_await conn->send(std::move(request), version);
    std::int64_t offset = -1;
    std::int16_t code = 0;
    if (version >= 8) {
      const auto& answer = response.groups.at(0).topics.at(0).partitions.at(0);
      offset = answer.committed_offset;
      code = answer.error_code;
    } else {
      const auto& answer = response.topics.at(0).partitions.at(0);
      offset = answer.committed_offset;
      code = answer.error_code;
    }
    if (static_cast<error_code>(code) != error_code::unstable_offset_commit) {
      EXPECT_EQ(code, 0) << error_name(static_cast<error_code>(code));
      co_return offset;
    }
    asio::steady_timer pause(admin.executor(), std::chrono::milliseconds(50));
    co_await pause.async_wait(asio::use_awaitable);
  }
  ADD_FAILURE() << "the offsets of group " << group << " stayed unstable for 10 s";
  co_return -2;
}

// (Built outside the co_await expression: GCC 12 miscompiles braced lists and default
// arguments inside one.)
std::map<topic_partition, offset_and_metadata> offsets_of(const std::string& topic,
                                                          std::int64_t offset,
                                                          const char* metadata) {
  std::map<topic_partition, offset_and_metadata> offsets;
  offsets[{topic, 0}] = {.offset = offset, .metadata = metadata};
  return offsets;
}

asio::awaitable<void> offsets_in_transaction(asio::any_io_executor executor, int version_limit) {
  cluster admin(executor, test_client_config());
  co_await admin.start();
  const auto input = unique_topic("txn-in");
  const auto output = unique_topic("txn-out");
  co_await create_topic(admin, input, 1);
  co_await create_topic(admin, output, 1);
  const auto group = unique_topic("txn-group");
  producer p(executor, transactional_config(unique_topic("txn-offsets-id")));
  if (version_limit > 0) p.limit_transaction_version_for_testing(version_limit);
  co_await p.start();

  // Aborted: the offset is not committed.
  p.begin_transaction();
  co_await p.send(output, protocol::to_bytes("out-1"));
  auto offsets_17 = offsets_of(input, 17, "");
  co_await p.send_offsets_to_transaction(std::move(offsets_17), group);
  co_await p.abort_transaction();
  EXPECT_EQ(co_await committed_offset(admin, group, input, 0), -1);

  // Committed with the plain group-id form.
  p.begin_transaction();
  co_await p.send(output, protocol::to_bytes("out-2"));
  auto offsets_42 = offsets_of(input, 42, "m");
  co_await p.send_offsets_to_transaction(std::move(offsets_42), group);
  co_await p.commit_transaction();
  EXPECT_EQ(co_await committed_offset(admin, group, input, 0), 42);

  // With group metadata of a consumer that is not a member (generation -1, no member id): a
  // group without members accepts it, as the Java client's does for a manually assigned consumer.
  consumer_group_metadata metadata;
  metadata.group_id = group;
  p.begin_transaction();
  auto offsets_43 = offsets_of(input, 43, "");
  co_await p.send_offsets_to_transaction(std::move(offsets_43), metadata);
  co_await p.commit_transaction();
  EXPECT_EQ(co_await committed_offset(admin, group, input, 0), 43);

  // A member id the group does not know is rejected: an abortable error, then abort works.
  metadata.generation_id = generation_id{5};
  metadata.member_id = "ghost-member";
  p.begin_transaction();
  bool rejected = false;
  try {
    auto offsets_44 = offsets_of(input, 44, "");
    co_await p.send_offsets_to_transaction(std::move(offsets_44), metadata);
    co_await p.commit_transaction();
  } catch (const kafka_error& e) {
    EXPECT_FALSE(e.retriable()) << e.what();
    rejected = true;
  }
  EXPECT_TRUE(rejected) << "offsets of an unknown member were committed";
  if (rejected) co_await p.abort_transaction();
  EXPECT_EQ(co_await committed_offset(admin, group, input, 0), 43);
  // After the abort the producer goes on with the next transaction.
  p.begin_transaction();
  co_await p.send(output, protocol::to_bytes("out-3"));
  auto offsets_45 = offsets_of(input, 45, "");
  co_await p.send_offsets_to_transaction(std::move(offsets_45), group);
  co_await p.commit_transaction();
  EXPECT_EQ(co_await committed_offset(admin, group, input, 0), 45);
  co_await p.stop();
  admin.close();
}

TEST(producer_transactions, send_offsets_to_transaction_commits_for_the_group) {
  run_coroutine([](asio::any_io_executor executor) { return offsets_in_transaction(executor, 0); });
}

TEST(producer_transactions, send_offsets_with_transaction_version_1) {
  run_coroutine([](asio::any_io_executor executor) { return offsets_in_transaction(executor, 1); });
}

}  // namespace
}  // namespace sluice::kafka
