#include "kafka/records/compression.hpp"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <memory>

#include "kafka/records/records_error.hpp"

namespace sluice::kafka::records {
namespace {

using protocol::bytes;
using protocol::bytes_view;

constexpr int gzip_default_level = 6;  // zlib's Z_DEFAULT_COMPRESSION, as java.util.zip uses
// Kafka's CompressionType.LZ4 default level is 9 (KIP-390), yet the Java client's
// Lz4BlockOutputStream compresses at that level with lz4's fast compressor "for backward
// compatibility" and uses LZ4HC only for another level set explicitly. We do the same: HC at 9
// costs 1.6x the CPU per record (1 KB records of bench/run.py) for the same stored size.
constexpr int java_lz4_default_level = 9;
constexpr int lz4_fast_mode = 1;  // lz4frame: levels below 3 are the fast mode (acceleration 1)
constexpr int zstd_default_level = 3;      // ZSTD_CLEVEL_DEFAULT
constexpr int gzip_window_bits = 15 + 16;  // +16: gzip wrapper instead of zlib's
constexpr int gzip_mem_level = 8;
constexpr std::size_t initial_output_guess = 4096;

// snappy-java's SnappyCodec header: magic, then format version 1 and minimum compatible
// version 1 as big-endian int32s. Block size is SnappyOutputStream's default.
constexpr std::array<std::uint8_t, 8> xerial_magic = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr std::int32_t xerial_version = 1;
constexpr std::size_t xerial_header_size = xerial_magic.size() + 8;
constexpr std::size_t xerial_block_size = 32 * 1024;

std::error_code error(records_errc code) {
  return make_error_code(code);
}

int effective_level(compression codec, int level) {
  if (codec == compression::lz4 &&
      (level == default_compression_level || level == java_lz4_default_level)) {
    return lz4_fast_mode;
  }
  if (level != default_compression_level) return level;
  switch (codec) {
    case compression::gzip:
      return gzip_default_level;
    case compression::zstd:
      return zstd_default_level;
    default:
      return 0;
  }
}

// Appends to `out` past `start`, growing geometrically up to `limit` appended bytes, so a
// streaming decoder never writes more than the caller allowed. finish() trims the spare room;
// abandon() restores `out`.
class bounded_output {
 public:
  bounded_output(bytes& out, std::size_t limit, std::size_t expected)
      : out_(out), start_(out.size()), limit_(limit) {
    out_.resize(start_ + std::min(limit_, std::max(expected, initial_output_guess)));
  }

  std::byte* free_begin() { return out_.data() + start_ + produced_; }
  std::size_t free_size() const { return out_.size() - start_ - produced_; }
  void commit(std::size_t written) { produced_ += written; }

  // Makes room for more output; false when the limit is reached.
  bool grow() {
    auto capacity = out_.size() - start_;
    if (capacity >= limit_) return false;
    out_.resize(start_ + std::min(limit_, std::max(capacity * 2, initial_output_guess)));
    return true;
  }

  void finish() { out_.resize(start_ + produced_); }
  void abandon() { out_.resize(start_); }

 private:
  bytes& out_;
  std::size_t start_;
  std::size_t limit_;
  std::size_t produced_ = 0;
};

// ---- gzip -------------------------------------------------------------------------------------

class zlib_stream {
 public:
  ~zlib_stream() {
    if (!initialised_) return;
    deflating_ ? deflateEnd(&stream_) : inflateEnd(&stream_);
  }
  bool init_deflate(int level) {
    deflating_ = true;
    initialised_ = deflateInit2(&stream_, level, Z_DEFLATED, gzip_window_bits, gzip_mem_level,
                                Z_DEFAULT_STRATEGY) == Z_OK;
    return initialised_;
  }
  bool init_inflate() {
    initialised_ = inflateInit2(&stream_, gzip_window_bits) == Z_OK;
    return initialised_;
  }
  z_stream* get() { return &stream_; }

