#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kafka/records/crc32c.hpp"
#include "kafka/records/record_batch_builder.hpp"
#include "kafka/records/record_batch_decoder.hpp"
#include "kafka/records/records_error.hpp"

namespace sluice::kafka::records {
namespace {

using protocol::bytes;

bytes text(std::string_view value) {
  return protocol::to_bytes(value);
}

// A mix of what real topics hold: headers (one with a null value), null keys, tombstones,
// out-of-order timestamps, and one large value.
std::vector<record> sample_records(std::int64_t base_offset = 0) {
  std::vector<record> records;
  records.push_back({0,
                     1700000000000,
                     text("key-0"),
                     text("value-0"),
                     {{"trace", text("abc")}, {"empty", std::nullopt}}});
  records.push_back({1, 1700000000005, std::nullopt, text("no key"), {}});
  records.push_back({2, 1699999999990, text("tombstone"), std::nullopt, {}});
  records.push_back({3, 1700000000100, text(""), text(""), {{"", text("")}}});
  records.push_back({4, 1700000000050, text("big"), bytes(70000, std::byte{'x'}), {}});
  for (auto& r : records) r.offset += base_offset;
  return records;
}

bytes build(const record_batch_builder_options& options, const std::vector<record>& records) {
  record_batch_builder builder(options);
  for (const auto& r : records) builder.append(r);
  return builder.build();
}

std::vector<record> owned(std::span<const record_view> views) {
  std::vector<record> records;
  for (const auto& view : views) records.push_back(view.to_record());
  return records;
}

class batch_codec_test : public ::testing::TestWithParam<compression> {};

TEST_P(batch_codec_test, round_trips_every_field) {
  record_batch_builder_options options{.codec = GetParam(),
                                       .base_offset = 1000,
                                       .partition_leader_epoch = 7,
                                       .producer_id = 4242,
                                       .producer_epoch = 3,
                                       .base_sequence = 17};
  auto records = sample_records(1000);
  auto batch = build(options, records);

  record_batch_decoder decoder(batch);
  const auto* header = decoder.next();
  ASSERT_NE(header, nullptr) << decoder.error().message();
  EXPECT_EQ(header->base_offset, 1000);
  EXPECT_EQ(header->size_in_bytes(), batch.size());
  EXPECT_EQ(header->partition_leader_epoch, 7);
  EXPECT_EQ(header->magic, 2);
  EXPECT_EQ(header->crc, crc32c(protocol::bytes_view(batch).subspan(batch_layout::attributes)));
  EXPECT_EQ(header->codec(), GetParam());
  EXPECT_EQ(header->timestamps(), timestamp_type::create_time);
  EXPECT_FALSE(header->is_transactional());
  EXPECT_FALSE(header->is_control());
  EXPECT_FALSE(header->delete_horizon());
  EXPECT_EQ(header->last_offset_delta, 4);
  EXPECT_EQ(header->next_offset(), 1005);
  EXPECT_EQ(header->base_timestamp, 1700000000000);
  EXPECT_EQ(header->max_timestamp, 1700000000100);
  EXPECT_EQ(header->producer_id, 4242);
  EXPECT_EQ(header->producer_epoch, 3);
  EXPECT_EQ(header->base_sequence, 17);
  EXPECT_EQ(header->record_count, 5);
  EXPECT_EQ(owned(decoder.records()), records);
  EXPECT_EQ(decoder.batch_bytes().size(), batch.size());
  EXPECT_EQ(decoder.next(), nullptr);
  EXPECT_FALSE(decoder.error());
  EXPECT_FALSE(decoder.partial_tail());
  EXPECT_EQ(decoder.position(), batch.size());
}

TEST_P(batch_codec_test, build_is_repeatable_for_retries) {
  record_batch_builder builder(
      {.codec = GetParam(), .producer_id = 1, .producer_epoch = 0, .base_sequence = 0});
  for (const auto& r : sample_records()) builder.append(r);
  EXPECT_EQ(builder.build(), builder.build());
  auto first = builder.build();
  builder.set_producer_state(1, 1, 0);  // epoch bump (KIP-360): same records, new header
  auto bumped = builder.build();
  record_batch_decoder decoder(bumped);
  ASSERT_NE(decoder.next(), nullptr);
  EXPECT_EQ(decoder.next(), nullptr);
  EXPECT_FALSE(decoder.error());
  EXPECT_NE(first, bumped);
}

TEST_P(batch_codec_test, transactional_and_log_append_time_batches) {
  record_batch_builder_options options{.codec = GetParam(),
                                       .producer_id = 9,
                                       .producer_epoch = 2,
                                       .base_sequence = 100,
                                       .transactional = true,
                                       .timestamps = timestamp_type::log_append_time};
  auto batch = build(options, sample_records());
  record_batch_decoder decoder(batch);
  const auto* header = decoder.next();
  ASSERT_NE(header, nullptr);
  EXPECT_TRUE(header->is_transactional());
  EXPECT_FALSE(header->is_control());
  EXPECT_EQ(header->timestamps(), timestamp_type::log_append_time);
  for (const auto& r : decoder.records()) EXPECT_EQ(r.timestamp, header->max_timestamp);
  EXPECT_EQ(decoder.records().size(), 5u);
}

TEST_P(batch_codec_test, several_batches_back_to_back_then_a_partial_one) {
  bytes input;
  std::vector<std::vector<record>> expected;
  for (int i = 0; i < 3; ++i) {
    auto records = sample_records(i * 5);
    record_batch_builder builder({.codec = GetParam(), .base_offset = i * 5});
    for (const auto& r : records) builder.append(r);
    ASSERT_FALSE(builder.build_to(input));
    expected.push_back(records);
  }
  auto whole = input.size();
  auto last = build({.codec = GetParam(), .base_offset = 15}, sample_records(15));
  input.insert(input.end(), last.begin(),
               last.begin() + static_cast<std::ptrdiff_t>(last.size() / 2));

  record_batch_decoder decoder(input);
  for (const auto& records : expected) {
    ASSERT_NE(decoder.next(), nullptr) << decoder.error().message();
    EXPECT_EQ(owned(decoder.records()), records);
  }
  EXPECT_EQ(decoder.next(), nullptr);
  EXPECT_FALSE(decoder.error());
  EXPECT_TRUE(decoder.partial_tail());
  EXPECT_EQ(decoder.position(), whole);
}

TEST_P(batch_codec_test, skipping_records_does_not_decode_them) {
  bytes input;
  for (int i = 0; i < 2; ++i) {
    record_batch_builder builder({.codec = GetParam(), .base_offset = i * 5});
    for (const auto& r : sample_records(i * 5)) builder.append(r);
    ASSERT_FALSE(builder.build_to(input));
  }
  record_batch_decoder decoder(input);
  ASSERT_NE(decoder.next(), nullptr);  // e.g. an aborted transaction: skipped whole
  const auto* second = decoder.next();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->base_offset, 5);
  EXPECT_EQ(decoder.records().front().offset, 5);
}

INSTANTIATE_TEST_SUITE_P(all, batch_codec_test, ::testing::ValuesIn(all_compressions),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(record_batch_builder, headers_from_views_and_empty_builder) {
  record_batch_builder builder;
  EXPECT_TRUE(builder.build().empty()) << "no records: no batch";
  std::vector<header_view> headers = {{"a", protocol::as_bytes_view("1")}, {"b", std::nullopt}};
  builder.append(5, std::nullopt, std::nullopt, headers);
  EXPECT_EQ(builder.record_count(), 1);
  auto batch = builder.build();
  record_batch_decoder decoder(batch);
  ASSERT_NE(decoder.next(), nullptr);
  auto records = decoder.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_FALSE(records[0].key);
  EXPECT_FALSE(records[0].value);
  ASSERT_EQ(records[0].headers.size(), 2u);
  EXPECT_EQ(records[0].headers[0].key, "a");
  EXPECT_EQ(protocol::as_string_view(*records[0].headers[0].value), "1");
  EXPECT_EQ(records[0].headers[1].key, "b");
  EXPECT_FALSE(records[0].headers[1].value);

  builder.clear();
  EXPECT_TRUE(builder.empty());
  builder.append(records[0]);
  EXPECT_EQ(builder.build(), batch) << "re-appending a decoded view reproduces the batch";
}

TEST(record_batch_builder, rejects_a_bad_level_up_front) {
  EXPECT_THROW(record_batch_builder({.codec = compression::gzip, .level = 42}),
               std::invalid_argument);
}

TEST(record_batch_decoder, empty_input_is_a_clean_end) {
  record_batch_decoder decoder({});
  EXPECT_EQ(decoder.next(), nullptr);
  EXPECT_FALSE(decoder.error());
  EXPECT_FALSE(decoder.partial_tail());
}

TEST(record_batch_decoder, every_truncation_is_partial_never_a_crash) {
  for (auto codec : all_compressions) {
    auto batch = build({.codec = codec}, {{0, 1, text("k"), text("v"), {{"h", text("x")}}}});
    for (std::size_t cut = 0; cut < batch.size(); ++cut) {
      bytes truncated(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(cut));
      record_batch_decoder decoder(truncated);
      EXPECT_EQ(decoder.next(), nullptr) << to_string(codec) << " cut " << cut;
      EXPECT_FALSE(decoder.error()) << to_string(codec) << " cut " << cut;
      EXPECT_EQ(decoder.partial_tail(), cut > 0);
    }
  }
}

// Shrinking batchLength (and fixing the CRC) cuts records short inside a complete batch:
// the decoder must say what is wrong, never read past the batch.
TEST(record_batch_decoder, every_inner_truncation_is_an_error) {
  auto records = sample_records();
  records.pop_back();  // the 70 KB value would only repeat the same cuts 70000 times
  for (auto codec : all_compressions) {
    auto batch = build({.codec = codec}, records);
    for (std::size_t size = batch_layout::header_size; size < batch.size(); ++size) {
      bytes cut(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(size));
      protocol::writer patch(cut);
      patch.patch_int32(batch_layout::batch_length,
                        static_cast<std::int32_t>(size - batch_layout::log_overhead));
      patch.patch_uint32(batch_layout::crc,
                         crc32c(protocol::bytes_view(cut).subspan(batch_layout::attributes)));
      record_batch_decoder decoder(cut);
      ASSERT_NE(decoder.next(), nullptr) << to_string(codec) << " size " << size;
      EXPECT_TRUE(decoder.records().empty());
      EXPECT_TRUE(decoder.error()) << to_string(codec) << " size " << size;
      EXPECT_EQ(decoder.next(), nullptr);
    }
  }
}

TEST(record_batch_decoder, detects_crc_mismatch_unless_disabled) {
  auto batch = build({}, sample_records());
  batch[batch.size() - 3] ^= std::byte{1};
  record_batch_decoder decoder(batch);
  EXPECT_EQ(decoder.next(), nullptr);
  EXPECT_EQ(decoder.error(), records_errc::bad_crc);
  EXPECT_EQ(decoder.error_batch_offset(), 0);
  EXPECT_NE(decoder.error().message().find("CRC"), std::string::npos);

  record_batch_decoder unchecked(batch, {.verify_crc = false});
  EXPECT_NE(unchecked.next(), nullptr);
}

// Rewrites one header field and fixes the CRC so the intended check is the one that fires.
bytes with_field(bytes batch, std::size_t at, std::int32_t value, bool four_bytes = true) {
  protocol::writer patch(batch);
  if (four_bytes) {
    patch.patch_int32(at, value);
  } else {
    batch[at] = static_cast<std::byte>(value);
  }
  patch.patch_uint32(batch_layout::crc,
                     crc32c(protocol::bytes_view(batch).subspan(batch_layout::attributes)));
  return batch;
}

TEST(record_batch_decoder, names_what_is_wrong) {
  auto batch = build({}, sample_records());
  auto expect_error = [](const bytes& input, records_errc expected) {
    record_batch_decoder decoder(input);
    if (decoder.next() != nullptr) decoder.records();
    EXPECT_EQ(decoder.error(), expected) << decoder.error().message();
  };
  expect_error(with_field(batch, batch_layout::magic, 3, false), records_errc::bad_magic);
  expect_error(with_field(batch, batch_layout::magic, -1, false), records_errc::bad_magic);
  expect_error(with_field(batch, batch_layout::batch_length, 20), records_errc::batch_too_small);
  expect_error(with_field(batch, batch_layout::batch_length, -5), records_errc::batch_too_small);
  constexpr std::size_t record_count_at = 57;
  expect_error(with_field(batch, record_count_at, 4), records_errc::record_count_mismatch);
  expect_error(with_field(batch, record_count_at, 6), records_errc::record_count_mismatch);
  expect_error(with_field(batch, record_count_at, -1), records_errc::invalid_record);
  expect_error(with_field(batch, record_count_at, 0x7fffffff), records_errc::record_count_mismatch);
  auto bad_codec = with_field(batch, batch_layout::attributes + 1, 0x07, false);
  expect_error(bad_codec, records_errc::unsupported_compression);
  auto claims_gzip = with_field(batch, batch_layout::attributes + 1, 0x01, false);
  expect_error(claims_gzip, records_errc::decompression_failed);

  // A record length varint of 6 continuation bytes.
  auto bad_varint = batch;
  for (std::size_t i = 0; i < 6; ++i) bad_varint[batch_layout::header_size + i] = std::byte{0xff};
  expect_error(with_field(bad_varint, batch_layout::magic, 2, false), records_errc::bad_varint);
}

TEST(record_batch_decoder, decompression_limit_applies) {
  auto batch = build({.codec = compression::zstd}, sample_records());
  record_batch_decoder decoder(batch, {.max_decompressed_size = 1000});
  ASSERT_NE(decoder.next(), nullptr);
  EXPECT_TRUE(decoder.records().empty());
  EXPECT_EQ(decoder.error(), records_errc::decompressed_too_large);
}

TEST(record_batch_decoder, reset_reuses_the_decoder) {
  auto first = build({.codec = compression::lz4}, sample_records());
  auto second = build({.codec = compression::gzip, .base_offset = 50}, sample_records(50));
  record_batch_decoder decoder(first);
  ASSERT_NE(decoder.next(), nullptr);
  EXPECT_EQ(decoder.records().size(), 5u);
  decoder.reset(second);
  ASSERT_NE(decoder.next(), nullptr);
  EXPECT_EQ(owned(decoder.records()), sample_records(50));
}

}  // namespace
}  // namespace sluice::kafka::records
