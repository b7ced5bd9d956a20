#include "kafka/admin/retry_policy.hpp"

#include <gtest/gtest.h>

#include "kafka/admin/admin_types.hpp"
#include "kafka/net/net_error.hpp"

namespace sluice::kafka {
namespace {

using admin_retry::handling;

TEST(admin_retry_policy, follows_the_classifier_for_kafka_codes) {
  EXPECT_EQ(admin_retry::after_failure(kafka_error(error_code::not_controller, "x")),
            handling::refresh_metadata);
  EXPECT_EQ(admin_retry::after_failure(kafka_error(error_code::not_coordinator, "x")),
            handling::find_coordinator);
  EXPECT_EQ(admin_retry::after_failure(kafka_error(error_code::coordinator_load_in_progress, "x")),
            handling::retry);
  EXPECT_EQ(admin_retry::after_failure(kafka_error(error_code::topic_already_exists, "x")),
            handling::give_up);
  EXPECT_EQ(admin_retry::after_failure(kafka_error(error_code::cluster_authorization_failed, "x")),
            handling::give_up);
}

TEST(admin_retry_policy, retries_client_side_failures_that_are_retriable) {
  EXPECT_EQ(admin_retry::after_failure(
                kafka_error(make_error_code(net_error::connect_failed), "x", true)),
            handling::refresh_metadata);
  EXPECT_EQ(admin_retry::after_failure(
                kafka_error(make_error_code(net_error::request_timed_out), "x", true)),
            handling::refresh_metadata);
  EXPECT_EQ(admin_retry::after_failure(
                kafka_error(make_error_code(net_error::connection_closed), "x", true)),
            handling::refresh_metadata);
  EXPECT_EQ(admin_retry::after_failure(
                kafka_error(make_error_code(net_error::authentication_failed), "x", false)),
            handling::give_up);
}

TEST(admin_retry_policy, an_unknown_topic_is_an_answer_where_topics_must_exist) {
  EXPECT_FALSE(admin_retry::retry_item(error_code::unknown_topic_or_partition, true));
  EXPECT_TRUE(admin_retry::retry_item(error_code::unknown_topic_or_partition, false));
  EXPECT_TRUE(admin_retry::retry_item(error_code::not_leader_or_follower, true));
  EXPECT_TRUE(admin_retry::item_needs_metadata(error_code::not_leader_or_follower));
  EXPECT_FALSE(admin_retry::item_needs_metadata(error_code::request_timed_out));
  EXPECT_FALSE(admin_retry::retry_item(error_code::none, false));
  EXPECT_FALSE(admin_retry::retry_item(error_code::invalid_config, false));
}

TEST(admin_retry_policy, backoff_grows_and_stays_capped) {
  using std::chrono::milliseconds;
  for (int attempt = 0; attempt < 40; ++attempt) {
    auto pause = admin_retry::backoff(milliseconds(100), milliseconds(1000), attempt);
    EXPECT_GE(pause, milliseconds(1));
    EXPECT_LE(pause, milliseconds(1200));  // the cap plus 20% jitter
  }
  EXPECT_LE(admin_retry::backoff(milliseconds(100), milliseconds(1000), 0), milliseconds(120));
  EXPECT_GE(admin_retry::backoff(milliseconds(100), milliseconds(1000), 10), milliseconds(800));
}

TEST(admin_retry_policy, context_is_prefixed_once_and_the_code_kept) {
  const kafka_error inner(error_code::not_coordinator, "find the group coordinator for 'g'");
  const auto outer = admin_retry::with_context(inner, "describe group 'g'");
  EXPECT_EQ(outer.kafka_code(), error_code::not_coordinator);
  EXPECT_TRUE(outer.retriable());
  const std::string text = outer.what();
  EXPECT_EQ(text.find("describe group 'g': find the group coordinator for 'g'"), 0u) << text;
  // The code's description appears once, not once per layer.
  const auto description = inner.code().message();
  EXPECT_EQ(text.find(description), text.rfind(description)) << text;

  const kafka_error client_side(make_error_code(net_error::connect_failed),
                                "connect to 127.0.0.1:1", true);
  const auto wrapped = admin_retry::with_context(client_side, "list topics");
  EXPECT_EQ(wrapped.code(), make_error_code(net_error::connect_failed));
  EXPECT_TRUE(wrapped.retriable());
}

TEST(admin_item_error, carries_the_code_and_a_message) {
  auto ok = make_item_error(0);
  EXPECT_TRUE(ok.ok());
  EXPECT_NO_THROW(ok.throw_if_failed("create topic 't'"));
  auto described = make_item_error(static_cast<std::int16_t>(error_code::topic_already_exists));
  EXPECT_NE(described.message.find("TOPIC_ALREADY_EXISTS"), std::string::npos) << described.message;
  auto broker = make_item_error(static_cast<std::int16_t>(error_code::invalid_config),
                                std::string("bad value"));
  EXPECT_EQ(broker.message, "bad value");
  try {
    broker.throw_if_failed("create topic 't'");
    ADD_FAILURE() << "no exception";
  } catch (const kafka_error& e) {
    EXPECT_EQ(e.kafka_code(), error_code::invalid_config);
    EXPECT_NE(std::string(e.what()).find("create topic 't': bad value"), std::string::npos)
        << e.what();
  }
}

TEST(admin_offset_spec, sends_kafkas_special_timestamps) {
  EXPECT_EQ(offset_spec::earliest().wire_timestamp(), -2);
  EXPECT_EQ(offset_spec::latest().wire_timestamp(), -1);
  EXPECT_EQ(offset_spec::max_timestamp().wire_timestamp(), -3);
  EXPECT_EQ(offset_spec::at(1234).wire_timestamp(), 1234);
}

}  // namespace
}  // namespace sluice::kafka
