#include "kafka/protocol/wire.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace sluice::kafka::protocol {
namespace {

TEST(wire, varints_round_trip_at_the_edges) {
  bytes buffer;
  writer out(buffer);
  const std::int32_t ints[] = {0,
                               1,
                               -1,
                               63,
                               -64,
                               64,
                               std::numeric_limits<std::int32_t>::max(),
                               std::numeric_limits<std::int32_t>::min()};
  const std::int64_t longs[] = {0, -1, std::numeric_limits<std::int64_t>::max(),
                                std::numeric_limits<std::int64_t>::min()};
  for (auto value : ints) out.varint(value);
  for (auto value : longs) out.varlong(value);
  out.unsigned_varint(std::numeric_limits<std::uint32_t>::max());

  reader in(buffer);
  for (auto value : ints) EXPECT_EQ(in.varint(), value);
  for (auto value : longs) EXPECT_EQ(in.varlong(), value);
  EXPECT_EQ(in.unsigned_varint(), std::numeric_limits<std::uint32_t>::max());
  EXPECT_TRUE(in.ok());
  EXPECT_TRUE(in.at_end());
}

TEST(wire, zigzag_matches_the_protocol_guide) {
  bytes buffer;
  writer out(buffer);
  out.varint(-1);   // zig-zag 1
  out.varint(1);    // zig-zag 2
  out.varint(-64);  // zig-zag 127
  out.varint(64);   // zig-zag 128, two bytes
  EXPECT_EQ(buffer,
            (bytes{std::byte{1}, std::byte{2}, std::byte{127}, std::byte{0x80}, std::byte{1}}));
}

TEST(wire, strings_and_bytes_round_trip_in_all_encodings) {
  bytes buffer;
  writer out(buffer);
  out.string("topic");
  out.nullable_string(std::nullopt);
  out.compact_string("");
  out.compact_nullable_string(std::string("x"));
  out.compact_nullable_string(std::nullopt);
  out.bytes(as_bytes_view("abc"));
  out.nullable_bytes(std::nullopt);
  out.compact_bytes(as_bytes_view("de"));
  out.uuid(uuid{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}});
  out.float64(2.5);

  reader in(buffer);
  EXPECT_EQ(in.string(), "topic");
  EXPECT_EQ(in.nullable_string(), std::nullopt);
  EXPECT_EQ(in.compact_string(), "");
  EXPECT_EQ(in.compact_nullable_string(), std::optional<std::string>("x"));
  EXPECT_EQ(in.compact_nullable_string(), std::nullopt);
  EXPECT_EQ(in.bytes(), to_bytes("abc"));
  EXPECT_EQ(in.nullable_bytes(), std::nullopt);
  EXPECT_EQ(in.compact_bytes(), to_bytes("de"));
  EXPECT_EQ(in.uuid().value[15], 16);
  EXPECT_EQ(in.float64(), 2.5);
  EXPECT_TRUE(in.ok());
  EXPECT_TRUE(in.at_end());
}

TEST(wire, truncated_input_is_a_sticky_error_not_a_crash) {
  bytes buffer;
  writer out(buffer);
  out.string("a long enough string");
  // erase, not resize(size - 3): GCC 12 at -O1 misreports that as a -Wstringop-overflow.
  buffer.erase(buffer.end() - 3, buffer.end());

  reader in(buffer);
  EXPECT_EQ(in.string(), "");
  EXPECT_FALSE(in.ok());
  EXPECT_EQ(in.error(), decode_error::truncated);
  EXPECT_EQ(in.int64(), 0);  // reads after a failure return zero values
  EXPECT_EQ(in.error(), decode_error::truncated);
}

TEST(wire, hostile_array_length_is_rejected_before_allocation) {
  bytes buffer;
  writer out(buffer);
  out.int32(std::numeric_limits<std::int32_t>::max());
  reader in(buffer);
  EXPECT_FALSE(in.array_length(4).has_value() && in.ok());
  EXPECT_EQ(in.error(), decode_error::length_too_large);
}

TEST(wire, overlong_varint_is_rejected) {
  bytes buffer(6, std::byte{0xff});
  reader in(buffer);
  in.unsigned_varint();
  EXPECT_EQ(in.error(), decode_error::varint_too_long);
}

}  // namespace
}  // namespace sluice::kafka::protocol