 private:
  z_stream stream_{};
  bool initialised_ = false;
  bool deflating_ = false;
};

Bytef* zlib_in(bytes_view input) {
  return reinterpret_cast<Bytef*>(const_cast<std::byte*>(input.data()));
}

std::error_code gzip_compress(bytes_view input, int level, bytes& out) {
  zlib_stream stream;
  if (!stream.init_deflate(level)) return error(records_errc::compression_failed);
  auto* z = stream.get();
  auto start = out.size();
  auto bound = deflateBound(z, static_cast<uLong>(input.size()));
  out.resize(start + bound);
  z->next_in = zlib_in(input);
  z->avail_in = static_cast<uInt>(input.size());
  z->next_out = reinterpret_cast<Bytef*>(out.data() + start);
  z->avail_out = static_cast<uInt>(bound);
  if (deflate(z, Z_FINISH) != Z_STREAM_END) {
    out.resize(start);
    return error(records_errc::compression_failed);
  }
  out.resize(start + z->total_out);
  return {};
}

std::error_code gzip_decompress(bytes_view input, std::size_t max_output, bytes& out) {
  if (input.empty()) return error(records_errc::decompression_failed);
  zlib_stream stream;
  if (!stream.init_inflate()) return error(records_errc::decompression_failed);
  auto* z = stream.get();
  bounded_output output(out, max_output, input.size() * 4);
  z->next_in = zlib_in(input);
  z->avail_in = static_cast<uInt>(input.size());
  for (;;) {
    if (output.free_size() == 0 && !output.grow()) {
      output.abandon();
      return error(records_errc::decompressed_too_large);
    }
    z->next_out = reinterpret_cast<Bytef*>(output.free_begin());
    z->avail_out = static_cast<uInt>(output.free_size());
    auto before = z->avail_out;
    int status = inflate(z, Z_NO_FLUSH);
    output.commit(before - z->avail_out);
    if (status == Z_STREAM_END) {
      if (z->avail_in == 0) break;
      // java.util.zip.GZIPInputStream reads concatenated members; so do we.
      if (inflateReset(z) != Z_OK) break;
      continue;
    }
    bool stalled = status == Z_BUF_ERROR && z->avail_out != 0;  // input ended mid-stream
    if ((status != Z_OK && status != Z_BUF_ERROR) || stalled) {
      output.abandon();
      return error(records_errc::decompression_failed);
    }
  }
  output.finish();
  return {};
}

// ---- snappy -----------------------------------------------------------------------------------

void put_int32(std::byte* at, std::uint32_t value) {
  for (int i = 3; i >= 0; --i) {
    at[i] = static_cast<std::byte>(value & 0xff);
    value >>= 8;
  }
}

std::error_code snappy_compress(bytes_view input, bytes& out) {
  protocol::writer header(out);
  header.raw(std::as_bytes(std::span(xerial_magic)));
  header.int32(xerial_version);
  header.int32(xerial_version);
  for (std::size_t offset = 0; offset < input.size(); offset += xerial_block_size) {
    auto block = input.subspan(offset, std::min(xerial_block_size, input.size() - offset));
    auto length_at = out.size();
    out.resize(length_at + 4 + snappy::MaxCompressedLength(block.size()));
    std::size_t written = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(block.data()), block.size(),
                        reinterpret_cast<char*>(out.data() + length_at + 4), &written);
    put_int32(out.data() + length_at, static_cast<std::uint32_t>(written));
    out.resize(length_at + 4 + written);
  }
  return {};
}

// One raw snappy block, appended to `out` within what is left of the limit.
std::error_code snappy_raw_block(bytes_view block, std::size_t& budget, bytes& out) {
  const auto* data = reinterpret_cast<const char*>(block.data());
  std::size_t length = 0;
  if (!snappy::GetUncompressedLength(data, block.size(), &length)) {
    return error(records_errc::decompression_failed);
  }
  if (length > budget) return error(records_errc::decompressed_too_large);
  auto at = out.size();
  out.resize(at + length);
  if (!snappy::RawUncompress(data, block.size(), reinterpret_cast<char*>(out.data() + at))) {
    return error(records_errc::decompression_failed);
  }
  budget -= length;
  return {};
}

bool is_xerial(bytes_view input) {
  return input.size() >= xerial_header_size &&
         std::equal(xerial_magic.begin(), xerial_magic.end(), input.begin(),
                    [](std::uint8_t a, std::byte b) { return a == static_cast<std::uint8_t>(b); });
}

std::error_code snappy_decompress(bytes_view input, std::size_t max_output, bytes& out) {
  auto start = out.size();
  auto budget = max_output;
  std::error_code failure;
  if (!is_xerial(input)) {
    failure = snappy_raw_block(input, budget, out);
  } else {
    protocol::reader blocks(input.subspan(xerial_header_size));
    while (!failure && !blocks.at_end()) {
      auto length = blocks.int32();
      if (length < 0) blocks.fail(protocol::decode_error::negative_length);
      auto block = blocks.take(static_cast<std::size_t>(std::max(length, 0)));
      failure = blocks.ok() ? snappy_raw_block(block, budget, out)
                            : error(records_errc::decompression_failed);
    }
  }
  if (failure) out.resize(start);
  return failure;
}

// ---- lz4 --------------------------------------------------------------------------------------

struct lz4_cctx_deleter {
  void operator()(LZ4F_cctx* context) const { LZ4F_freeCompressionContext(context); }
};
struct lz4_dctx_deleter {
  void operator()(LZ4F_dctx* context) const { LZ4F_freeDecompressionContext(context); }
};

// Contexts are reused per thread: creating one allocates, and this runs once per batch.
LZ4F_cctx* lz4_compression_context() {
  thread_local std::unique_ptr<LZ4F_cctx, lz4_cctx_deleter> context = [] {
    LZ4F_cctx* created = nullptr;
    if (LZ4F_isError(LZ4F_createCompressionContext(&created, LZ4F_VERSION))) created = nullptr;
    return std::unique_ptr<LZ4F_cctx, lz4_cctx_deleter>(created);
  }();
  return context.get();
}

LZ4F_dctx* lz4_decompression_context() {
  thread_local std::unique_ptr<LZ4F_dctx, lz4_dctx_deleter> context = [] {
    LZ4F_dctx* created = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&created, LZ4F_VERSION))) created = nullptr;
    return std::unique_ptr<LZ4F_dctx, lz4_dctx_deleter>(created);
  }();
  return context.get();
}

