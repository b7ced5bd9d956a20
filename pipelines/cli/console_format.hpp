#pragma once

// Text in and out of the console producer and consumer (`sluice produce`, `sluice consume`),
// kept free of I/O so that it is unit-tested without a broker.
//
//   produce: one record per line; with --key-separator S the key is what comes before the first
//            S and the value what follows (Kafka's console producer with parse.key=true: a line
//            without S is an error naming the line, never a record with a guessed key).
//   consume: each record printed through a format string (kcat -f style):
//            %t topic  %p partition  %o offset  %k key  %v value  %h headers (k=v,k=v)
//            %T timestamp (ms since the epoch)  %% a percent sign; \n \t \\ escapes.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka/records/record.hpp"

namespace sluice::cli {

// One piece of a parsed --format: literal text, or a record field.
struct format_part {
  enum class kind : std::uint8_t { text, topic, partition, offset, key, value, headers, timestamp };
  kind what = kind::text;
  std::string text;  // for kind::text
  bool operator==(const format_part&) const = default;
};

using record_format = std::vector<format_part>;

// Parses a --format string; throws usage_error naming the bad directive and its position.
record_format parse_record_format(std::string_view text);

// What a format prints from one record (views into the record's buffers).
struct record_fields {
  std::string_view topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp = 0;
  std::optional<std::string_view> key;    // null prints as nothing
  std::optional<std::string_view> value;  // null prints as nothing
  std::span<const kafka::records::header_view> headers;
};

// Appends the formatted record to `out` (no line end: the format decides).
void append_formatted(const record_format& format, const record_fields& record, std::string& out);

// A line of `sluice produce` input, split into key and value.
struct split_line_result {
  std::optional<std::string_view> key;  // nullopt without a separator
  std::string_view value;
};

// Splits `line` (without its line end) at the first `separator`; an empty separator means no
// keys (the whole line is the value). Throws usage_error naming `line_number` when the separator
// is set but missing from the line.
split_line_result split_line(std::string_view line, std::string_view separator,
                             std::int64_t line_number);

// "key=value" for --header (the value may contain '='; "key" alone is a header with a null value).
kafka::records::record_header parse_header(const std::string& text);

}  // namespace sluice::cli
