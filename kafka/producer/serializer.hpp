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

#include <concepts>
#include <string_view>

#include "kafka/client/builtin_serdes.hpp"
#include "kafka/protocol/wire.hpp"

namespace sluice::kafka {

// Whether S serializes a T for a topic.
template <typename S, typename T>
concept serializer_for = requires(const S& serializer, std::string_view topic, const T& data) {
  { serializer(topic, data) } -> std::convertible_to<protocol::bytes>;
};

// The serializer serializing_producer uses for a type when none is given (builtin_serdes.hpp).
template <typename T>
using default_serializer_t = typename builtin_serde<T>::serializer;

}  // namespace sluice::kafka
