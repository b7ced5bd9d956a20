#pragma once

// Builds one v2 record batch (see record_batch.hpp). Records are encoded as they are appended
// into one growing buffer that starts with room for the batch header (no per-record allocation,
// and a buffer handed in by the caller is reused: the producer pools them). Two ways out:
//   finish_into()  the producer's: an uncompressed batch gets its header and CRC in place and the
//                  buffer itself is handed over, so the records are never copied again; a
//                  compressed one is compressed into the caller's buffer. The builder then takes
//                  no more records.
//   build_to()     const, a copy: header, (compressed) records, CRC appended to any buffer.
// Both are deterministic and give the same bytes: a producer retrying a batch re-sends identical
// bytes, which the idempotent producer's sequence numbers rely on (KIP-98). Producer id, epoch
// and base sequence can be set after the records, because an idempotent producer assigns them
// when the batch is drained, and reassigns them after an epoch bump (KIP-360;
// restamp_record_batch patches a finished batch).
//
// Not thread-safe; owned by whoever fills the batch (one producer partition queue).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>

#include "kafka/protocol/wire.hpp"
#include "kafka/records/compression.hpp"
#include "kafka/records/record.hpp"
#include "kafka/records/record_batch.hpp"

namespace sluice::kafka::records {

struct record_batch_builder_options {
  compression codec = compression::none;
  int level = default_compression_level;
  std::int64_t base_offset = 0;  // producers send 0; the broker assigns offsets
  std::int32_t partition_leader_epoch = no_partition_leader_epoch;
  std::int64_t producer_id = no_producer_id;
  std::int16_t producer_epoch = no_producer_epoch;
  std::int32_t base_sequence = no_sequence;
  bool transactional = false;
  bool control = false;
  timestamp_type timestamps = timestamp_type::create_time;
};

class record_batch_builder {
 public:
  // Throws std::invalid_argument for a compression level outside the codec's range. `buffer` is
  // reused for the records (its contents are dropped, its capacity kept).
  explicit record_batch_builder(record_batch_builder_options options = {},
                                protocol::bytes buffer = {});

  // Appends a record at the next offset (not after finish_into()). Timestamps are in milliseconds
  // since the epoch.
  void append(std::int64_t timestamp, std::optional<protocol::bytes_view> key,
              std::optional<protocol::bytes_view> value, std::span<const header_view> headers = {});
  // Uses the record's timestamp, key, value and headers; its offset is ignored.
  void append(const record& source);
  void append(const record_view& source);

  void set_producer_state(std::int64_t producer_id, std::int16_t producer_epoch,
                          std::int32_t base_sequence);

  std::int32_t record_count() const { return record_count_; }
  bool empty() const { return record_count_ == 0; }
  // Header plus uncompressed records: an upper estimate for batch.size accounting.
  std::size_t estimated_size() const { return size_; }
  bool finished() const { return finished_; }
  const record_batch_builder_options& options() const { return options_; }

  // Appends the batch to `out`; appends nothing for an empty builder (Kafka has no empty
  // producer batches). Fails only if the codec fails; `out` is then unchanged.
  std::error_code build_to(protocol::bytes& out) const;
  // Throws std::system_error when build_to fails.
  protocol::bytes build() const;

  // Finishes the batch (the same bytes build_to() would append) into `out`, which must not be
  // the builder's own. Uncompressed: the header and CRC are written in place and the builder's
  // buffer is swapped with `out`, so `out` holds the batch and the builder `out`'s old buffer.
  // Compressed: `out` is cleared and gets the batch; the builder keeps its records. Either way
  // the builder takes no more records, and release_buffer() gives back what it holds. Nothing
  // happens for an empty builder. Fails only if the codec fails (`out` is then unspecified).
  std::error_code finish_into(protocol::bytes& out);
  // The builder's buffer, for reuse (the builder then holds no records' bytes; record_count()
  // and estimated_size() still tell what it held).
  protocol::bytes release_buffer();

  // Drops the records but keeps the buffer and the options, to fill the next batch.
  void clear();

 private:
  template <typename Headers>
  void append_record(std::int64_t timestamp, std::optional<protocol::bytes_view> key,
                     std::optional<protocol::bytes_view> value, const Headers& headers);

  record_batch_header batch_header() const;

  record_batch_builder_options options_;
  // The batch header's room (written by finish_into), then the records.
  protocol::bytes buffer_;
  std::size_t size_ = batch_layout::header_size;
  bool finished_ = false;
  std::int32_t record_count_ = 0;
  std::int64_t base_timestamp_ = 0;
  std::int64_t max_timestamp_ = 0;
};

}  // namespace sluice::kafka::records
