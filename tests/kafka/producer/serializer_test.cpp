// The built-in serializers write what the Java client's do: strings as their bytes, integers
// and doubles big-endian (IntegerSerializer, LongSerializer, ShortSerializer, DoubleSerializer),
// JSON as compact text; serializing_producer's defaults pick them by type.
#include "kafka/producer/serializer.hpp"

#include <gtest/gtest.h>

#include <boost/json/value.hpp>
#include <limits>
#include <map>
#include <vector>

#include "kafka/producer/serializing_producer.hpp"

namespace sluice::kafka {
namespace {

protocol::bytes bytes_of(std::initializer_list<int> values) {
  protocol::bytes out;
  for (auto value : values) out.push_back(static_cast<std::byte>(value));
  return out;
}

TEST(serializer, strings_and_bytes_are_written_as_they_are) {
  EXPECT_EQ(string_serializer{}("t", "héllo"), protocol::to_bytes("héllo"));
  EXPECT_EQ(string_serializer{}("t", ""), protocol::bytes{});
  const auto raw = bytes_of({0, 1, 0xff});
  EXPECT_EQ(bytes_serializer{}("t", raw), raw);
}

TEST(serializer, integers_are_big_endian_like_java) {
  // Java: ByteBuffer.allocate(4).putInt(0x01020304) and friends.
  EXPECT_EQ(int32_serializer{}("t", 0x01020304), bytes_of({1, 2, 3, 4}));
  EXPECT_EQ(int32_serializer{}("t", -1), bytes_of({0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(int32_serializer{}("t", std::numeric_limits<std::int32_t>::min()),
            bytes_of({0x80, 0, 0, 0}));
  EXPECT_EQ(int64_serializer{}("t", 0x0102030405060708), bytes_of({1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(int64_serializer{}("t", -2),
            bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}));
  EXPECT_EQ(int16_serializer{}("t", static_cast<std::int16_t>(0x0102)), bytes_of({1, 2}));
  // Java: DoubleSerializer writes Double.doubleToLongBits; 1.0 is 0x3ff0000000000000.
  EXPECT_EQ(double_serializer{}("t", 1.0), bytes_of({0x3f, 0xf0, 0, 0, 0, 0, 0, 0}));
}

TEST(serializer, json_is_compact_text) {
  boost::json::value document = {{"id", 7}, {"tags", {"a", "b"}}};
  EXPECT_EQ(protocol::as_string_view(json_serializer{}("t", document)),
            R"({"id":7,"tags":["a","b"]})");
  // Anything value_from takes: standard containers too.
  std::map<std::string, int> counts{{"x", 1}, {"y", 2}};
  EXPECT_EQ(protocol::as_string_view(json_serializer{}("t", counts)), R"({"x":1,"y":2})");
  std::vector<int> list{1, 2, 3};
  EXPECT_EQ(protocol::as_string_view(json_serializer{}("t", list)), "[1,2,3]");
}

TEST(serializer, defaults_follow_the_type) {
  static_assert(std::is_same_v<default_serializer_t<std::string>, string_serializer>);
  static_assert(std::is_same_v<default_serializer_t<protocol::bytes>, bytes_serializer>);
  static_assert(std::is_same_v<default_serializer_t<std::int32_t>, int32_serializer>);
  static_assert(std::is_same_v<default_serializer_t<std::int64_t>, int64_serializer>);
  static_assert(std::is_same_v<default_serializer_t<boost::json::value>, json_serializer>);
  static_assert(serializer_for<json_serializer, std::vector<int>>);
  static_assert(!serializer_for<int32_serializer, std::string>);
}

TEST(serializer, failures_name_the_topic_and_the_part) {
  const auto failing = [](std::string_view, const int&) -> protocol::bytes {
    throw std::runtime_error("odd numbers only");
  };
  std::optional<int> value = 4;
  try {
    detail::serialize(failing, "orders", value, "value");
    FAIL() << "no serialization_error";
  } catch (const serialization_error& e) {
    EXPECT_NE(std::string(e.what()).find("orders"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("value"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("odd numbers only"), std::string::npos) << e.what();
  }
  std::optional<int> none;
  EXPECT_FALSE(detail::serialize(failing, "orders", none, "key").has_value())
      << "null is sent as null, not serialized";
}

}  // namespace
}  // namespace sluice::kafka
