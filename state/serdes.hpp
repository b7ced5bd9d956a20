#pragma once

// Serdes turn typed keys and values into the bytes the stores keep, with Kafka's own encodings
// so a changelog reads the same from Java tools: string = its UTF-8 bytes (StringSerializer),
// int64 = 8 bytes big-endian (LongSerializer), double = IEEE 754 bits big-endian
// (DoubleSerializer), bytes = as is. json_serde (Boost.JSON) is in json_serde.hpp, to keep
// Boost.JSON out of code that does not use it.
//
// A serde is a type with `value_type` and static serialize / deserialize; deserialize throws
// store_error saying what is wrong with the bytes (the typed store adds which store and field).
// Note that scans run in BYTE order of serialized keys: big-endian int64 keys sort numerically
// only when non-negative.

#include <concepts>
#include <cstdint>
#include <string>

#include "state/store_types.hpp"

namespace sluice::state {

template <class S>
concept serde = requires(const typename S::value_type& value, bytes_view data) {
  { S::serialize(value) } -> std::same_as<bytes>;
  { S::deserialize(data) } -> std::same_as<typename S::value_type>;
};

struct string_serde {
  using value_type = std::string;
  static bytes serialize(const std::string& value) { return value; }
  static std::string deserialize(bytes_view data) { return std::string(data); }
};

// Opaque bytes, passed through (Kafka's ByteArraySerializer).
struct bytes_serde {
  using value_type = bytes;
  static bytes serialize(const bytes& value) { return value; }
  static bytes deserialize(bytes_view data) { return bytes(data); }
};

struct int64_serde {
  using value_type = std::int64_t;
  static bytes serialize(std::int64_t value);
  static std::int64_t deserialize(bytes_view data);
};

struct double_serde {
  using value_type = double;
  static bytes serialize(double value);
  static double deserialize(bytes_view data);
};

}  // namespace sluice::state
