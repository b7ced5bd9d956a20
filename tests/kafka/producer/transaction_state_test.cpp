// The transactional producer's state machine without a broker: which calls each phase allows and
// the error an illegal one throws, the partitions of the transaction under both protocol
// versions, what a coordinator's error code leads to, and which protocol version is chosen.
#include "kafka/producer/transaction_state.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <utility>

namespace sluice::kafka {
namespace {

// The Kafka code of the kafka_error `call` throws, or none.
error_code thrown_by(const std::function<void()>& call) {
  try {
    call();
  } catch (const kafka_error& e) {
    return e.kafka_code();
  }
  return error_code::none;
}

std::exception_ptr some_failure() {
  return std::make_exception_ptr(kafka_error(error_code::message_too_large, "a record failed"));
}

struct fixture {
  transaction_state txn{std::string("orders-app")};
  topic_queue topic;
  partition_queue first{&topic, 0};
  partition_queue second{&topic, 1};
};

TEST(transaction_state, begins_only_when_no_transaction_is_open) {
  fixture f;
  EXPECT_EQ(f.txn.phase(), transaction_phase::ready);
  f.txn.begin();
  EXPECT_EQ(f.txn.phase(), transaction_phase::in_transaction);
  EXPECT_EQ(thrown_by([&] { f.txn.begin(); }), error_code::invalid_txn_state);
}

TEST(transaction_state, sends_only_inside_a_transaction) {
  fixture f;
  EXPECT_EQ(thrown_by([&] { f.txn.check_can_send("orders"); }), error_code::invalid_txn_state);
  f.txn.begin();
  EXPECT_EQ(thrown_by([&] { f.txn.check_can_send("orders"); }), error_code::none);
  f.txn.start_commit();
  EXPECT_EQ(thrown_by([&] { f.txn.check_can_send("orders"); }), error_code::invalid_txn_state);
}

TEST(transaction_state, a_failed_transaction_must_be_aborted) {
  fixture f;
  f.txn.begin();
  f.txn.enter_abortable(some_failure());
  EXPECT_EQ(f.txn.phase(), transaction_phase::abortable_error);
  EXPECT_EQ(thrown_by([&] { f.txn.check_can_send("orders"); }), error_code::transaction_abortable);
  EXPECT_EQ(thrown_by([&] { f.txn.start_commit(); }), error_code::transaction_abortable);
  EXPECT_EQ(thrown_by([&] { f.txn.check_can_send_offsets("group"); }),
            error_code::transaction_abortable);
  f.txn.start_abort();
  EXPECT_EQ(f.txn.phase(), transaction_phase::aborting);
  f.txn.reset();
  EXPECT_EQ(f.txn.phase(), transaction_phase::ready);
  EXPECT_EQ(f.txn.error(), nullptr);
}

TEST(transaction_state, keeps_the_first_failure_and_none_outside_a_transaction) {
  fixture f;
  f.txn.enter_abortable(some_failure());
  EXPECT_EQ(f.txn.phase(), transaction_phase::ready);
  EXPECT_EQ(f.txn.error(), nullptr);
  f.txn.begin();
  const auto first = some_failure();
  f.txn.enter_abortable(first);
  f.txn.enter_abortable(some_failure());
  EXPECT_EQ(f.txn.error(), first);
  f.txn.start_abort();
  // Records failed by the abort itself leave the abort going.
  f.txn.enter_abortable(some_failure());
  EXPECT_EQ(f.txn.phase(), transaction_phase::aborting);
}

TEST(transaction_state, a_commit_whose_record_failed_becomes_abortable) {
  fixture f;
  f.txn.begin();
  f.txn.start_commit();
  EXPECT_EQ(thrown_by([&] { f.txn.check_nothing_failed(); }), error_code::none);
  f.txn.enter_abortable(some_failure());
  EXPECT_EQ(thrown_by([&] { f.txn.check_nothing_failed(); }), error_code::transaction_abortable);
  EXPECT_EQ(f.txn.phase(), transaction_phase::abortable_error);
}

TEST(transaction_state, commits_or_aborts_only_an_open_transaction) {
  fixture f;
  EXPECT_EQ(thrown_by([&] { f.txn.start_commit(); }), error_code::invalid_txn_state);
  EXPECT_EQ(thrown_by([&] { f.txn.start_abort(); }), error_code::invalid_txn_state);
  f.txn.begin();
  f.txn.start_commit();
  // A commit that failed on the way (e.g. EndTxn timed out) may be called again.
  EXPECT_EQ(thrown_by([&] { f.txn.start_commit(); }), error_code::none);
  EXPECT_EQ(thrown_by([&] { f.txn.start_abort(); }), error_code::none);
}

TEST(transaction_state, offsets_need_a_group_and_an_open_transaction) {
  fixture f;
  EXPECT_EQ(thrown_by([&] { f.txn.check_can_send_offsets("group"); }),
            error_code::invalid_txn_state);
  f.txn.begin();
  EXPECT_NE(thrown_by([&] { f.txn.check_can_send_offsets(""); }), error_code::none);
  EXPECT_EQ(thrown_by([&] { f.txn.check_can_send_offsets("group"); }), error_code::none);
  EXPECT_FALSE(f.txn.needs_end_txn());
  f.txn.offsets_added();
  EXPECT_TRUE(f.txn.needs_end_txn());
}

TEST(transaction_state, version_1_adds_partitions_with_one_request_at_a_time) {
  fixture f;
  f.txn.set_version(transaction_version_1);
  f.txn.begin();
  EXPECT_TRUE(f.txn.join(f.first));
  EXPECT_FALSE(f.txn.join(f.first));  // already waiting
  EXPECT_TRUE(f.first.transaction_pending);
  EXPECT_FALSE(f.txn.needs_end_txn());
  const auto to_add = f.txn.take_partitions_to_add();
  ASSERT_EQ(to_add.size(), 1u);
  EXPECT_TRUE(f.txn.adding());
  EXPECT_TRUE(f.txn.join(f.second));
  EXPECT_TRUE(f.txn.take_partitions_to_add().empty());  // the first request is still running
  f.txn.partitions_added(to_add);
  f.txn.adding_done();
  EXPECT_TRUE(f.first.in_transaction);
  EXPECT_FALSE(f.first.transaction_pending);
  EXPECT_TRUE(f.txn.needs_end_txn());
  EXPECT_EQ(f.txn.take_partitions_to_add().size(), 1u);
}

TEST(transaction_state, version_2_adds_partitions_with_the_first_produce) {
  fixture f;
  f.txn.set_version(transaction_version_2);
  f.txn.begin();
  EXPECT_FALSE(f.txn.join(f.first));
  EXPECT_TRUE(f.first.in_transaction);
  EXPECT_TRUE(f.txn.needs_end_txn());
  EXPECT_TRUE(f.txn.take_partitions_to_add().empty());
  f.txn.reset();
  EXPECT_FALSE(f.first.in_transaction);
  EXPECT_FALSE(f.txn.needs_end_txn());
}

TEST(transaction_state, an_abort_drops_the_partitions_not_added_yet) {
  fixture f;
  f.txn.set_version(transaction_version_1);
  f.txn.begin();
  f.txn.join(f.first);
  f.txn.start_abort();
  EXPECT_FALSE(f.first.transaction_pending);
  EXPECT_TRUE(f.txn.take_partitions_to_add().empty());
}

TEST(transaction_state, a_producer_without_transactional_id_joins_nothing) {
  transaction_state txn{std::nullopt};
  topic_queue topic;
  partition_queue queue{&topic, 0};
  EXPECT_FALSE(txn.enabled());
  EXPECT_FALSE(txn.join(queue));
  EXPECT_FALSE(queue.transaction_pending);
  EXPECT_EQ(thrown_by([&] { txn.require_transactional("begin_transaction"); }),
            error_code::invalid_txn_state);
}

TEST(transaction_state, remembers_a_sequence_gap_until_cleared) {
  fixture f;
  EXPECT_FALSE(f.txn.sequence_gap());
  f.txn.note_sequence_gap();
  f.txn.reset();
  EXPECT_TRUE(f.txn.sequence_gap());
  f.txn.clear_sequence_gap();
  EXPECT_FALSE(f.txn.sequence_gap());
}

TEST(classify_transaction_error, fencing_is_fatal_and_the_rest_retries_or_aborts) {
  const std::pair<error_code, transaction_error_step> expected[] = {
      {error_code::producer_fenced, transaction_error_step::fenced},
      {error_code::invalid_producer_epoch, transaction_error_step::fenced},
      {error_code::transactional_id_authorization_failed, transaction_error_step::fenced},
      {error_code::invalid_producer_id_mapping, transaction_error_step::fenced},
      {error_code::concurrent_transactions, transaction_error_step::retry_soon},
      {error_code::not_coordinator, transaction_error_step::find_coordinator_and_retry},
      {error_code::coordinator_not_available, transaction_error_step::find_coordinator_and_retry},
      {error_code::coordinator_load_in_progress, transaction_error_step::retry},
      {error_code::not_leader_or_follower, transaction_error_step::retry},
      {error_code::transaction_abortable, transaction_error_step::abortable},
      {error_code::cluster_authorization_failed, transaction_error_step::abortable},
  };
  for (const auto& [code, step] : expected)
    EXPECT_EQ(classify_transaction_error(code), step) << error_name(code);
}

TEST(choose_transaction_version, version_2_needs_the_feature_and_every_request) {
  transaction_protocol_support all{2, true, true, true};
  EXPECT_EQ(choose_transaction_version(all, transaction_version_2), transaction_version_2);
  EXPECT_EQ(choose_transaction_version(all, transaction_version_1), transaction_version_1);
  auto not_finalized = all;
  not_finalized.finalized_level = 1;
  EXPECT_EQ(choose_transaction_version(not_finalized, transaction_version_2),
            transaction_version_1);
  // Any request the coordinator speaks only at its version 1 form keeps the producer at 1.
  for (auto request : {&transaction_protocol_support::end_txn_bumps_epoch,
                       &transaction_protocol_support::txn_offset_commit_adds_group,
                       &transaction_protocol_support::produce_adds_partition}) {
    auto missing = all;
    missing.*request = false;
    EXPECT_EQ(choose_transaction_version(missing, transaction_version_2), transaction_version_1);
  }
}

}  // namespace
}  // namespace sluice::kafka
