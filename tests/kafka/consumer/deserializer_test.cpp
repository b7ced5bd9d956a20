// The consumer's deserializers read what the producer's serializers (and Java's) write, and
// malformed bytes fail with the record's place named.
#include "kafka/consumer/deserializer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <limits>

namespace sluice::kafka {
namespace {

consumer_record record_of(const std::optional<protocol::bytes>& key,
                          const std::optional<protocol::bytes>& value) {
  consumer_record r;
  r.topic = "orders";
  r.partition = 3;
  r.offset = 42;
  if (key) r.key = protocol::bytes_view(*key);
  if (value) r.value = protocol::bytes_view(*value);
  return r;
}

protocol::bytes bytes_of(std::initializer_list<unsigned> values) {
  protocol::bytes out;
  for (auto v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

TEST(deserializer, integers_are_big_endian_like_javas) {
  // IntegerSerializer writes 258 as 00 00 01 02; LongSerializer writes -2 as eight bytes ff..fe.
  EXPECT_EQ(int32_deserializer{}("t", bytes_of({0, 0, 1, 2})), 258);
  EXPECT_EQ(int64_deserializer{}("t", bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe})),
            -2);
  EXPECT_EQ(int16_deserializer{}("t", bytes_of({0x80, 0x00})),
            std::numeric_limits<std::int16_t>::min());
  // DoubleSerializer: 1.5 is 0x3FF8000000000000.
  EXPECT_EQ(double_deserializer{}("t", bytes_of({0x3f, 0xf8, 0, 0, 0, 0, 0, 0})), 1.5);
}

TEST(deserializer, wrong_sizes_and_bad_json_say_what_is_wrong) {
  try {
    int32_deserializer{}("t", bytes_of({1, 2, 3}));
    ADD_FAILURE() << "three bytes made an int32";
  } catch (const deserialization_error& e) {
    EXPECT_STREQ(e.what(), "expected 4 bytes of a big-endian integer, got 3");
  }
  auto not_json = protocol::to_bytes("{\"amount\": ");
  EXPECT_THROW(json_deserializer{}("t", not_json), deserialization_error);
}

TEST(deserializer, a_record_with_null_key_and_json_value) {
  auto value = protocol::to_bytes(R"({"amount":4,"user":"alice"})");
  auto typed = deserialize<std::string, boost::json::value>(record_of(std::nullopt, value));
  EXPECT_FALSE(typed.key.has_value());
  ASSERT_TRUE(typed.value.has_value());
  EXPECT_EQ(typed.value->at("amount").as_int64(), 4);
  EXPECT_EQ(typed.record.offset, 42);
}

TEST(deserializer, a_tombstone_stays_null) {
  auto key = protocol::to_bytes("user-1");
  auto typed = deserialize<std::string, std::int64_t>(record_of(key, std::nullopt));
  EXPECT_EQ(typed.key, "user-1");
  EXPECT_FALSE(typed.value.has_value());
}

TEST(deserializer, a_malformed_value_names_the_record) {
  auto key = protocol::to_bytes("k");
  auto value = bytes_of({1, 2});
  try {
    deserialize<std::string, std::int32_t>(record_of(key, value));
    ADD_FAILURE() << "a two-byte value made an int32";
  } catch (const deserialization_error& e) {
    EXPECT_STREQ(e.what(),
                 "cannot deserialize the value of orders-3 at offset 42: expected 4 bytes of a "
                 "big-endian integer, got 2");
  }
}

TEST(deserializer, custom_callables_work_too) {
  auto value = protocol::to_bytes("7,8");
  auto count_commas = [](std::string_view, protocol::bytes_view data) {
    auto text = protocol::as_string_view(data);
    return static_cast<int>(std::count(text.begin(), text.end(), ','));
  };
  auto typed = deserialize<std::string, int>(record_of(std::nullopt, value), string_deserializer{},
                                             count_commas);
  EXPECT_EQ(typed.value, 1);
}

}  // namespace
}  // namespace sluice::kafka
