// libFuzzer target for the generated request/response decoders, shaped like a broker's reply:
// input bytes 0-1 pick the API (a big-endian key, folded onto the known keys so every input hits
// one), byte 2 the version within that message's valid range, the rest is the body. The body is
// decoded as the response and as the request of that API.
// Properties: decoding never crashes or reads out of bounds (ASan/UBSan); whatever decodes
// re-encodes deterministically, and those bytes decode back to an equal message consuming them all.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <type_traits>

#include "kafka/protocol/messages/all.hpp"
#include "tests/kafka/protocol/generated/message_samples.hpp"

namespace {

using namespace sluice::kafka::protocol;

template <typename Message>
bytes encode(const Message& message, std::int16_t version) {
  bytes encoded;
  writer out(encoded);
  message.encode(out, version);
  return encoded;
}

template <typename Message>
void decode_and_check(bytes_view body, std::uint8_t version_byte) {
  const int span = Message::max_version - Message::min_version + 1;
  const auto version = static_cast<std::int16_t>(Message::min_version + version_byte % span);
  Message message;
  reader in(body);
  message.decode(in, version);
  if (!in.ok()) return;

  const auto encoded = encode(message, version);
  if (encode(message, version) != encoded) std::abort();  // encoding must be repeatable
  Message again;
  reader in_again(encoded);
  again.decode(in_again, version);
  if (!in_again.ok() || !in_again.at_end() || !(again == message)) std::abort();
}

// Visits every generated message type and decodes the body as those whose API key matches.
struct decode_api {
  api_key key;
  std::uint8_t version_byte;
  bytes_view body;

  template <typename Message>
  void operator()(std::type_identity<Message>, const char*) const {
    if constexpr (requires { Message::key; }) {
      if (Message::key == key) decode_and_check<Message>(body, version_byte);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t selector_size = 3;
  if (size < selector_size) return 0;
  const auto apis = supported_apis();
  const auto wanted = static_cast<std::size_t>((data[0] << 8) | data[1]);
  const decode_api visitor{
      apis[wanted % apis.size()].key, data[2],
      bytes_view(reinterpret_cast<const std::byte*>(data + selector_size), size - selector_size)};
  samples::for_each_message_type(visitor);
  return 0;
}
