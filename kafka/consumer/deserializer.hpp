#pragma once

// Key and value deserializers (Java's org.apache.kafka.common.serialization.Deserializer<T>,
// aiokafka's key_deserializer / value_deserializer): callables `(std::string_view topic,
// protocol::bytes_view data) -> T`. The built-ins read what the Java client's serializers (and
// kafka/producer/serializer.hpp) write:
//
//   string_deserializer        StringDeserializer (the bytes as a string)
//   bytes_deserializer         ByteArrayDeserializer (a copy)
//   int16/32/64_deserializer   ShortDeserializer, IntegerDeserializer, LongDeserializer
//                              (big-endian; exactly 2, 4 or 8 bytes, else an error)
//   double_deserializer        DoubleDeserializer (IEEE 754 bits, big-endian, 8 bytes)
//   json_deserializer          JSON text into a boost::json::value
//
// `deserialize(record, key_deserializer, value_deserializer)` turns a consumer_record into a
// deserialized_record<K, V>; a null key or value stays nullopt (a tombstone), as the Java
// deserializers return null for null. Malformed bytes throw deserialization_error naming the
// topic, partition, offset, key or value, and what is wrong: the caller decides whether to skip
// the record (seek past it) or stop, and nothing is consumed behind its back.
//
// Threading: the built-ins are stateless and may be shared by any threads.

#include <bit>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <concepts>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "kafka/consumer/consumer_record.hpp"
#include "kafka/protocol/wire.hpp"

namespace sluice::kafka {

// Whether D deserializes a T for a topic.
template <typename D, typename T>
concept deserializer_for = requires(const D& deserializer, std::string_view topic,
                                    protocol::bytes_view data) {
  { deserializer(topic, data) } -> std::convertible_to<T>;
};

// What a deserializer throws (what is wrong with the bytes), and what deserialize() rethrows with
// the record's place added.
class deserialization_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
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

// The deserializer deserialize() uses for a type when none is given.
template <typename T>
struct default_deserializer {
  static_assert(
      sizeof(T) == 0,
      "no default deserializer for this type: pass one (e.g. json_deserializer) explicitly");
};
template <>
struct default_deserializer<std::string> {
  using type = string_deserializer;
};
template <>
struct default_deserializer<protocol::bytes> {
  using type = bytes_deserializer;
};
template <>
struct default_deserializer<std::int16_t> {
  using type = int16_deserializer;
};
template <>
struct default_deserializer<std::int32_t> {
  using type = int32_deserializer;
};
template <>
struct default_deserializer<std::int64_t> {
  using type = int64_deserializer;
};
template <>
struct default_deserializer<double> {
  using type = double_deserializer;
};
template <>
struct default_deserializer<boost::json::value> {
  using type = json_deserializer;
};
template <typename T>
using default_deserializer_t = typename default_deserializer<T>::type;

// A record with its key and value deserialized; `record` keeps the rest (place, timestamp,
// headers) and the fetched buffer alive.
template <typename Key, typename Value>
struct deserialized_record {
  consumer_record record;
  std::optional<Key> key;
  std::optional<Value> value;
};

namespace detail {

template <typename T, typename Deserializer>
std::optional<T> deserialize_part(const consumer_record& record, const char* part,
                                  const std::optional<protocol::bytes_view>& data,
                                  const Deserializer& deserializer) {
  if (!data) return std::nullopt;
  try {
    return deserializer(record.topic, *data);
  } catch (const std::exception& e) {
    throw deserialization_error("cannot deserialize the " + std::string(part) + " of " +
                                std::string(record.topic) + "-" + std::to_string(record.partition) +
                                " at offset " + std::to_string(record.offset) + ": " + e.what());
  }
}

}  // namespace detail

template <typename Key, typename Value, typename KeyDeserializer = default_deserializer_t<Key>,
          typename ValueDeserializer = default_deserializer_t<Value>>
requires deserializer_for<KeyDeserializer, Key> && deserializer_for<ValueDeserializer, Value>
    deserialized_record<Key, Value> deserialize(const consumer_record& record,
                                                const KeyDeserializer& key_deserializer = {},
                                                const ValueDeserializer& value_deserializer = {}) {
  return {record, detail::deserialize_part<Key>(record, "key", record.key, key_deserializer),
          detail::deserialize_part<Value>(record, "value", record.value, value_deserializer)};
}

}  // namespace sluice::kafka
