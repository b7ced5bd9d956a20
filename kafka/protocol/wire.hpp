#pragma once

// Kafka's wire primitives: fixed-width big-endian integers, (zig-zag) varints, strings, bytes,
// UUIDs and tagged-field framing, as described in the protocol guide
// (https://kafka.apache.org/protocol#protocol_types).
//
// `writer` appends to a growable buffer and cannot fail. `reader` never trusts a length: every
// read is bounds-checked, and the first failure is sticky. After a failure each read returns a
// zero value, so decoders read straight through and check `ok()` once per message.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::kafka::protocol {

using bytes = std::vector<std::byte>;
using bytes_view = std::span<const std::byte>;

// A 128-bit UUID (topic ids, member ids under KIP-848). All zeros is Kafka's "null" UUID.
struct uuid {
  std::array<std::uint8_t, 16> value{};
  bool operator==(const uuid&) const = default;
  bool is_zero() const { return *this == uuid{}; }
};

// A tagged field the decoder did not recognise; kept so re-encoding preserves it.
struct tagged_field {
  std::uint32_t tag = 0;
  bytes data;
  bool operator==(const tagged_field&) const = default;
};
using tagged_fields = std::vector<tagged_field>;

// Why a decode failed; the first failure wins.
enum class decode_error : std::uint8_t {
  none = 0,
  truncated,         // the input ended before the field did
  negative_length,   // a non-nullable length was negative
  varint_too_long,   // more than 5 (varint) or 10 (varlong) bytes
  length_too_large,  // a length larger than the bytes that remain
  invalid_value,     // a value outside what the schema allows
};

const char* to_string(decode_error error) noexcept;

inline std::string_view as_string_view(bytes_view data) {
  return {reinterpret_cast<const char*>(data.data()), data.size()};
}
inline bytes_view as_bytes_view(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}
inline bytes to_bytes(std::string_view text) {
  auto view = as_bytes_view(text);
  return {view.begin(), view.end()};
}

// Bytes an encoder left out of its buffer, to be sent from where they are: they belong at offset
// `at` of the buffer (before whatever the buffer holds from `at` on).
struct borrowed_span {
  std::size_t at = 0;
  bytes_view data;
};

class writer {
 public:
  explicit writer(protocol::bytes& out) : out_(out) {}
  // A writer that copies the contents of no BYTES field of `borrow_from` bytes or more: it notes
  // where they belong in `borrowed` instead (the record batches of a ProduceRequest, written to
  // the socket from where they are). They must outlive the output; size() does not count them.
  writer(protocol::bytes& out, std::vector<borrowed_span>& borrowed, std::size_t borrow_from)
      : out_(out), borrowed_(&borrowed), borrow_from_(borrow_from) {}

  std::size_t size() const { return out_.size(); }
  protocol::bytes& buffer() { return out_; }

