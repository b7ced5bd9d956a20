#include "kafka/records/record_batch.hpp"

#include <algorithm>

#include "kafka/records/crc32c.hpp"

namespace sluice::kafka::records {

record_batch_header read_record_batch_header(protocol::bytes_view data) {
  protocol::reader in(data.first(std::min(data.size(), batch_layout::header_size)));
  record_batch_header header;
  header.base_offset = in.int64();
  header.batch_length = in.int32();
  header.partition_leader_epoch = in.int32();
  header.magic = in.int8();
  header.crc = in.uint32();
  header.attributes = in.int16();
  header.last_offset_delta = in.int32();
  header.base_timestamp = in.int64();
  header.max_timestamp = in.int64();
  header.producer_id = in.int64();
  header.producer_epoch = in.int16();
  header.base_sequence = in.int32();
  header.record_count = in.int32();
  return header;
}

void write_record_batch_header(protocol::writer& out, const record_batch_header& header) {
  out.int64(header.base_offset);
  out.int32(header.batch_length);
  out.int32(header.partition_leader_epoch);
  out.int8(header.magic);
  out.uint32(header.crc);
  out.int16(header.attributes);
  out.int32(header.last_offset_delta);
  out.int64(header.base_timestamp);
  out.int64(header.max_timestamp);
  out.int64(header.producer_id);
  out.int16(header.producer_epoch);
  out.int32(header.base_sequence);
  out.int32(header.record_count);
}

namespace {

template <typename Unsigned>
void put_big_endian(std::span<std::byte> at, Unsigned value) {
  for (std::size_t i = sizeof(Unsigned); i > 0; --i) {
    at[i - 1] = static_cast<std::byte>(value & 0xffU);
    value = static_cast<Unsigned>(value >> 8U);
  }
}

}  // namespace

void restamp_record_batch(std::span<std::byte> batch, std::int64_t producer_id,
                          std::int16_t producer_epoch, std::int32_t base_sequence) {
  put_big_endian(batch.subspan(batch_layout::producer_id), static_cast<std::uint64_t>(producer_id));
  put_big_endian(batch.subspan(batch_layout::producer_epoch),
                 static_cast<std::uint16_t>(producer_epoch));
  put_big_endian(batch.subspan(batch_layout::base_sequence),
                 static_cast<std::uint32_t>(base_sequence));
  put_big_endian(batch.subspan(batch_layout::crc),
                 crc32c(protocol::bytes_view(batch).subspan(batch_layout::attributes)));
}

}  // namespace sluice::kafka::records
