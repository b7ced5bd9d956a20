#pragma once

// The compression codecs of record batches: the low three bits of a batch's attributes
// (https://kafka.apache.org/documentation/#recordbatch). Formats follow what the Java client
// writes, so brokers and every other client read ours:
//   gzip    RFC 1952 gzip members (zlib); concatenated members are read too.
//   snappy  snappy-java's "xerial" framing: a 16-byte header, then [int32 length][raw snappy]
//           blocks of at most 32 KiB input. Raw (unframed) snappy, as librdkafka writes, is read.
//   lz4     the standard LZ4 frame format (lz4frame.h), independent 64 KiB blocks (KIP-57 fixed
//           the header checksum for magic >= 1; v2 batches always use the correct one).
//   zstd    zstd frames (KIP-110), decoded as a stream because frames may omit their content size.
// Levels follow KIP-390: gzip 1..9, lz4 1..17, zstd -131072..22; snappy has none.
//
// Decompression takes an output limit so a small hostile batch cannot expand into gigabytes.
// The `_to` forms append to a caller's buffer so the hot path reuses one allocation.

#include <climits>
#include <cstddef>
#include <cstdint>
#include <system_error>

#include "kafka/protocol/wire.hpp"

namespace sluice::kafka::records {

enum class compression : std::int8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

inline constexpr compression all_compressions[] = {
    compression::none, compression::gzip, compression::snappy, compression::lz4, compression::zstd};

// "none", "gzip", ... (Kafka's compression.type names); "unknown" otherwise.
const char* to_string(compression codec) noexcept;

// Asks for the codec's own default level (gzip 6, lz4 9, zstd 3), as the Java client does; lz4
// at 9 (default or explicit) is lz4's fast mode, as in the Java client, other levels LZ4HC.
inline constexpr int default_compression_level = INT_MIN;

// Whether `level` is valid for `codec` (default_compression_level always is).
bool valid_compression_level(compression codec, int level) noexcept;

// Appends the compressed form of `input` to `out`. On failure `out` is left as it was.
std::error_code compress_to(compression codec, protocol::bytes_view input, int level,
                            protocol::bytes& out);

// Appends the decompressed form of `input` to `out`, failing with decompressed_too_large rather
// than appending more than `max_output` bytes. On failure `out` is left as it was.
std::error_code decompress_to(compression codec, protocol::bytes_view input, std::size_t max_output,
                              protocol::bytes& out);

// Result of the allocating forms: `data` is empty when `error` is set.
struct codec_output {
  protocol::bytes data;
  std::error_code error;
};

codec_output compress(compression codec, protocol::bytes_view input,
                      int level = default_compression_level);
codec_output decompress(compression codec, protocol::bytes_view input, std::size_t max_output);

}  // namespace sluice::kafka::records
