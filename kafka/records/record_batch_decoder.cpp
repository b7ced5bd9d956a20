#include "kafka/records/record_batch_decoder.hpp"

#include "kafka/records/compression.hpp"
#include "kafka/records/crc32c.hpp"
#include "kafka/records/records_error.hpp"

namespace sluice::kafka::records {
namespace {

using protocol::bytes_view;
using protocol::decode_error;

// The smallest v2 record: length, attributes, timestampDelta, offsetDelta, key length, value
// length and header count, one byte each. Bounds a hostile record count before reserving.
constexpr std::size_t min_record_size = 7;
// Legacy (magic 0/1) messages are at least this long (LegacyRecord.RECORD_OVERHEAD_V0).
constexpr std::int32_t min_legacy_record_size = 14;
constexpr std::int32_t min_batch_length =
    static_cast<std::int32_t>(batch_layout::header_size - batch_layout::log_overhead);
constexpr auto max_codec = static_cast<std::int16_t>(compression::zstd);
constexpr std::int32_t null_length = -1;

std::error_code from_reader(const protocol::reader& in) {
  switch (in.error()) {
    case decode_error::none:
      return {};
    case decode_error::varint_too_long:
      return make_error_code(records_errc::bad_varint);
    case decode_error::truncated:
      return make_error_code(records_errc::truncated_record);
    default:
      return make_error_code(records_errc::invalid_record);
  }
}

std::int32_t read_int32_at(bytes_view data, std::size_t at) {
  protocol::reader in(data.subspan(at, 4));
  return in.int32();
}

// A length-prefixed nullable field of a record: -1 is null, other negatives are corrupt.
std::optional<bytes_view> read_nullable(protocol::reader& in) {
  auto length = in.varint();
  if (length == null_length || !in.ok()) return std::nullopt;
  if (length < 0) {
    in.fail(decode_error::negative_length);
    return std::nullopt;
  }
  return in.take(static_cast<std::size_t>(length));
}

}  // namespace

record_batch_decoder::record_batch_decoder(bytes_view input, record_batch_decoder_options options)
    : input_(input), options_(options) {}

void record_batch_decoder::reset(bytes_view input) {
  input_ = input;
  position_ = 0;
  header_ = {};
  batch_ = {};
  have_batch_ = records_decoded_ = partial_tail_ = false;
  error_.clear();
  records_.clear();
  headers_.clear();
}

const record_batch_header* record_batch_decoder::fail(std::error_code code) {
  error_ = code;
  have_batch_ = false;
  return nullptr;
}

// Follows the Java client's ByteBufferLogInputStream: the length and magic are validated before
// deciding that the input merely ends early, so garbage is reported rather than waited for.
const record_batch_header* record_batch_decoder::next() {
  have_batch_ = records_decoded_ = false;
  records_.clear();
  headers_.clear();
  if (error_ || partial_tail_) return nullptr;
  auto rest = input_.subspan(position_);
  if (rest.empty()) return nullptr;
  if (rest.size() < batch_layout::log_overhead) {
    partial_tail_ = true;
    return nullptr;
  }
  header_ = {};
  header_.base_offset = protocol::reader(rest).int64();
  auto batch_length = read_int32_at(rest, batch_layout::batch_length);
  if (batch_length < min_legacy_record_size) return fail(records_errc::batch_too_small);
  if (rest.size() < batch_layout::header_up_to_magic) {
    partial_tail_ = true;
    return nullptr;
  }
  auto magic = static_cast<std::int8_t>(rest[batch_layout::magic]);
  if (magic != magic_v2) return fail(records_errc::bad_magic);
  if (batch_length < min_batch_length) return fail(records_errc::batch_too_small);
  auto size = batch_layout::log_overhead + static_cast<std::size_t>(batch_length);
  if (rest.size() < size) {
    partial_tail_ = true;
    return nullptr;
  }
  batch_ = rest.first(size);
  header_ = read_record_batch_header(batch_);
  if (options_.verify_crc && crc32c(batch_.subspan(batch_layout::attributes)) != header_.crc) {
    return fail(records_errc::bad_crc);
  }
  position_ += size;
  have_batch_ = true;
  return &header_;
}

std::span<const record_view> record_batch_decoder::records() {
  if (!have_batch_) return {};
  if (!records_decoded_) {
    records_decoded_ = true;
    if (auto failed = decode_records(batch_.subspan(batch_layout::header_size))) {
      fail(failed);
      records_.clear();
      headers_.clear();
      return {};
    }
  }
  return records_;
}

std::error_code record_batch_decoder::decode_records(bytes_view payload) {
  if ((header_.attributes & batch_attributes::compression_mask) > max_codec) {
    return records_errc::unsupported_compression;
  }
  if (header_.record_count < 0) return records_errc::invalid_record;
  auto data = payload;
  if (header_.codec() != compression::none) {
    decompressed_.clear();
    if (auto failed = decompress_to(header_.codec(), payload, options_.max_decompressed_size,
                                    decompressed_)) {
      return failed;
    }
    data = decompressed_;
  }
  auto count = static_cast<std::size_t>(header_.record_count);
  if (count > data.size() / min_record_size) return records_errc::record_count_mismatch;
  records_.reserve(count);
  header_starts_.clear();
  header_starts_.reserve(count);

  bool log_append = header_.timestamps() == timestamp_type::log_append_time;
  protocol::reader in(data);
  for (std::size_t i = 0; i < count; ++i) {
    if (in.at_end()) return records_errc::record_count_mismatch;
    auto length = in.varint();
    if (in.ok() && length < 0) return records_errc::invalid_record;
    protocol::reader body(in.take(static_cast<std::size_t>(length)));
    if (!in.ok()) return from_reader(in);

    record_view& record = records_.emplace_back();
    body.int8();  // record attributes: unused in v2
    auto timestamp_delta = body.varlong();
    auto offset_delta = body.varint();
    record.key = read_nullable(body);
    record.value = read_nullable(body);
    auto header_count = body.varint();
    if (body.ok() && header_count < 0) return records_errc::invalid_record;
    header_starts_.push_back(headers_.size());
    for (std::int32_t h = 0; h < header_count && body.ok(); ++h) {
      auto key_length = body.varint();
      if (body.ok() && key_length < 0) return records_errc::invalid_record;
      auto key = body.take(static_cast<std::size_t>(key_length));
      headers_.push_back({protocol::as_string_view(key), read_nullable(body)});
    }
    if (!body.ok()) return from_reader(body);
    // The fields must fill the declared length exactly (DefaultRecord.readFrom does the same).
    if (!body.at_end()) return records_errc::invalid_record;
    record.offset = wrapping_add(header_.base_offset, offset_delta);
    record.timestamp =
        log_append ? header_.max_timestamp : wrapping_add(header_.base_timestamp, timestamp_delta);
  }
  if (!in.at_end()) return records_errc::record_count_mismatch;

  // Header spans are set last: headers_ may reallocate while records are read.
  for (std::size_t i = 0; i < records_.size(); ++i) {
    auto end = i + 1 < records_.size() ? header_starts_[i + 1] : headers_.size();
    records_[i].headers =
        std::span<const header_view>(headers_).subspan(header_starts_[i], end - header_starts_[i]);
  }
  return {};
}

}  // namespace sluice::kafka::records
