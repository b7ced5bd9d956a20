#pragma once

// Key and value serializers (Java's org.apache.kafka.common.serialization.Serializer<T>,
// aiokafka's key_serializer / value_serializer): callables `(std::string_view topic, const T&)
// -> protocol::bytes`, used by serializing_producer. The built-in ones write what the Java
// client's do, so Java consumers read them with the matching deserializers:
//
//   string_serializer        StringSerializer (the bytes of the string, UTF-8 as given)
//   bytes_serializer         ByteArraySerializer (as is)
//   int16/32/64_serializer   ShortSerializer, IntegerSerializer, LongSerializer (two's
//                            complement, big-endian: network byte order)
//   double_serializer        DoubleSerializer (IEEE 754 bits, big-endian)
//   json_serializer          compact JSON text of anything Boost.JSON's value_from takes
//                            (boost::json::value, maps, vectors, types with tag_invoke);
//                            Kafka Connect's JsonSerializer writes the same text
//
// A null key or value is not serialized: serializing_producer sends it as null (a tombstone for
// values), as the Java serializers return null for null.
//
// Threading: the built-ins are stateless and may be shared by any threads.

#include "kafka/protocol/wire.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <bit>
#include <concepts>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace sluice::kafka {

// Whether S serializes a T for a topic.
template <typename S, typename T>
concept serializer_for = requires(const S& serializer, std::string_view topic, const T& data) {
  { serializer(topic, data) } -> std::convertible_to<protocol::bytes>;
};

// What a serializer throws, or what serializing_producer wraps a serializer's failure in: which
// topic, key or value, and why.
class serialization_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct string_serializer {
  protocol::bytes operator()(std::string_view /*topic*/, std::string_view data) const {
    return protocol::to_bytes(data);
  }
};

struct bytes_serializer {
  protocol::bytes operator()(std::string_view /*topic*/, protocol::bytes_view data) const {
    return protocol::bytes(data.begin(), data.end());
  }
};

// A fixed-width integer, big-endian (Java's DataOutput order).
template <std::integral Int>
struct big_endian_serializer {
  protocol::bytes operator()(std::string_view /*topic*/, Int data) const {
    using unsigned_type = std::make_unsigned_t<Int>;
    auto bits = static_cast<unsigned_type>(data);
    protocol::bytes out(sizeof(Int));
    for (std::size_t i = sizeof(Int); i-- > 0;) {
      out[i] = static_cast<std::byte>(bits & 0xffU);
      bits = static_cast<unsigned_type>(bits >> 8U);
    }
    return out;
  }
};
using int16_serializer = big_endian_serializer<std::int16_t>;
using int32_serializer = big_endian_serializer<std::int32_t>;
using int64_serializer = big_endian_serializer<std::int64_t>;

struct double_serializer {
  protocol::bytes operator()(std::string_view topic, double data) const {
    return int64_serializer{}(topic, std::bit_cast<std::int64_t>(data));
  }
};

struct json_serializer {
  template <typename T>
  protocol::bytes operator()(std::string_view /*topic*/, const T& data) const {
    return protocol::to_bytes(boost::json::serialize(boost::json::value_from(data)));
  }
};

// The serializer serializing_producer uses for a type when none is given.
template <typename T>
struct default_serializer {
  // Types without a built-in serializer need one passed explicitly (or json_serializer).
  static_assert(sizeof(T) == 0,
                "no default serializer for this type: pass one (e.g. json_serializer) explicitly");
};
template <>
struct default_serializer<std::string> {
  using type = string_serializer;
};
template <>
struct default_serializer<protocol::bytes> {
  using type = bytes_serializer;
};
template <>
struct default_serializer<std::int16_t> {
  using type = int16_serializer;
};
template <>
struct default_serializer<std::int32_t> {
  using type = int32_serializer;
};
template <>
struct default_serializer<std::int64_t> {
  using type = int64_serializer;
};
template <>
struct default_serializer<double> {
  using type = double_serializer;
};
template <>
struct default_serializer<boost::json::value> {
  using type = json_serializer;
};
template <typename T>
using default_serializer_t = typename default_serializer<T>::type;

}  // namespace sluice::kafka
