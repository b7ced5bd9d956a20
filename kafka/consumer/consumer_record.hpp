#pragma once

// A record as the consumer hands it out. It owns nothing itself but keeps alive, through a
// shared pointer, the fetched buffer its key, value and headers point into: handing out a batch of
// records costs no allocation per record, and records stay valid as long as the caller keeps them
// (after later fetches, seeks and even after the consumer is gone).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "kafka/protocol/wire.hpp"
#include "kafka/records/record.hpp"
#include "kafka/records/record_batch.hpp"

namespace sluice::kafka {

struct consumer_record {
  std::string_view topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp = 0;
  records::timestamp_type timestamp_type = records::timestamp_type::create_time;
  // The partition leader epoch of the batch (KIP-320), -1 if unknown.
  std::int32_t leader_epoch = -1;
  std::optional<protocol::bytes_view> key;
  std::optional<protocol::bytes_view> value;
  std::span<const records::header_view> headers;
  // Keeps the buffer the views above point into alive.
  std::shared_ptr<const void> owner;

  std::string_view key_string() const {
    return key ? protocol::as_string_view(*key) : std::string_view{};
  }
  std::string_view value_string() const {
    return value ? protocol::as_string_view(*value) : std::string_view{};
  }
  // An owning copy of the record's contents.
  records::record to_record() const {
    return records::record_view{offset, timestamp, key, value, headers}.to_record();
  }
};

}  // namespace sluice::kafka
