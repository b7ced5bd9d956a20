#include "operators/data_format.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <limits>
#include <string>

namespace sluice::operators {
namespace {

const record_origin origin{"orders", 3, 17};

TEST(data_format, names_round_trip) {
  for (auto f : {data_format::json, data_format::string, data_format::bytes, data_format::int64,
                 data_format::double_}) {
    EXPECT_EQ(parse_data_format(to_string(f)), f);
  }
  EXPECT_FALSE(parse_data_format("avro"));
}

TEST(data_format, json_decodes_documents_and_names_the_record_when_bad) {
  auto ok = decode(data_format::json, std::string(R"({"a":[1,2]})"), record_part::value, origin);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, boost::json::parse(R"({"a":[1,2]})"));

  auto bad = decode(data_format::json, std::string("{\"a\":"), record_part::value, origin);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, error_kind::deserialization);
  EXPECT_NE(bad.error().message.find("value is not valid JSON (5 bytes)"), std::string::npos)
      << bad.error().message;
  EXPECT_EQ(bad.error().describe().rfind("topic 'orders' partition 3 offset 17: value", 0), 0U)
      << bad.error().describe();
}

TEST(data_format, null_bytes_are_json_null_in_every_format) {
  for (auto f : {data_format::json, data_format::string, data_format::bytes, data_format::int64,
                 data_format::double_}) {
    auto v = decode(f, std::nullopt, record_part::key, origin);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->is_null());
    auto back = encode(f, boost::json::value(nullptr), record_part::key, origin);
    ASSERT_TRUE(back);
    EXPECT_FALSE(back->has_value());
  }
}

TEST(data_format, int64_is_eight_bytes_big_endian_like_kafkas_long_serializer) {
  auto bytes = encode(data_format::int64, boost::json::value(258), record_part::key, origin);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(**bytes, std::string("\0\0\0\0\0\0\x01\x02", 8));
  auto negative = encode(data_format::int64, boost::json::value(-1), record_part::key, origin);
  ASSERT_TRUE(negative);
  EXPECT_EQ(**negative, std::string(8, '\xff'));
  auto back = decode(data_format::int64, **negative, record_part::key, origin);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->as_int64(), -1);

  auto short_input = decode(data_format::int64, std::string("abc"), record_part::key, origin);
  ASSERT_FALSE(short_input);
  EXPECT_NE(short_input.error().message.find("key is not an int64: expected 8 bytes, got 3"),
            std::string::npos)
      << short_input.error().message;

  auto not_integer = encode(data_format::int64, boost::json::value(1.5), record_part::key, origin);
  ASSERT_FALSE(not_integer);
  EXPECT_EQ(not_integer.error().kind, error_kind::serialization);
}

TEST(data_format, double_round_trips_ieee_bits) {
  auto bytes = encode(data_format::double_, boost::json::value(2.5), record_part::value, origin);
  ASSERT_TRUE(bytes);
  // 2.5 = 0x4004000000000000
  EXPECT_EQ(**bytes, std::string("\x40\x04\0\0\0\0\0\0", 8));
  auto back = decode(data_format::double_, **bytes, record_part::value, origin);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->as_double(), 2.5);
  EXPECT_FALSE(decode(data_format::double_, std::string(9, 'x'), record_part::value, origin));
}

TEST(data_format, string_rejects_invalid_utf8_and_names_the_byte) {
  auto ok = decode(data_format::string, std::string("h\xc3\xa9llo"), record_part::key, origin);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->as_string(), "h\xc3\xa9llo");
  auto bad = decode(data_format::string, std::string("ab\xff"), record_part::key, origin);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("bad byte 0xff at offset 2"), std::string::npos)
      << bad.error().message;
}

TEST(data_format, string_encodes_scalars_but_not_objects) {
  auto number = encode(data_format::string, boost::json::value(42), record_part::key, origin);
  ASSERT_TRUE(number);
  EXPECT_EQ(**number, "42");
  auto object =
      encode(data_format::string, boost::json::parse(R"({"a":1})"), record_part::key, origin);
  ASSERT_FALSE(object);
  EXPECT_NE(object.error().message.find("key is an object"), std::string::npos)
      << object.error().message;
}

TEST(data_format, bytes_pass_through_unchanged) {
  const std::string raw("\0\x01\xfe", 3);
  auto v = decode(data_format::bytes, raw, record_part::value, origin);
  ASSERT_TRUE(v);
  auto back = encode(data_format::bytes, *v, record_part::value, origin);
  ASSERT_TRUE(back);
  EXPECT_EQ(**back, raw);
}

TEST(data_format, json_text_writes_doubles_as_people_read_them) {
  EXPECT_EQ(to_json_text(boost::json::parse(R"({"a":4.5,"b":12.0,"c":[1,0.1,-2.25],"d":"x"})")),
            R"({"a":4.5,"b":12.0,"c":[1,0.1,-2.25],"d":"x"})");
  EXPECT_EQ(to_json_text(boost::json::value(1e21)), "1e+21");
  EXPECT_EQ(to_json_text(boost::json::value(std::nan(""))), "null");
  // What it writes parses back to the same value, doubles staying doubles.
  auto round_trip = boost::json::parse(to_json_text(boost::json::value(3.0)));
  EXPECT_TRUE(round_trip.is_double());
}

TEST(data_format, json_text_writes_everything_but_doubles_as_boost_json_does) {
  // Every byte below 0x80 and a few UTF-8 characters, in keys and values.
  std::string every_ascii;
  for (int c = 0; c < 0x80; ++c) every_ascii += static_cast<char>(c);
  boost::json::object object;
  object[every_ascii] = every_ascii;
  object["utf-8 \u00e9\u20ac\U0001f600"] = "caf\u00e9";
  object["numbers"] = boost::json::array{0, -1, std::numeric_limits<std::int64_t>::min(),
                                         std::numeric_limits<std::uint64_t>::max()};
  object["others"] = boost::json::array{true, false, nullptr, boost::json::object{}, "", "\"\\"};
  const boost::json::value value(std::move(object));
  EXPECT_EQ(to_json_text(value), boost::json::serialize(value));
}

}  // namespace
}  // namespace sluice::operators