  void boolean(bool value) { int8(value ? 1 : 0); }
  void int8(std::int8_t value) { out_.push_back(static_cast<std::byte>(value)); }
  void int16(std::int16_t value) { big_endian(static_cast<std::uint16_t>(value)); }
  void uint16(std::uint16_t value) { big_endian(value); }
  void int32(std::int32_t value) { big_endian(static_cast<std::uint32_t>(value)); }
  void uint32(std::uint32_t value) { big_endian(value); }
  void int64(std::int64_t value) { big_endian(static_cast<std::uint64_t>(value)); }
  void float64(double value) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    big_endian(bits);
  }
  void uuid(const protocol::uuid& value) { raw(std::as_bytes(std::span(value.value))); }

  void unsigned_varint(std::uint32_t value) { unsigned_varlong(value); }
  void unsigned_varlong(std::uint64_t value) {
    while (value >= 0x80) {
      out_.push_back(static_cast<std::byte>((value & 0x7f) | 0x80));
      value >>= 7;
    }
    out_.push_back(static_cast<std::byte>(value));
  }
  void varint(std::int32_t value) {
    unsigned_varint((static_cast<std::uint32_t>(value) << 1) ^
                    static_cast<std::uint32_t>(value >> 31));
  }
  void varlong(std::int64_t value) {
    unsigned_varlong((static_cast<std::uint64_t>(value) << 1) ^
                     static_cast<std::uint64_t>(value >> 63));
  }

  void string(std::string_view value) {
    int16(static_cast<std::int16_t>(value.size()));
    raw(as_bytes_view(value));
  }
  void nullable_string(const std::optional<std::string>& value) {
    if (!value) return int16(-1);
    string(*value);
  }
  void compact_string(std::string_view value) {
    unsigned_varint(static_cast<std::uint32_t>(value.size() + 1));
    raw(as_bytes_view(value));
  }
  void compact_nullable_string(const std::optional<std::string>& value) {
    if (!value) return unsigned_varint(0);
    compact_string(*value);
  }
  void bytes(bytes_view value) {
    int32(static_cast<std::int32_t>(value.size()));
    byte_string(value);
  }
  void nullable_bytes(const std::optional<protocol::bytes>& value) {
    if (!value) return int32(-1);
    bytes(*value);
  }
  void compact_bytes(bytes_view value) {
    unsigned_varint(static_cast<std::uint32_t>(value.size() + 1));
    byte_string(value);
  }
  void compact_nullable_bytes(const std::optional<protocol::bytes>& value) {
    if (!value) return unsigned_varint(0);
    compact_bytes(*value);
  }
  void raw(bytes_view value) { out_.insert(out_.end(), value.begin(), value.end()); }

  // Reserves 4 bytes for a big-endian int32 filled in later (sizes, CRCs); returns its offset.
  std::size_t reserve_int32() {
    auto at = out_.size();
    out_.resize(at + 4);
    return at;
  }
  void patch_int32(std::size_t at, std::int32_t value) {
    patch_uint32(at, static_cast<std::uint32_t>(value));
  }
  void patch_uint32(std::size_t at, std::uint32_t value) {
    for (int i = 3; i >= 0; --i) {
      out_[at + static_cast<std::size_t>(i)] = static_cast<std::byte>(value & 0xff);
      value >>= 8;
    }
  }

 private:
  // The contents of a BYTES field: borrowed when long enough (see the constructor).
  void byte_string(bytes_view value) {
    if (borrowed_ != nullptr && value.size() >= borrow_from_) {
      borrowed_->push_back({out_.size(), value});
      return;
    }
    raw(value);
  }

  template <typename Unsigned>
  void big_endian(Unsigned value) {
    for (int shift = (sizeof(Unsigned) - 1) * 8; shift >= 0; shift -= 8) {
      out_.push_back(static_cast<std::byte>((value >> shift) & 0xff));
    }
  }

  protocol::bytes& out_;
  std::vector<borrowed_span>* borrowed_ = nullptr;
  std::size_t borrow_from_ = 0;
};

class reader {
 public:
  explicit reader(bytes_view input) : input_(input) {}

  bool ok() const { return error_ == decode_error::none; }
  decode_error error() const { return error_; }
  // Offset of the first failure (or the current position while ok).
  std::size_t position() const { return position_; }
  std::size_t remaining() const { return ok() ? input_.size() - position_ : 0; }
  bool at_end() const { return remaining() == 0; }
  bytes_view rest() const { return ok() ? input_.subspan(position_) : bytes_view{}; }

  // Marks the input invalid (used by decoders for schema-level checks).
  void fail(decode_error error) {
    if (ok()) error_ = error;
  }

  bool boolean() { return int8() != 0; }
  std::int8_t int8() { return static_cast<std::int8_t>(big_endian<std::uint8_t>()); }
  std::int16_t int16() { return static_cast<std::int16_t>(big_endian<std::uint16_t>()); }
  std::uint16_t uint16() { return big_endian<std::uint16_t>(); }
  std::int32_t int32() { return static_cast<std::int32_t>(big_endian<std::uint32_t>()); }
  std::uint32_t uint32() { return big_endian<std::uint32_t>(); }
  std::int64_t int64() { return static_cast<std::int64_t>(big_endian<std::uint64_t>()); }
  double float64() {
    auto bits = big_endian<std::uint64_t>();
    double value = 0;
    std::memcpy(&value, &bits, sizeof value);
    return value;
  }
  protocol::uuid uuid() {
    protocol::uuid value;
    auto data = take(value.value.size());
    if (!data.empty()) std::memcpy(value.value.data(), data.data(), data.size());
    return value;
  }

