// The KIP-227 fetch session without a broker: which partitions a request names, which it forgets,
// and how responses open, advance and drop the session.
#include "kafka/consumer/fetch_session.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace sluice::kafka {
namespace {

constexpr std::int32_t partition_max_bytes = 1 << 20;

protocol::uuid id_of(std::uint8_t tag) {
  protocol::uuid id;
  id.value[15] = tag;
  return id;
}

fetch_session::partition_request at(std::int64_t offset, std::int32_t leader_epoch = 3,
                                    std::uint8_t topic_tag = 1) {
  return {.fetch_offset = offset,
          .leader_epoch = leader_epoch,
          .last_fetched_epoch = leader_epoch - 1,
          .topic_id = id_of(topic_tag)};
}

protocol::fetch_request build(const fetch_session& session,
                              const fetch_session::wanted_partitions& wanted) {
  protocol::fetch_request request;
  session.fill_request(request, wanted, partition_max_bytes);
  return request;
}

// (topic, partition, fetch offset) of every partition a request names, in request order.
std::vector<std::tuple<std::string, std::int32_t, std::int64_t>> named(
    const protocol::fetch_request& request) {
  std::vector<std::tuple<std::string, std::int32_t, std::int64_t>> out;
  for (const auto& topic : request.topics) {
    for (const auto& p : topic.partitions)
      out.emplace_back(topic.topic, p.partition, p.fetch_offset);
  }
  return out;
}

std::vector<std::pair<std::string, std::int32_t>> forgotten(
    const protocol::fetch_request& request) {
  std::vector<std::pair<std::string, std::int32_t>> out;
  for (const auto& topic : request.forgotten_topics_data) {
    for (auto p : topic.partitions) out.emplace_back(topic.topic, p);
  }
  return out;
}

// A session the broker opened with id 77 over `wanted` (one full fetch answered).
fetch_session opened_over(const fetch_session::wanted_partitions& wanted) {
  fetch_session session;
  EXPECT_EQ(session.on_response(error_code::none, 77, wanted), fetch_session::outcome::opened);
  return session;
}

TEST(fetch_session, without_a_session_the_request_is_full_and_asks_for_one) {
  fetch_session session;
  const fetch_session::wanted_partitions wanted{
      {{"a", 0}, at(10)}, {{"a", 1}, at(20)}, {{"b", 0}, at(30, 5, 2)}};
  const auto request = build(session, wanted);
  EXPECT_FALSE(session.incremental());
  EXPECT_EQ(request.session_id, 0);
  EXPECT_EQ(request.session_epoch, 0);
  using entry = std::tuple<std::string, std::int32_t, std::int64_t>;
  EXPECT_EQ(named(request), (std::vector<entry>{{"a", 0, 10}, {"a", 1, 20}, {"b", 0, 30}}));
  ASSERT_EQ(request.topics.size(), 2U);  // one entry per topic, named by id too (KIP-516)
  EXPECT_EQ(request.topics[1].topic_id, id_of(2));
  const auto& first = request.topics[0].partitions[0];
  EXPECT_EQ(first.current_leader_epoch, 3);
  EXPECT_EQ(first.last_fetched_epoch, 2);
  EXPECT_EQ(first.partition_max_bytes, partition_max_bytes);
  EXPECT_TRUE(request.forgotten_topics_data.empty());
}

TEST(fetch_session, a_full_request_names_every_partition_even_after_the_broker_kept_none) {
  const fetch_session::wanted_partitions wanted{{{"a", 0}, at(10)}};
  fetch_session session;
  EXPECT_EQ(session.on_response(error_code::none, 0, wanted), fetch_session::outcome::not_kept);
  EXPECT_FALSE(session.incremental());
  const auto request = build(session, wanted);
  EXPECT_EQ(request.session_id, 0);
  EXPECT_EQ(named(request).size(), 1U);
}

TEST(fetch_session, an_incremental_request_names_only_what_moved) {
  auto session = opened_over({{{"a", 0}, at(10)}, {{"a", 1}, at(20)}, {{"b", 0}, at(30)}});
  ASSERT_TRUE(session.incremental());
  // a-0 unchanged, a-1 moved on, b-0's leader epoch changed: only a-1 and b-0 go out.
  const auto request =
      build(session, {{{"a", 0}, at(10)}, {{"a", 1}, at(25)}, {{"b", 0}, at(30, 4)}});
  EXPECT_EQ(request.session_id, 77);
  EXPECT_EQ(request.session_epoch, 1);
  using entry = std::tuple<std::string, std::int32_t, std::int64_t>;
  EXPECT_EQ(named(request), (std::vector<entry>{{"a", 1, 25}, {"b", 0, 30}}));
  EXPECT_TRUE(request.forgotten_topics_data.empty());
}

TEST(fetch_session, a_new_last_fetched_epoch_alone_is_not_resent) {
  auto session = opened_over({{{"a", 0}, at(10)}});
  auto same = at(10);
  same.last_fetched_epoch = 9;
  EXPECT_TRUE(named(build(session, {{{"a", 0}, same}})).empty());
}

TEST(fetch_session, partitions_no_longer_wanted_are_forgotten_with_their_topic_id) {
  auto session = opened_over({{{"a", 0}, at(10)}, {{"a", 1}, at(20)}, {{"b", 0}, at(30, 3, 2)}});
  const auto request = build(session, {{{"a", 0}, at(10)}});
  EXPECT_TRUE(named(request).empty());
  using entry = std::pair<std::string, std::int32_t>;
  EXPECT_EQ(forgotten(request), (std::vector<entry>{{"a", 1}, {"b", 0}}));
  ASSERT_EQ(request.forgotten_topics_data.size(), 2U);
  EXPECT_EQ(request.forgotten_topics_data[1].topic_id, id_of(2));
}

TEST(fetch_session, a_full_request_forgets_nothing) {
  fetch_session session;
  EXPECT_TRUE(build(session, {}).forgotten_topics_data.empty());
}

TEST(fetch_session, each_answer_advances_the_epoch_and_replaces_what_the_session_holds) {
  const fetch_session::wanted_partitions first{{{"a", 0}, at(10)}, {{"a", 1}, at(20)}};
  auto session = opened_over(first);
  EXPECT_EQ(session.epoch(), 1);
  const fetch_session::wanted_partitions second{{{"a", 0}, at(15)}};
  EXPECT_EQ(session.on_response(error_code::none, 77, second), fetch_session::outcome::continued);
  EXPECT_EQ(session.epoch(), 2);
  ASSERT_EQ(session.held().size(), 1U);
  EXPECT_EQ(
      session.held().at({"a", 0}),
      (fetch_session::held_partition{.fetch_offset = 15, .leader_epoch = 3, .topic_id = id_of(1)}));
}

TEST(fetch_session, a_different_session_id_starts_again_at_epoch_one) {
  auto session = opened_over({{{"a", 0}, at(10)}});
  session.on_response(error_code::none, 77, {{{"a", 0}, at(11)}});
  EXPECT_EQ(session.epoch(), 2);
  EXPECT_EQ(session.on_response(error_code::none, 78, {{{"a", 0}, at(12)}}),
            fetch_session::outcome::opened);
  EXPECT_EQ(session.id(), 78);
  EXPECT_EQ(session.epoch(), 1);
}

TEST(fetch_session, the_epoch_wraps_to_one_never_to_zero) {
  EXPECT_EQ(fetch_session::next_epoch(1), 2);
  EXPECT_EQ(fetch_session::next_epoch(std::numeric_limits<std::int32_t>::max()), 1);
}

TEST(fetch_session, session_errors_drop_the_session_so_the_next_request_is_full) {
  for (auto code : {error_code::fetch_session_id_not_found, error_code::invalid_fetch_session_epoch,
                    error_code::fetch_session_topic_id_error}) {
    const fetch_session::wanted_partitions wanted{{{"a", 0}, at(10)}};
    auto session = opened_over(wanted);
    EXPECT_TRUE(fetch_session::is_session_error(code));
    EXPECT_EQ(session.on_response(code, 77, wanted), fetch_session::outcome::session_error);
    EXPECT_FALSE(session.incremental());
    EXPECT_TRUE(session.held().empty());
    const auto request = build(session, wanted);
    EXPECT_EQ(request.session_id, 0);
    EXPECT_EQ(request.session_epoch, 0);
    EXPECT_EQ(named(request).size(), 1U);
  }
}

TEST(fetch_session, other_errors_fail_the_fetch_and_drop_the_session) {
  const fetch_session::wanted_partitions wanted{{{"a", 0}, at(10)}};
  auto session = opened_over(wanted);
  EXPECT_FALSE(fetch_session::is_session_error(error_code::not_leader_or_follower));
  EXPECT_EQ(session.on_response(error_code::not_leader_or_follower, 77, wanted),
            fetch_session::outcome::failed);
  EXPECT_FALSE(session.incremental());
}

TEST(fetch_session, a_lost_connection_resets_the_session) {
  auto session = opened_over({{{"a", 0}, at(10)}});
  session.reset();
  EXPECT_FALSE(session.incremental());
  EXPECT_EQ(session.epoch(), 0);
  EXPECT_TRUE(session.held().empty());
}

}  // namespace
}  // namespace sluice::kafka
