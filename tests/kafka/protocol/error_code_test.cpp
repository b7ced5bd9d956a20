#include "kafka/protocol/error_code.hpp"

#include <gtest/gtest.h>

namespace sluice::kafka {
namespace {

TEST(error_code, table_has_kafkas_names_and_retriable_flags) {
  EXPECT_EQ(error_name(error_code::not_leader_or_follower), "NOT_LEADER_OR_FOLLOWER");
  EXPECT_EQ(static_cast<int>(error_code::not_leader_or_follower), 6);
  EXPECT_TRUE(is_retriable(error_code::not_leader_or_follower));
  EXPECT_FALSE(is_retriable(error_code::topic_already_exists));
  EXPECT_EQ(static_cast<int>(error_code::producer_fenced), 90);
  EXPECT_TRUE(is_known(-1));
  EXPECT_FALSE(is_known(30000));
  EXPECT_EQ(error_name(static_cast<error_code>(30000)), "UNKNOWN_ERROR_CODE_30000");
}

TEST(error_code, plugs_into_std_error_code) {
  std::error_code ec = error_code::topic_already_exists;
  EXPECT_EQ(ec.category().name(), std::string("kafka"));
  EXPECT_NE(ec.message().find("TOPIC_ALREADY_EXISTS"), std::string::npos);
  EXPECT_TRUE(ec);
  EXPECT_FALSE(std::error_code(error_code::none) ==
               std::error_code(error_code::topic_already_exists));
}

TEST(error_classifier, routes_each_kind_of_error) {
  EXPECT_EQ(classify(error_code::none), error_action::none);
  EXPECT_EQ(classify(error_code::not_leader_or_follower), error_action::refresh_metadata_and_retry);
  EXPECT_EQ(classify(error_code::not_controller), error_action::refresh_metadata_and_retry);
  EXPECT_EQ(classify(error_code::not_coordinator), error_action::find_coordinator_and_retry);
  EXPECT_EQ(classify(error_code::coordinator_load_in_progress), error_action::retry);
  EXPECT_EQ(classify(error_code::request_timed_out), error_action::retry);
  EXPECT_EQ(classify(error_code::producer_fenced), error_action::fatal);
  EXPECT_EQ(classify(error_code::sasl_authentication_failed), error_action::fatal);
  EXPECT_EQ(classify(error_code::transaction_abortable), error_action::abortable);
  EXPECT_EQ(classify(error_code::topic_already_exists), error_action::fatal);
}

TEST(kafka_error, says_what_failed_and_whether_to_retry) {
  kafka_error fenced(error_code::producer_fenced, "commit transaction 'tx-1'");
  EXPECT_FALSE(fenced.retriable());
  EXPECT_EQ(fenced.kafka_code(), error_code::producer_fenced);
  EXPECT_NE(std::string(fenced.what()).find("tx-1"), std::string::npos);
  EXPECT_NE(std::string(fenced.what()).find("PRODUCER_FENCED"), std::string::npos);
  EXPECT_TRUE(kafka_error(error_code::not_leader_or_follower, "produce").retriable());
}

}  // namespace
}  // namespace sluice::kafka
