#pragma once

// A record batch the caller fills itself and hands to the producer whole (aiokafka's
// BatchBuilder, from `producer.create_batch()`; sent with `producer.send_batch()`):
//
//   auto batch = p.create_batch();
//   while (batch.append(key, value))  // nullopt once the next record would pass batch_size
//     ...
//   auto handle = co_await p.send_batch(std::move(batch), "orders", 3);
//   record_metadata first = co_await handle.get();  // the batch's base offset
//
// For callers that choose their partition and want one batch per request: it skips the
// partitioner and the linger wait (the batch is sent as soon as the sender sees it), and it keeps
// the records of one batch together in one ProduceRequest, one offset after another. Records are
// encoded as they are appended, with the producer's compression, and compressed once when sent.
//
// Lifetime: a plain value, owned by the caller until send_batch() takes it. Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "kafka/client/identifiers.hpp"
#include "kafka/protocol/wire.hpp"
#include "kafka/records/record.hpp"
#include "kafka/records/record_batch_builder.hpp"

namespace sluice::kafka {

// What append() tells about a record it took (aiokafka's BatchBuilder.append result, without the
// CRC, which v2 batches keep per batch, not per record).
struct batch_record_metadata {
  // The record's offset within the batch (its offset is the batch's base offset plus this).
  std::int32_t index = 0;
  // The record's create timestamp (ms since the epoch).
  std::int64_t timestamp = -1;
  // The bytes the record adds to the batch, framing included (an upper bound, uncompressed).
  std::size_t size = 0;
  bool operator==(const batch_record_metadata&) const = default;
};

class batch_builder {
 public:
  // `batch_size` bounds the batch's uncompressed size (the producer passes its batch_size).
  batch_builder(records::record_batch_builder_options options, std::size_t batch_size);

  // Appends a record, or returns nullopt (taking nothing) when the batch already holds records
  // and this one would take it past batch_size. The first record is always taken, however large
  // (send_batch() then checks it against max_request_size). `timestamp` defaults to now. Throws
  // std::logic_error once the batch was handed to send_batch().
  std::optional<batch_record_metadata> append(std::optional<protocol::bytes_view> key,
                                              std::optional<protocol::bytes_view> value,
                                              std::optional<timestamp_ms> timestamp = std::nullopt,
                                              std::span<const records::header_view> headers = {});

  std::int32_t record_count() const { return builder_.record_count(); }
  bool empty() const { return builder_.empty(); }
  // The batch's size so far: header plus uncompressed records (what batch_size bounds).
  std::size_t size() const { return builder_.estimated_size(); }
  std::size_t batch_size() const { return batch_size_; }

 private:
  friend class producer;
  records::record_batch_builder builder_;
  std::size_t batch_size_;
  std::vector<std::int64_t> timestamps_;
  // The sum of the records' buffer-memory estimates (what the producer's buffer_memory counts).
  std::size_t reserved_ = 0;
  bool sent_ = false;
};

}  // namespace sluice::kafka
