#include "kafka/records/record_batch.hpp"

#include <algorithm>

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

}  // namespace sluice::kafka::records