  std::uint32_t unsigned_varint() {
    return static_cast<std::uint32_t>(unsigned_varlong_bounded(5));
  }
  std::uint64_t unsigned_varlong() { return unsigned_varlong_bounded(10); }
  std::int32_t varint() {
    auto value = unsigned_varint();
    return static_cast<std::int32_t>((value >> 1) ^ (~(value & 1) + 1));
  }
  std::int64_t varlong() {
    auto value = unsigned_varlong();
    return static_cast<std::int64_t>((value >> 1) ^ (~(value & 1) + 1));
  }

  std::string string() {
    auto length = int16();
    if (length < 0) {
      fail(decode_error::negative_length);
      return {};
    }
    return text(static_cast<std::size_t>(length));
  }
  std::optional<std::string> nullable_string() {
    auto length = int16();
    if (!ok() || length < 0) return std::nullopt;
    return text(static_cast<std::size_t>(length));
  }
  std::string compact_string() {
    auto length = unsigned_varint();
    if (ok() && length == 0) {
      fail(decode_error::negative_length);
      return {};
    }
    return text(length == 0 ? 0 : length - 1);
  }
  std::optional<std::string> compact_nullable_string() {
    auto length = unsigned_varint();
    if (!ok() || length == 0) return std::nullopt;
    return text(length - 1);
  }
  protocol::bytes bytes() {
    auto length = int32();
    if (length < 0) {
      fail(decode_error::negative_length);
      return {};
    }
    return copy(static_cast<std::size_t>(length));
  }
  std::optional<protocol::bytes> nullable_bytes() {
    auto length = int32();
    if (!ok() || length < 0) return std::nullopt;
    return copy(static_cast<std::size_t>(length));
  }
  protocol::bytes compact_bytes() {
    auto length = unsigned_varint();
    if (ok() && length == 0) {
      fail(decode_error::negative_length);
      return {};
    }
    return copy(length == 0 ? 0 : length - 1);
  }
  std::optional<protocol::bytes> compact_nullable_bytes() {
    auto length = unsigned_varint();
    if (!ok() || length == 0) return std::nullopt;
    return copy(length - 1);
  }

  // Reads an array length (int32, -1 = null) and checks that at least `min_element_size` bytes
  // per element remain, so a hostile length cannot make a decoder allocate gigabytes.
  std::optional<std::size_t> array_length(std::size_t min_element_size = 1) {
    auto length = int32();
    if (!ok() || length < 0) return std::nullopt;
    return checked_count(static_cast<std::size_t>(length), min_element_size);
  }
  // Compact array length (unsigned varint N+1, 0 = null).
  std::optional<std::size_t> compact_array_length(std::size_t min_element_size = 1) {
    auto length = unsigned_varint();
    if (!ok() || length == 0) return std::nullopt;
    return checked_count(length - 1, min_element_size);
  }

  // A view of the next `size` bytes, advancing past them; empty on failure.
  bytes_view take(std::size_t size) {
    if (!ok()) return {};
    if (size > input_.size() - position_) {
      fail(decode_error::truncated);
      return {};
    }
    auto view = input_.subspan(position_, size);
    position_ += size;
    return view;
  }
  void skip(std::size_t size) { take(size); }

 private:
  template <typename Unsigned>
  Unsigned big_endian() {
    auto data = take(sizeof(Unsigned));
    if (data.empty()) return 0;
    Unsigned value = 0;
    for (auto byte : data)
      value = static_cast<Unsigned>((value << 8) | static_cast<std::uint8_t>(byte));
    return value;
  }

  std::uint64_t unsigned_varlong_bounded(int max_bytes) {
    std::uint64_t value = 0;
    for (int i = 0; i < max_bytes; ++i) {
      auto data = take(1);
      if (data.empty()) return 0;
      auto byte = static_cast<std::uint8_t>(data[0]);
      value |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) return value;
    }
    fail(decode_error::varint_too_long);
    return 0;
  }

  std::size_t checked_count(std::size_t count, std::size_t min_element_size) {
    if (min_element_size != 0 && count > remaining() / min_element_size) {
      fail(decode_error::length_too_large);
      return 0;
    }
    return count;
  }

  std::string text(std::size_t size) {
    auto data = take(size);
    return std::string(as_string_view(data));
  }
  protocol::bytes copy(std::size_t size) {
    auto data = take(size);
    return {data.begin(), data.end()};
  }

  bytes_view input_;
  std::size_t position_ = 0;
  decode_error error_ = decode_error::none;
};

}  // namespace sluice::kafka::protocol
