#pragma once

// Messages stored as bytes with their version in front (int16 version, then the body): the
// consumer protocol's subscription and assignment (the group's metadata and assignment fields).
// Used by the consumer's group code and the admin client alike.

#include <algorithm>
#include <cstdint>
#include <optional>

#include "kafka/protocol/wire.hpp"

namespace sluice::kafka::protocol {

template <typename Message>
bytes encode_versioned(const Message& message, std::int16_t version) {
  bytes out;
  writer writer(out);
  writer.int16(version);
  message.encode(writer, version);
  return out;
}

// A newer version than we know is read with our newest schema: later versions only append
// fields. nullopt for a negative version or bytes that do not decode.
template <typename Message>
std::optional<Message> decode_versioned(bytes_view data) {
  reader in(data);
  const auto version = in.int16();
  if (!in.ok() || version < 0) return std::nullopt;
  Message message;
  message.decode(in, std::min<std::int16_t>(version, Message::max_version));
  if (!in.ok()) return std::nullopt;
  return message;
}

}  // namespace sluice::kafka::protocol
