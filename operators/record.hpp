#pragma once

// The records operators see and produce. Between the runtime and the operators records are
// bytes (raw_record in, output_record out); inside a sub-topology they are decoded: the key and
// the value are JSON documents (boost::json::value) whatever the topic's format, so every step
// and expression works on one representation. The serdes (data_format.hpp) convert at the edges.

#include <boost/json/value.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace sluice::operators {

struct header {
  std::string key;
  std::optional<std::string> value;  // Kafka headers may have a null value
  bool operator==(const header&) const = default;
};

// Where a record came from, for error messages ("topic 'a' partition 3 offset 17") and for
// expressions (`topic`, `partition`, `offset`).
struct record_origin {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = -1;
  bool operator==(const record_origin&) const = default;
};

// A record as the runtime hands it over: key and value bytes as read from Kafka (nullopt = null).
struct raw_record {
  record_origin origin;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::int64_t timestamp = 0;  // milliseconds since the epoch
  std::vector<header> headers;
};

// A raw record's key and value, decoded by its source's formats before its turn (the runtime's
// input_decoder does it on a thread of its own): what sub_topology_processor::process would
// decode from the record's bytes.
struct decoded_input {
  boost::json::value key;
  boost::json::value value;
};

// An expression's result as a record time: milliseconds since the epoch, a non-negative number
// (an int, or a double, truncated). nullopt for anything else; set_timestamp and a window's time
// expression turn that into an invalid_timestamp error.
inline std::optional<std::int64_t> epoch_millis(const boost::json::value& v) {
  if (v.is_int64() && v.get_int64() >= 0) return v.get_int64();
  if (v.is_uint64() &&
      v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(v.get_uint64());
  }
  // 9.2e18 stays below INT64_MAX (9.22e18), so the conversion cannot overflow.
  if (v.is_double() && v.get_double() >= 0 && v.get_double() < 9.2e18) {
    return static_cast<std::int64_t>(v.get_double());
  }
  return std::nullopt;
}

// A decoded record flowing through the steps of a sub-topology.
struct record {
  boost::json::value key;    // null for a record without a key
  boost::json::value value;  // null for a tombstone
  std::int64_t timestamp = 0;
  std::vector<header> headers;
  record_origin origin;
};

// A record to write: the destination topic and encoded key and value.
struct output_record {
  std::string topic;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::int64_t timestamp = 0;
  std::vector<header> headers;
  bool operator==(const output_record&) const = default;
};

}  // namespace sluice::operators
