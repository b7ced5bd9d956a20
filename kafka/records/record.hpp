#pragma once

// One Kafka record, in two forms:
//   record       owns its bytes; what a producer hands in and what outlives a fetch.
//   record_view  points into a fetched (or decompressed) buffer; what the decoder yields, so the
//                consume path does not allocate per record. It is only valid while the buffer
//                it came from is (see record_batch_decoder).
// Keys, values and header values are nullable; a null value is a tombstone for compaction.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/protocol/wire.hpp"

namespace sluice::kafka::records {

struct record_header {
  std::string key;
  std::optional<protocol::bytes> value;
  bool operator==(const record_header&) const = default;
};

struct header_view {
  std::string_view key;
  std::optional<protocol::bytes_view> value;
};

struct record {
  std::int64_t offset = 0;
  std::int64_t timestamp = 0;
  std::optional<protocol::bytes> key;
  std::optional<protocol::bytes> value;
  std::vector<record_header> headers;
  bool operator==(const record&) const = default;
};

struct record_view {
  std::int64_t offset = 0;
  std::int64_t timestamp = 0;
  std::optional<protocol::bytes_view> key;
  std::optional<protocol::bytes_view> value;
  std::span<const header_view> headers;

  // An owning copy, for records that must outlive the fetch buffer.
  record to_record() const {
    auto copy = [](std::optional<protocol::bytes_view> view) -> std::optional<protocol::bytes> {
      if (!view) return std::nullopt;
      return protocol::bytes(view->begin(), view->end());
    };
    record owned{offset, timestamp, copy(key), copy(value), {}};
    owned.headers.reserve(headers.size());
    for (const auto& header : headers)
      owned.headers.push_back({std::string(header.key), copy(header.value)});
    return owned;
  }
};

}  // namespace sluice::kafka::records
