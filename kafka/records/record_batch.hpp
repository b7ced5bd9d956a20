#pragma once

// The fixed header of a record batch, message format v2 (magic 2; KIP-98,
// https://kafka.apache.org/documentation/#recordbatch):
//
//   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32 |
//   attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64 |
//   producerId int64 | producerEpoch int16 | baseSequence int32 | recordCount int32 | records
//
// batchLength counts the bytes after itself; the CRC-32C covers attributes to the end, so the
// broker can rewrite baseOffset and partitionLeaderEpoch without recomputing it.
// record_batch_builder writes batches, record_batch_decoder reads them.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "kafka/protocol/wire.hpp"
#include "kafka/records/compression.hpp"

namespace sluice::kafka::records {

enum class timestamp_type : std::int8_t { create_time = 0, log_append_time = 1 };

namespace batch_layout {
inline constexpr std::size_t base_offset = 0;
inline constexpr std::size_t batch_length = 8;
inline constexpr std::size_t partition_leader_epoch = 12;
inline constexpr std::size_t magic = 16;
inline constexpr std::size_t crc = 17;
inline constexpr std::size_t attributes = 21;
inline constexpr std::size_t producer_id = 43;
inline constexpr std::size_t producer_epoch = 51;
inline constexpr std::size_t base_sequence = 53;
inline constexpr std::size_t records = 61;
// baseOffset + batchLength: the bytes not counted in batchLength.
inline constexpr std::size_t log_overhead = 12;
// Enough to read the magic byte, which says how to read the rest.
inline constexpr std::size_t header_up_to_magic = magic + 1;
inline constexpr std::size_t header_size = records;
}  // namespace batch_layout

inline constexpr std::int8_t magic_v2 = 2;

// Offsets and timestamps of a batch are base + delta. Corrupt input can make that overflow, so
// it wraps (two's complement) instead of being undefined behaviour.
inline std::int64_t wrapping_add(std::int64_t base, std::int64_t delta) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(base) +
                                   static_cast<std::uint64_t>(delta));
}
inline constexpr std::int64_t no_producer_id = -1;
inline constexpr std::int16_t no_producer_epoch = -1;
inline constexpr std::int32_t no_sequence = -1;
inline constexpr std::int32_t no_partition_leader_epoch = -1;

// The bits of the attributes field.
namespace batch_attributes {
inline constexpr std::int16_t compression_mask = 0x07;
inline constexpr std::int16_t timestamp_type_bit = 0x08;
inline constexpr std::int16_t transactional_bit = 0x10;
inline constexpr std::int16_t control_bit = 0x20;
// KIP-534: baseTimestamp holds the delete horizon of a compacted batch with tombstones.
inline constexpr std::int16_t delete_horizon_bit = 0x40;
}  // namespace batch_attributes

struct record_batch_header {
  std::int64_t base_offset = 0;
  std::int32_t batch_length = 0;
  std::int32_t partition_leader_epoch = no_partition_leader_epoch;
  std::int8_t magic = magic_v2;
  std::uint32_t crc = 0;
  std::int16_t attributes = 0;
  std::int32_t last_offset_delta = 0;
  std::int64_t base_timestamp = 0;
  std::int64_t max_timestamp = 0;
  std::int64_t producer_id = no_producer_id;
  std::int16_t producer_epoch = no_producer_epoch;
  std::int32_t base_sequence = no_sequence;
  std::int32_t record_count = 0;

  // Compression bits as stored; may be outside the enum for corrupt input (check supported).
  compression codec() const {
    return static_cast<compression>(attributes & batch_attributes::compression_mask);
  }
  timestamp_type timestamps() const {
    return (attributes & batch_attributes::timestamp_type_bit) != 0
               ? timestamp_type::log_append_time
               : timestamp_type::create_time;
  }
  bool is_transactional() const { return (attributes & batch_attributes::transactional_bit) != 0; }
  bool is_control() const { return (attributes & batch_attributes::control_bit) != 0; }
  bool has_delete_horizon() const {
    return (attributes & batch_attributes::delete_horizon_bit) != 0;
  }
  std::optional<std::int64_t> delete_horizon() const {
    if (!has_delete_horizon()) return std::nullopt;
    return base_timestamp;
  }

  std::int64_t last_offset() const { return wrapping_add(base_offset, last_offset_delta); }
  // Where the consumer continues, even when compaction removed this batch's last records.
  std::int64_t next_offset() const { return wrapping_add(last_offset(), 1); }
  std::size_t size_in_bytes() const {
    return batch_layout::log_overhead + static_cast<std::size_t>(batch_length);
  }

  bool operator==(const record_batch_header&) const = default;
};

// Reads the 61-byte header; the caller has checked that `data` holds at least that much.
record_batch_header read_record_batch_header(protocol::bytes_view data);

// Writes the header with batchLength and crc as given; record_batch_builder patches them.
void write_record_batch_header(protocol::writer& out, const record_batch_header& header);

// Gives a finished batch (`batch` holds exactly one) a new producer id, epoch and base sequence
// and recomputes its CRC: what building it again with them would give, without compressing the
// records again (an idempotent producer re-stamps queued batches after an epoch bump, KIP-360).
void restamp_record_batch(std::span<std::byte> batch, std::int64_t producer_id,
                          std::int16_t producer_epoch, std::int32_t base_sequence);

}  // namespace sluice::kafka::records