std::error_code lz4_compress(bytes_view input, int level, bytes& out) {
  auto* context = lz4_compression_context();
  if (context == nullptr) return error(records_errc::compression_failed);
  LZ4F_preferences_t preferences{};
  // Kafka's KafkaLZ4BlockOutputStream: 64 KiB independent blocks, no block checksums.
  preferences.frameInfo.blockSizeID = LZ4F_max64KB;
  preferences.frameInfo.blockMode = LZ4F_blockIndependent;
  preferences.compressionLevel = level;
  auto start = out.size();
  auto bound = LZ4F_HEADER_SIZE_MAX + LZ4F_compressBound(input.size(), &preferences);
  out.resize(start + bound);
  auto* base = reinterpret_cast<char*>(out.data() + start);
  std::size_t written = LZ4F_compressBegin(context, base, bound, &preferences);
  if (!LZ4F_isError(written)) {
    auto body = LZ4F_compressUpdate(context, base + written, bound - written, input.data(),
                                    input.size(), nullptr);
    written = LZ4F_isError(body) ? body : written + body;
  }
  if (!LZ4F_isError(written)) {
    auto end = LZ4F_compressEnd(context, base + written, bound - written, nullptr);
    written = LZ4F_isError(end) ? end : written + end;
  }
  if (LZ4F_isError(written)) {
    out.resize(start);
    return error(records_errc::compression_failed);
  }
  out.resize(start + written);
  return {};
}

std::error_code lz4_decompress(bytes_view input, std::size_t max_output, bytes& out) {
  auto* context = lz4_decompression_context();
  if (context == nullptr || input.empty()) return error(records_errc::decompression_failed);
  LZ4F_resetDecompressionContext(context);
  bounded_output output(out, max_output, input.size() * 4);
  std::size_t consumed = 0;
  std::size_t hint = 1;
  while (consumed < input.size()) {
    if (output.free_size() == 0 && !output.grow()) {
      output.abandon();
      return error(records_errc::decompressed_too_large);
    }
    std::size_t out_size = output.free_size();
    std::size_t in_size = input.size() - consumed;
    hint = LZ4F_decompress(context, output.free_begin(), &out_size, input.data() + consumed,
                           &in_size, nullptr);
    if (LZ4F_isError(hint)) {
      output.abandon();
      return error(records_errc::decompression_failed);
    }
    if (in_size == 0 && out_size == 0 && output.free_size() != 0) {  // no progress: corrupt
      output.abandon();
      return error(records_errc::decompression_failed);
    }
    consumed += in_size;
    output.commit(out_size);
  }
  // Input is used up; flush what the context still buffers until the frame is complete.
  while (hint != 0) {
    if (output.free_size() == 0 && !output.grow()) {
      output.abandon();
      return error(records_errc::decompressed_too_large);
    }
    std::size_t out_size = output.free_size();
    std::size_t in_size = 0;
    hint = LZ4F_decompress(context, output.free_begin(), &out_size, nullptr, &in_size, nullptr);
    if (LZ4F_isError(hint) || out_size == 0) {  // no progress: the frame is truncated
      output.abandon();
      return error(records_errc::decompression_failed);
    }
    output.commit(out_size);
  }
  output.finish();
  return {};
}

// ---- zstd -------------------------------------------------------------------------------------

struct zstd_cctx_deleter {
  void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
};
struct zstd_dctx_deleter {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};

