#pragma once

// Key and value formats of source and sink topics, and the serdes between Kafka bytes and the
// JSON documents operators work on. The binary encodings are Kafka's own, so topics read the
// same from Java tools: string = UTF-8 text (StringSerializer), int64 = 8 bytes big-endian
// (LongSerializer), double = IEEE 754 bits big-endian (DoubleSerializer), bytes = as is
// (ByteArraySerializer, carried inside the pipeline as a JSON string holding the raw bytes),
// json = JSON text. A null key or value (tombstone) is JSON null in every format.
//
// Bad input is never thrown: decode/encode return a processing_error naming the topic,
// partition, offset, whether the key or the value was bad, and what is wrong with it.

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "operators/processing_error.hpp"
#include "operators/record.hpp"

namespace sluice::operators {

enum class data_format : std::uint8_t { json, string, bytes, int64, double_ };

std::string_view to_string(data_format format);
// nullopt for an unknown name. Names: json, string, bytes, int64, double.
std::optional<data_format> parse_data_format(std::string_view name);

// JSON text of a value, with doubles in their shortest round-trip decimal form ("4.5", "12.0").
std::string to_json_text(const boost::json::value& value);

enum class record_part : std::uint8_t { key, value };

// The bytes as `format` reads them (nullopt: a null key or value, JSON null).
processing_result<boost::json::value> decode_bytes(data_format format,
                                                   std::optional<std::string_view> data,
                                                   record_part part, const record_origin& origin);
inline processing_result<boost::json::value> decode(data_format format,
                                                    const std::optional<std::string>& data,
                                                    record_part part, const record_origin& origin) {
  return decode_bytes(format, data ? std::optional<std::string_view>(*data) : std::nullopt, part,
                      origin);
}

// `origin` only names the record in an error (its topic is the destination topic).
processing_result<std::optional<std::string>> encode(data_format format,
                                                     const boost::json::value& value,
                                                     record_part part, const record_origin& origin);

}  // namespace sluice::operators
