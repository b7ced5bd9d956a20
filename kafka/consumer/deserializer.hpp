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

#include <concepts>
#include <optional>
#include <string>
#include <string_view>

#include "kafka/client/builtin_serdes.hpp"
#include "kafka/consumer/consumer_record.hpp"
#include "kafka/protocol/wire.hpp"

namespace sluice::kafka {

// Whether D deserializes a T for a topic.
template <typename D, typename T>
concept deserializer_for = requires(const D& deserializer, std::string_view topic,
                                    protocol::bytes_view data) {
  { deserializer(topic, data) } -> std::convertible_to<T>;
};

// The deserializer deserialize() uses for a type when none is given (builtin_serdes.hpp).
template <typename T>
using default_deserializer_t = typename builtin_serde<T>::deserializer;

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
