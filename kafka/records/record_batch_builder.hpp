#pragma once

// Builds one v2 record batch (see record_batch.hpp). Records are encoded as they are appended
// into one growing buffer (no per-record allocation); build() adds the header, compresses and
// checksums. build() is const and deterministic: a producer retrying a batch re-sends identical
// bytes, which the idempotent producer's sequence numbers rely on (KIP-98). Producer id, epoch
// and base sequence can be set after the records, because an idempotent producer assigns them
// when the batch is drained, and reassigns them after an epoch bump (KIP-360).
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
  // Throws std::invalid_argument for a compression level outside the codec's range.
  explicit record_batch_builder(record_batch_builder_options options = {});

  // Appends a record at the next offset. Timestamps are in milliseconds since the epoch.
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
  std::size_t estimated_size() const { return batch_layout::header_size + records_.size(); }
  const record_batch_builder_options& options() const { return options_; }

  // Appends the batch to `out`; appends nothing for an empty builder (Kafka has no empty
  // producer batches). Fails only if the codec fails; `out` is then unchanged.
  std::error_code build_to(protocol::bytes& out) const;
  // Throws std::system_error when build_to fails.
  protocol::bytes build() const;

  // Drops the records but keeps the buffer and the options, to fill the next batch.
  void clear();

 private:
  template <typename Headers>
  void append_record(std::int64_t timestamp, std::optional<protocol::bytes_view> key,
                     std::optional<protocol::bytes_view> value, const Headers& headers);

  record_batch_builder_options options_;
  protocol::bytes records_;
  std::int32_t record_count_ = 0;
  std::int64_t base_timestamp_ = 0;
  std::int64_t max_timestamp_ = 0;
};

}  // namespace sluice::kafka::records
