#pragma once

// The built-in serializers and deserializers, in pairs that read what the other writes, and the
// one table that names the pair a type uses when the caller gives none. The producer side
// (kafka/producer/serializer.hpp) and the consumer side (kafka/consumer/deserializer.hpp) both
// take their defaults from this table, so a type gets its serializer and its deserializer from the
// same row. The formats are the Java client's (see those two headers for the list).
//
// Threading: the built-ins are stateless and may be shared by any threads.

#include <bit>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <concepts>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "kafka/protocol/wire.hpp"

namespace sluice::kafka {

// What a serializer throws, or what serializing_producer wraps a serializer's failure in: which
// topic, key or value, and why.
class serialization_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// What a deserializer throws (what is wrong with the bytes), and what deserialize() rethrows with
// the record's place added.
class deserialization_error : public std::invalid_argument {
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

struct string_deserializer {
  std::string operator()(std::string_view /*topic*/, protocol::bytes_view data) const {
    return std::string(protocol::as_string_view(data));
  }
};

struct bytes_deserializer {
  protocol::bytes operator()(std::string_view /*topic*/, protocol::bytes_view data) const {
    return protocol::bytes(data.begin(), data.end());
  }
};

// A fixed-width integer, big-endian (Java's DataInput order).
template <std::integral Int>
struct big_endian_deserializer {
  Int operator()(std::string_view /*topic*/, protocol::bytes_view data) const {
    if (data.size() != sizeof(Int)) {
      throw deserialization_error("expected " + std::to_string(sizeof(Int)) +
                                  " bytes of a big-endian integer, got " +
                                  std::to_string(data.size()));
    }
    using unsigned_type = std::make_unsigned_t<Int>;
    unsigned_type bits = 0;
    for (auto byte : data) {
      bits = static_cast<unsigned_type>((bits << 8U) | static_cast<unsigned_type>(byte));
    }
    return static_cast<Int>(bits);
  }
};
using int16_deserializer = big_endian_deserializer<std::int16_t>;
using int32_deserializer = big_endian_deserializer<std::int32_t>;
using int64_deserializer = big_endian_deserializer<std::int64_t>;

struct double_deserializer {
  double operator()(std::string_view topic, protocol::bytes_view data) const {
    return std::bit_cast<double>(int64_deserializer{}(topic, data));
  }
};

struct json_deserializer {
  boost::json::value operator()(std::string_view /*topic*/, protocol::bytes_view data) const {
    std::error_code failure;
    auto parsed = boost::json::parse(protocol::as_string_view(data), failure);
    if (failure) throw deserialization_error("not JSON: " + failure.message());
    return parsed;
  }
};

// The built-in pair for a type: `builtin_serde<T>::serializer` and `::deserializer`.
template <typename T>
struct builtin_serde {
  // Types without a built-in pair need one passed explicitly (e.g. json_serializer /
  // json_deserializer).
  static_assert(sizeof(T) == 0,
                "no built-in serializer or deserializer for this type: pass one (e.g. "
                "json_serializer, json_deserializer) explicitly");
};
template <typename Serializer, typename Deserializer>
struct serde_pair {
  using serializer = Serializer;
  using deserializer = Deserializer;
};
template <>
struct builtin_serde<std::string> : serde_pair<string_serializer, string_deserializer> {};
template <>
struct builtin_serde<protocol::bytes> : serde_pair<bytes_serializer, bytes_deserializer> {};
template <>
struct builtin_serde<std::int16_t> : serde_pair<int16_serializer, int16_deserializer> {};
template <>
struct builtin_serde<std::int32_t> : serde_pair<int32_serializer, int32_deserializer> {};
template <>
struct builtin_serde<std::int64_t> : serde_pair<int64_serializer, int64_deserializer> {};
template <>
struct builtin_serde<double> : serde_pair<double_serializer, double_deserializer> {};
template <>
struct builtin_serde<boost::json::value> : serde_pair<json_serializer, json_deserializer> {};

}  // namespace sluice::kafka
