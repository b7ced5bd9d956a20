#include "kafka/records/control_record.hpp"

#include <gtest/gtest.h>

#include "kafka/records/record_batch_decoder.hpp"

namespace sluice::kafka::records {
namespace {

TEST(control_record, key_round_trip_and_layout) {
  auto key = encode_control_record_key(control_record_type::commit);
  EXPECT_EQ(key, (protocol::bytes{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1}}));
  auto parsed = parse_control_record_key(protocol::bytes_view(key));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->type, control_record_type::commit);
  EXPECT_EQ(parsed->version, 0);
}

TEST(control_record, malformed_keys_are_rejected) {
  EXPECT_FALSE(parse_control_record_key(std::nullopt));
  protocol::bytes short_key = {std::byte{0}, std::byte{0}, std::byte{0}};
  EXPECT_FALSE(parse_control_record_key(protocol::bytes_view(short_key)));
  protocol::bytes negative_version = {std::byte{0xff}, std::byte{0xff}, std::byte{0}, std::byte{1}};
  EXPECT_FALSE(parse_control_record_key(protocol::bytes_view(negative_version)));
  protocol::bytes newer = {std::byte{0}, std::byte{5}, std::byte{0}, std::byte{0}, std::byte{9}};
  auto parsed = parse_control_record_key(protocol::bytes_view(newer));
  ASSERT_TRUE(parsed) << "newer key versions keep the type where it was";
  EXPECT_EQ(parsed->type, control_record_type::abort);
}

TEST(control_record, marker_batches_decode_for_read_committed) {
  for (auto type : {control_record_type::commit, control_record_type::abort}) {
    auto batch = build_end_txn_marker_batch(77, 4, {type, 12}, 1700000000000, 300);
    record_batch_decoder decoder(batch);
    const auto* header = decoder.next();
    ASSERT_NE(header, nullptr);
    EXPECT_TRUE(header->is_control());
    EXPECT_TRUE(header->is_transactional());
    EXPECT_EQ(header->producer_id, 77);
    EXPECT_EQ(header->producer_epoch, 4);
    EXPECT_EQ(header->base_offset, 300);
    auto records = decoder.records();
    ASSERT_EQ(records.size(), 1u);
    auto marker = parse_end_txn_marker(records[0]);
    ASSERT_TRUE(marker);
    EXPECT_EQ(marker->type, type);
    EXPECT_EQ(marker->coordinator_epoch, 12);
  }
}

TEST(control_record, non_marker_control_records_are_not_markers) {
  auto key = encode_control_record_key(control_record_type::leader_change);
  auto value = encode_end_txn_marker_value(1);
  record_view view;
  view.key = protocol::bytes_view(key);
  view.value = protocol::bytes_view(value);
  EXPECT_FALSE(parse_end_txn_marker(view));
  auto commit = encode_control_record_key(control_record_type::commit);
  view.key = protocol::bytes_view(commit);
  view.value = protocol::bytes_view(value).first(5);
  EXPECT_FALSE(parse_end_txn_marker(view)) << "value too short";
  view.value = std::nullopt;
  EXPECT_FALSE(parse_end_txn_marker(view));
}

}  // namespace
}  // namespace sluice::kafka::records
