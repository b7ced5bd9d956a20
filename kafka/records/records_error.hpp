#pragma once

// Why building or reading record batches failed. Record data arrives from the network (fetch
// responses) and from the application (produce), so every failure is a value, never a crash;
// the code names what is wrong so a consumer can say so in its error message.

#include <cstdint>
#include <system_error>

namespace sluice::kafka::records {

enum class records_errc : std::uint8_t {
  bad_crc = 1,                // the stored CRC does not match the batch contents
  bad_magic,                  // a magic byte this decoder does not read
  batch_too_small,            // a batch length smaller than the fixed batch header
  truncated_record,           // a record (or its length) runs past the end of its batch
  bad_varint,                 // a varint longer than its type allows
  invalid_record,             // a negative length where none is allowed, or a size mismatch
  record_count_mismatch,      // the batch's record count disagrees with the records it holds
  unsupported_compression,    // compression bits outside none/gzip/snappy/lz4/zstd
  decompression_failed,       // the codec rejected the compressed data
  decompressed_too_large,     // decompressing would exceed the caller's output limit
  compression_failed,         // the codec failed to compress (out of memory, bad level)
  invalid_compression_level,  // a level outside the codec's range (KIP-390)
  invalid_control_record,     // a control batch whose record key is not a control key
};

const std::error_category& records_category() noexcept;

inline std::error_code make_error_code(records_errc code) noexcept {
  return {static_cast<int>(code), records_category()};
}

}  // namespace sluice::kafka::records

template <>
struct std::is_error_code_enum<sluice::kafka::records::records_errc> : std::true_type {};
