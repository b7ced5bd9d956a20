#include "kafka/records/compression.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "kafka/records/records_error.hpp"

namespace sluice::kafka::records {
namespace {

using protocol::bytes;

constexpr std::size_t unlimited = std::size_t{1} << 30;

// Half random, half repetitive: exercises both literal and match paths of every codec.
bytes sample(std::size_t size, unsigned seed = 7) {
  std::mt19937 random(seed);
  bytes data(size);
  for (std::size_t i = 0; i < size; ++i) {
    data[i] = static_cast<std::byte>((i / 64) % 2 == 0 ? random() : i % 251);
  }
  return data;
}

class codec_test : public ::testing::TestWithParam<compression> {};

TEST_P(codec_test, round_trips_empty_small_and_large_input) {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{100}, std::size_t{65537},
                           std::size_t{1} << 20}) {
    auto input = sample(size);
    auto packed = compress(GetParam(), input);
    ASSERT_FALSE(packed.error) << packed.error.message();
    auto unpacked = decompress(GetParam(), packed.data, unlimited);
    ASSERT_FALSE(unpacked.error) << "size " << size << ": " << unpacked.error.message();
    EXPECT_EQ(unpacked.data, input) << "size " << size;
  }
}

TEST_P(codec_test, compression_is_deterministic) {
  auto input = sample(200000);
  EXPECT_EQ(compress(GetParam(), input).data, compress(GetParam(), input).data);
}

TEST_P(codec_test, appends_after_existing_bytes) {
  auto input = sample(5000);
  bytes packed = {std::byte{1}, std::byte{2}};
  ASSERT_FALSE(compress_to(GetParam(), input, default_compression_level, packed));
  EXPECT_EQ(packed[0], std::byte{1});
  bytes unpacked = {std::byte{9}};
  ASSERT_FALSE(
      decompress_to(GetParam(), protocol::bytes_view(packed).subspan(2), unlimited, unpacked));
  ASSERT_EQ(unpacked.size(), input.size() + 1);
  EXPECT_TRUE(std::equal(input.begin(), input.end(), unpacked.begin() + 1));
}

TEST_P(codec_test, output_limit_is_enforced) {
  auto input = bytes(100000, std::byte{'a'});
  auto packed = compress(GetParam(), input);
  ASSERT_FALSE(packed.error);
  bytes out = {std::byte{5}};
  auto limited = decompress_to(GetParam(), packed.data, input.size() - 1, out);
  EXPECT_EQ(limited, records_errc::decompressed_too_large);
  EXPECT_EQ(out, bytes{std::byte{5}}) << "a failed decompression leaves the output unchanged";
  EXPECT_FALSE(decompress(GetParam(), packed.data, input.size()).error)
      << "exactly the limit is fine";
}

INSTANTIATE_TEST_SUITE_P(all, codec_test, ::testing::ValuesIn(all_compressions),
                         [](const auto& info) { return std::string(to_string(info.param)); });

class real_codec_test : public ::testing::TestWithParam<compression> {};

TEST_P(real_codec_test, corrupt_or_truncated_input_is_an_error) {
  auto input = sample(100000);
  auto packed = compress(GetParam(), input).data;
  // Every format ends with an end mark or is length-checked, so any cut is an error.
  for (std::size_t cut :
       {std::size_t{0}, std::size_t{1}, std::size_t{10}, packed.size() / 2, packed.size() - 1}) {
    auto result = decompress(GetParam(), protocol::bytes_view(packed).first(cut), unlimited);
    EXPECT_TRUE(result.error) << "cut at " << cut;
  }
  auto garbage = sample(1000, 99);
  EXPECT_TRUE(decompress(GetParam(), garbage, unlimited).error);
  // Flipped bytes in the middle: an error, or (for formats without checksums) different data;
  // never a crash or a read out of bounds (the fuzzer checks this more broadly).
  auto flipped = packed;
  for (std::size_t i = 20; i < flipped.size(); i += 97) flipped[i] ^= std::byte{0x5a};
  auto result = decompress(GetParam(), flipped, unlimited);
  EXPECT_TRUE(result.error || result.data != input);
}

TEST_P(real_codec_test, levels_are_validated) {
  EXPECT_TRUE(valid_compression_level(GetParam(), default_compression_level));
  if (GetParam() == compression::snappy) return;
  EXPECT_EQ(compress(GetParam(), sample(10), 1000).error, records_errc::invalid_compression_level);
  auto fast = compress(GetParam(), sample(100000), 1);
  ASSERT_FALSE(fast.error);
  EXPECT_EQ(decompress(GetParam(), fast.data, unlimited).data, sample(100000));
}

// As the Java client: lz4's default level, and 9 set explicitly, are lz4's fast mode; another
// level is LZ4HC, which packs repetitive data tighter.
TEST(compression_lz4, default_level_and_9_are_the_fast_mode_like_java) {
  auto input = sample(100000);
  auto by_default = compress(compression::lz4, input);
  auto nine = compress(compression::lz4, input, 9);
  auto fast = compress(compression::lz4, input, 1);
  auto high = compress(compression::lz4, input, 12);
  ASSERT_FALSE(by_default.error || nine.error || fast.error || high.error);
  EXPECT_EQ(by_default.data, fast.data);
  EXPECT_EQ(nine.data, fast.data);
  EXPECT_NE(high.data, fast.data);
  EXPECT_EQ(decompress(compression::lz4, high.data, unlimited).data, input);
}

INSTANTIATE_TEST_SUITE_P(compressed, real_codec_test,
                         ::testing::Values(compression::gzip, compression::snappy, compression::lz4,
                                           compression::zstd),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(compression_snappy, writes_xerial_framing_and_reads_raw_snappy_too) {
  auto input = sample(100000);
  auto framed = compress(compression::snappy, input).data;
  ASSERT_GE(framed.size(), 16u);
  EXPECT_EQ(framed[0], std::byte{0x82});
  EXPECT_EQ(protocol::as_string_view(protocol::bytes_view(framed).subspan(1, 6)), "SNAPPY");
  // A one-block frame minus its framing is exactly the raw snappy librdkafka writes.
  auto small = sample(1000);
  auto one_block = compress(compression::snappy, small).data;
  protocol::reader frame(protocol::bytes_view(one_block).subspan(16));
  auto length = frame.int32();
  auto raw = frame.take(static_cast<std::size_t>(length));
  ASSERT_TRUE(frame.ok() && frame.at_end());
  auto unpacked = decompress(compression::snappy, raw, unlimited);
  ASSERT_FALSE(unpacked.error) << unpacked.error.message();
  EXPECT_EQ(unpacked.data, small);
  EXPECT_EQ(decompress(compression::snappy, framed, unlimited).data, input);
}

TEST(compression_gzip, reads_concatenated_members) {
  auto first = sample(3000, 1);
  auto second = sample(4000, 2);
  auto packed = compress(compression::gzip, first).data;
  auto tail = compress(compression::gzip, second).data;
  packed.insert(packed.end(), tail.begin(), tail.end());
  auto unpacked = decompress(compression::gzip, packed, unlimited);
  ASSERT_FALSE(unpacked.error);
  auto expected = first;
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_EQ(unpacked.data, expected);
}

TEST(compression, unknown_codec_is_an_error) {
  auto bogus = static_cast<compression>(5);
  EXPECT_EQ(compress(bogus, sample(10)).error, records_errc::unsupported_compression);
  EXPECT_EQ(decompress(bogus, sample(10), unlimited).error, records_errc::unsupported_compression);
  EXPECT_STREQ(to_string(bogus), "unknown");
}

}  // namespace
}  // namespace sluice::kafka::records
