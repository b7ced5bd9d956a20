#include "kafka/records/record_batch_builder.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kafka/records/crc32c.hpp"

namespace sluice::kafka::records {
namespace {

std::uint64_t zigzag(std::int64_t value) {
  return (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
}

std::size_t varlong_size(std::int64_t value) {
  auto encoded = zigzag(value);
  std::size_t size = 1;
  while (encoded >= 0x80) {
    encoded >>= 7;
    ++size;
  }
  return size;
}

std::int32_t length_of(std::size_t size) {
  return static_cast<std::int32_t>(size);
}

// A nullable field as written in a record: varint length (-1 for null), then the bytes.
std::size_t nullable_size(std::optional<protocol::bytes_view> data) {
  return data ? varlong_size(length_of(data->size())) + data->size() : varlong_size(-1);
}

void write_nullable(protocol::writer& out, std::optional<protocol::bytes_view> data) {
  if (!data) return out.varint(-1);
  out.varint(length_of(data->size()));
  out.raw(*data);
}

std::optional<protocol::bytes_view> view_of(const std::optional<protocol::bytes>& data) {
  if (!data) return std::nullopt;
  return protocol::bytes_view(*data);
}
std::optional<protocol::bytes_view> view_of(const std::optional<protocol::bytes_view>& data) {
  return data;
}

std::int16_t attributes_of(const record_batch_builder_options& options) {
  auto attributes = static_cast<std::int16_t>(options.codec);
  if (options.timestamps == timestamp_type::log_append_time)
    attributes |= batch_attributes::timestamp_type_bit;
  if (options.transactional) attributes |= batch_attributes::transactional_bit;
  if (options.control) attributes |= batch_attributes::control_bit;
  return attributes;
}

// Writes the batch length and the CRC of a batch that starts at `start` of `out` and ends at its
// end.
void seal_batch(protocol::bytes& out, std::size_t start) {
  protocol::writer writer(out);
  writer.patch_int32(start + batch_layout::batch_length,
                     length_of(out.size() - start - batch_layout::log_overhead));
  auto checked = protocol::bytes_view(out).subspan(start + batch_layout::attributes);
  writer.patch_uint32(start + batch_layout::crc, crc32c(checked));
}

}  // namespace

record_batch_builder::record_batch_builder(record_batch_builder_options options,
                                           protocol::bytes buffer)
    : options_(options), buffer_(std::move(buffer)) {
  if (!valid_compression_level(options_.codec, options_.level)) {
    throw std::invalid_argument(std::string("compression level ") + std::to_string(options_.level) +
                                " is out of range for " + to_string(options_.codec));
  }
  buffer_.clear();
  buffer_.resize(batch_layout::header_size);
}

// Record layout (v2): length varint | attributes int8 | timestampDelta varlong |
// offsetDelta varint | key | value | header count varint | headers (key, nullable value).
// The length comes first, so the size is computed before writing instead of moving bytes.
template <typename Headers>
void record_batch_builder::append_record(std::int64_t timestamp,
                                         std::optional<protocol::bytes_view> key,
                                         std::optional<protocol::bytes_view> value,
                                         const Headers& headers) {
  if (finished_) throw std::logic_error("record_batch_builder: append after finish_into");
  if (record_count_ == 0) base_timestamp_ = max_timestamp_ = timestamp;
  max_timestamp_ = std::max(max_timestamp_, timestamp);
  auto timestamp_delta = timestamp - base_timestamp_;
  auto offset_delta = record_count_;

  std::size_t body = 1 + varlong_size(timestamp_delta) + varlong_size(offset_delta) +
                     nullable_size(key) + nullable_size(value) +
                     varlong_size(length_of(std::size(headers)));
  for (const auto& header : headers) {
    body += varlong_size(length_of(header.key.size())) + header.key.size() +
            nullable_size(view_of(header.value));
  }
  // Grow geometrically: reserving the exact size would reallocate (and copy the whole batch) on
  // every append, quadratic in the batch size.
  const auto needed = buffer_.size() + varlong_size(length_of(body)) + body;
  if (needed > buffer_.capacity()) buffer_.reserve(std::max(needed, 2 * buffer_.capacity()));

  protocol::writer out(buffer_);
  out.varint(length_of(body));
  out.int8(0);  // record attributes: unused in v2
  out.varlong(timestamp_delta);
  out.varint(offset_delta);
  write_nullable(out, key);
  write_nullable(out, value);
  out.varint(length_of(std::size(headers)));
  for (const auto& header : headers) {
    out.varint(length_of(header.key.size()));
    out.raw(protocol::as_bytes_view(header.key));
    write_nullable(out, view_of(header.value));
  }
  ++record_count_;
  size_ = buffer_.size();
}

void record_batch_builder::append(std::int64_t timestamp, std::optional<protocol::bytes_view> key,
                                  std::optional<protocol::bytes_view> value,
                                  std::span<const header_view> headers) {
  append_record(timestamp, key, value, headers);
}

void record_batch_builder::append(const record& source) {
  append_record(source.timestamp, view_of(source.key), view_of(source.value), source.headers);
}

void record_batch_builder::append(const record_view& source) {
  append_record(source.timestamp, source.key, source.value, source.headers);
}

void record_batch_builder::set_producer_state(std::int64_t producer_id, std::int16_t producer_epoch,
                                              std::int32_t base_sequence) {
  options_.producer_id = producer_id;
  options_.producer_epoch = producer_epoch;
  options_.base_sequence = base_sequence;
}

record_batch_header record_batch_builder::batch_header() const {
  record_batch_header header;
  header.base_offset = options_.base_offset;
  header.partition_leader_epoch = options_.partition_leader_epoch;
  header.attributes = attributes_of(options_);
  header.last_offset_delta = record_count_ - 1;
  header.base_timestamp = base_timestamp_;
  header.max_timestamp = max_timestamp_;
  header.producer_id = options_.producer_id;
  header.producer_epoch = options_.producer_epoch;
  header.base_sequence = options_.base_sequence;
  header.record_count = record_count_;
  return header;
}

std::error_code record_batch_builder::build_to(protocol::bytes& out) const {
  if (empty()) return {};
  if (finished_) throw std::logic_error("record_batch_builder: build_to after finish_into");
  auto start = out.size();
  out.reserve(start + estimated_size());
  protocol::writer writer(out);
  write_record_batch_header(writer, batch_header());
  const auto records = protocol::bytes_view(buffer_).subspan(batch_layout::header_size);
  if (auto failed = compress_to(options_.codec, records, options_.level, out)) {
    out.resize(start);
    return failed;
  }
  seal_batch(out, start);
  return {};
}

std::error_code record_batch_builder::finish_into(protocol::bytes& out) {
  if (empty() || finished_) return {};
  if (options_.codec != compression::none) {
    out.clear();
    if (auto failed = build_to(out)) return failed;
    finished_ = true;
    return {};
  }
  // The header goes into the room left at the front; the records stay where they were appended.
  protocol::bytes encoded_header;
  encoded_header.reserve(batch_layout::header_size);
  protocol::writer writer(encoded_header);
  write_record_batch_header(writer, batch_header());
  std::copy(encoded_header.begin(), encoded_header.end(), buffer_.begin());
  seal_batch(buffer_, 0);
  finished_ = true;
  out.clear();
  std::swap(out, buffer_);
  return {};
}

protocol::bytes record_batch_builder::release_buffer() {
  protocol::bytes released;
  std::swap(released, buffer_);
  return released;
}

protocol::bytes record_batch_builder::build() const {
  protocol::bytes out;
  if (auto failed = build_to(out)) {
    throw std::system_error(
        failed, std::string("building a ") + to_string(options_.codec) + " record batch");
  }
  return out;
}

void record_batch_builder::clear() {
  buffer_.clear();
  buffer_.resize(batch_layout::header_size);
  size_ = batch_layout::header_size;
  finished_ = false;
  record_count_ = 0;
  base_timestamp_ = max_timestamp_ = 0;
}

}  // namespace sluice::kafka::records