std::error_code zstd_compress(bytes_view input, int level, bytes& out) {
  thread_local std::unique_ptr<ZSTD_CCtx, zstd_cctx_deleter> context(ZSTD_createCCtx());
  if (!context) return error(records_errc::compression_failed);
  auto start = out.size();
  auto bound = ZSTD_compressBound(input.size());
  out.resize(start + bound);
  auto written = ZSTD_compressCCtx(context.get(), out.data() + start, bound, input.data(),
                                   input.size(), level);
  if (ZSTD_isError(written)) {
    out.resize(start);
    return error(records_errc::compression_failed);
  }
  out.resize(start + written);
  return {};
}

std::error_code zstd_decompress(bytes_view input, std::size_t max_output, bytes& out) {
  thread_local std::unique_ptr<ZSTD_DCtx, zstd_dctx_deleter> context(ZSTD_createDCtx());
  if (!context || input.empty()) return error(records_errc::decompression_failed);
  ZSTD_DCtx_reset(context.get(), ZSTD_reset_session_only);
  auto declared = ZSTD_getFrameContentSize(input.data(), input.size());
  std::size_t expected =
      declared < max_output ? static_cast<std::size_t>(declared) : input.size() * 4;
  bounded_output output(out, max_output, expected);
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  for (;;) {
    if (output.free_size() == 0 && !output.grow()) {
      output.abandon();
      return error(records_errc::decompressed_too_large);
    }
    ZSTD_outBuffer buffer{output.free_begin(), output.free_size(), 0};
    auto hint = ZSTD_decompressStream(context.get(), &buffer, &in);
    output.commit(buffer.pos);
    if (ZSTD_isError(hint)) {
      output.abandon();
      return error(records_errc::decompression_failed);
    }
    bool input_done = in.pos == in.size;
    if (hint == 0 && input_done) break;  // last frame complete (several frames are allowed)
    if (input_done && buffer.pos < buffer.size) {  // wants more input than there is
      output.abandon();
      return error(records_errc::decompression_failed);
    }
  }
  output.finish();
  return {};
}

}  // namespace

const char* to_string(compression codec) noexcept {
  switch (codec) {
    case compression::none:
      return "none";
    case compression::gzip:
      return "gzip";
    case compression::snappy:
      return "snappy";
    case compression::lz4:
      return "lz4";
    case compression::zstd:
      return "zstd";
  }
  return "unknown";
}

bool valid_compression_level(compression codec, int level) noexcept {
  if (level == default_compression_level) return true;
  switch (codec) {
    case compression::gzip:
      return level >= 1 && level <= 9;
    case compression::lz4:
      return level >= 1 && level <= 17;
    case compression::zstd:
      return level >= ZSTD_minCLevel() && level <= ZSTD_maxCLevel();
    case compression::none:
    case compression::snappy:
      return true;  // no levels: ignored
  }
  return false;
}

std::error_code compress_to(compression codec, protocol::bytes_view input, int level,
                            protocol::bytes& out) {
  if (!valid_compression_level(codec, level)) return error(records_errc::invalid_compression_level);
  level = effective_level(codec, level);
  switch (codec) {
    case compression::none:
      protocol::writer(out).raw(input);
      return {};
    case compression::gzip:
      return gzip_compress(input, level, out);
    case compression::snappy:
      return snappy_compress(input, out);
    case compression::lz4:
      return lz4_compress(input, level, out);
    case compression::zstd:
      return zstd_compress(input, level, out);
  }
  return error(records_errc::unsupported_compression);
}

std::error_code decompress_to(compression codec, protocol::bytes_view input, std::size_t max_output,
                              protocol::bytes& out) {
  switch (codec) {
    case compression::none:
      if (input.size() > max_output) return error(records_errc::decompressed_too_large);
      protocol::writer(out).raw(input);
      return {};
    case compression::gzip:
      return gzip_decompress(input, max_output, out);
    case compression::snappy:
      return snappy_decompress(input, max_output, out);
    case compression::lz4:
      return lz4_decompress(input, max_output, out);
    case compression::zstd:
      return zstd_decompress(input, max_output, out);
  }
  return error(records_errc::unsupported_compression);
}

codec_output compress(compression codec, protocol::bytes_view input, int level) {
  codec_output result;
  result.error = compress_to(codec, input, level, result.data);
  return result;
}

codec_output decompress(compression codec, protocol::bytes_view input, std::size_t max_output) {
  codec_output result;
  result.error = decompress_to(codec, input, max_output, result.data);
  return result;
}

}  // namespace sluice::kafka::records
