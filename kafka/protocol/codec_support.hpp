#pragma once

// Field codecs shared by the generated messages (kafka/protocol/messages/). They pick the classic
// or the compact ("flexible", KIP-482) encoding at run time, so each generated field is one call.
// Nullability is per version: a member that is nullable in any version is std::optional, and
// `nullable` says whether the version being encoded or decoded allows null.

#include <optional>
#include <string>
#include <string_view>

#include "kafka/protocol/wire.hpp"

namespace sluice::kafka::protocol::codec {

inline void write_string(writer& out, std::string_view value, bool flexible) {
  flexible ? out.compact_string(value) : out.string(value);
}

// A null value in a version where the field is not nullable is written as empty, as a
// non-nullable field would be.
inline void write_string(writer& out, const std::optional<std::string>& value, bool flexible,
                         bool nullable) {
  if (!nullable)
    return write_string(out, value ? std::string_view(*value) : std::string_view(), flexible);
  flexible ? out.compact_nullable_string(value) : out.nullable_string(value);
}

inline std::string read_string(reader& in, bool flexible) {
  return flexible ? in.compact_string() : in.string();
}

inline std::optional<std::string> read_nullable_string(reader& in, bool flexible, bool nullable) {
  if (!nullable) return read_string(in, flexible);
  return flexible ? in.compact_nullable_string() : in.nullable_string();
}

inline void write_bytes(writer& out, bytes_view value, bool flexible) {
  flexible ? out.compact_bytes(value) : out.bytes(value);
}

inline void write_bytes(writer& out, const std::optional<bytes>& value, bool flexible,
                        bool nullable) {
  if (!nullable) return write_bytes(out, value ? bytes_view(*value) : bytes_view(), flexible);
  flexible ? out.compact_nullable_bytes(value) : out.nullable_bytes(value);
}

inline bytes read_bytes(reader& in, bool flexible) {
  return flexible ? in.compact_bytes() : in.bytes();
}

inline std::optional<bytes> read_nullable_bytes(reader& in, bool flexible, bool nullable) {
  if (!nullable) return read_bytes(in, flexible);
  return flexible ? in.compact_nullable_bytes() : in.nullable_bytes();
}

// Array lengths: classic int32 (-1 = null) or compact unsigned varint N+1 (0 = null).
inline void write_array_length(writer& out, std::size_t size, bool flexible) {
  if (flexible) return out.unsigned_varint(static_cast<std::uint32_t>(size + 1));
  out.int32(static_cast<std::int32_t>(size));
}

inline void write_null_array(writer& out, bool flexible) {
  flexible ? out.unsigned_varint(0) : out.int32(-1);
}

// The element count, or nullopt for a null array. Null where the version does not allow it is a
// decode error; a count larger than the remaining input allows is one too.
inline std::optional<std::size_t> read_array_length(reader& in, bool flexible, bool nullable,
                                                    std::size_t min_element_size) {
  auto length =
      flexible ? in.compact_array_length(min_element_size) : in.array_length(min_element_size);
  if (!length && !nullable) in.fail(decode_error::negative_length);
  return length;
}

// Tagged fields (flexible versions only): each is (tag, size, data). Writers encode the value into
// a scratch buffer first because its size precedes it.
inline void write_tagged(writer& out, std::uint32_t tag, const bytes& data) {
  out.unsigned_varint(tag);
  out.unsigned_varint(static_cast<std::uint32_t>(data.size()));
  out.raw(data);
}

// Writes the unknown tags below `limit` (all of them for the default), keeping ascending tag order
// when known and unknown tags interleave; `next` is the index of the first not yet written.
inline void write_unknown_tags(writer& out, const tagged_fields& unknown, std::size_t& next,
                               std::uint32_t limit = UINT32_MAX) {
  for (; next < unknown.size() && (unknown[next].tag < limit || limit == UINT32_MAX); ++next) {
    write_tagged(out, unknown[next].tag, unknown[next].data);
  }
}

}  // namespace sluice::kafka::protocol::codec
