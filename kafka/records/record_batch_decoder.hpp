#pragma once

// Reads the `records` bytes of a fetch response partition: zero or more v2 batches back to
// back, possibly ending in a batch the broker cut off at the fetch size limit (normal, not an
// error: KIP-74 lets the consumer fetch again from that batch's offset).
//
//   record_batch_decoder decoder(partition.records);
//   while (const auto* batch = decoder.next()) {
//     for (const auto& r : decoder.records()) ...
//   }
//   if (decoder.error()) ...   // corrupt: says what is wrong
//
// next() reads a batch header and checks the CRC; records() decodes (and decompresses) that
// batch only when asked, so a read_committed consumer skips aborted batches without
// decompressing them. Corrupt input stops the iteration with an error value; nothing reads
// outside the input.
//
// Record views point into the input (uncompressed batches) or into a buffer the decoder reuses
// for every batch (compressed ones): they are valid until the next call to next() or reset(),
// and the input must outlive them. Copy with record_view::to_record() to keep a record longer.
// Scratch buffers (decompressed bytes, record and header views) keep their capacity across
// batches and reset(), so a long-lived decoder stops allocating once warmed up.
//
// Not thread-safe; one decoder per fetch-handling strand.

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

#include "kafka/protocol/wire.hpp"
#include "kafka/records/record.hpp"
#include "kafka/records/record_batch.hpp"

namespace sluice::kafka::records {

struct record_batch_decoder_options {
  bool verify_crc = true;
  // Largest decompressed batch accepted; a guard against decompression bombs.
  std::size_t max_decompressed_size = std::size_t{256} << 20;
};

class record_batch_decoder {
 public:
  explicit record_batch_decoder(protocol::bytes_view input,
                                record_batch_decoder_options options = {});

  // Starts over on new input, keeping the scratch buffers.
  void reset(protocol::bytes_view input);

  // The next batch's header, or nullptr at the end of the input, at a partial trailing batch
  // (partial_tail()), or on corrupt input (error()).
  const record_batch_header* next();

  // The records of the batch next() returned, decoded on the first call. Empty (with error()
  // set) if they are corrupt; also empty for a batch compaction emptied.
  std::span<const record_view> records();

  // The whole current batch as it appears in the input (e.g. to forward it unchanged).
  protocol::bytes_view batch_bytes() const { return batch_; }

  std::error_code error() const { return error_; }
  // True when the input ended inside a batch.
  bool partial_tail() const { return partial_tail_; }
  // Bytes of the input taken by the batches returned so far.
  std::size_t position() const { return position_; }
  // Base offset of the batch being read when the error occurred (for error messages).
  std::int64_t error_batch_offset() const { return error_ ? header_.base_offset : -1; }

 private:
  const record_batch_header* fail(std::error_code code);
  std::error_code decode_records(protocol::bytes_view payload);

  protocol::bytes_view input_;
  record_batch_decoder_options options_;
  std::size_t position_ = 0;
  record_batch_header header_;
  protocol::bytes_view batch_;
  bool have_batch_ = false;
  bool records_decoded_ = false;
  bool partial_tail_ = false;
  std::error_code error_;

  protocol::bytes decompressed_;
  std::vector<record_view> records_;
  std::vector<header_view> headers_;
  std::vector<std::size_t> header_starts_;
};

}  // namespace sluice::kafka::records
