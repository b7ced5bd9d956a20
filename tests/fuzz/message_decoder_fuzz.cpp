// libFuzzer: arbitrary bytes decoded as any generated message (requests and responses, every
// version). Input byte 0 picks the message type, byte 1 the version; the rest is the body.
// Properties: decoding never crashes or reads out of bounds (ASan), and whatever decodes
// re-encodes to bytes that decode to the same message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "tests/kafka/protocol/generated/message_samples.hpp"

namespace {

using namespace sluice::kafka::protocol;

struct decode_as {
  std::size_t wanted;
  std::uint8_t version_byte;
  bytes_view body;
  std::size_t index = 0;

  template <typename Message>
  void operator()(std::type_identity<Message>, const char*) {
    if (index++ != wanted) return;
    const int span = Message::max_version - Message::min_version + 1;
    const auto version = static_cast<std::int16_t>(Message::min_version + version_byte % span);
    Message message;
    reader in(body);
    message.decode(in, version);
    if (!in.ok()) return;
    bytes encoded;
    writer out(encoded);
    message.encode(out, version);
    Message again;
    reader in_again(encoded);
    again.decode(in_again, version);
    if (!in_again.ok() || !(again == message)) std::abort();
  }
};

std::size_t message_type_count() {
  std::size_t count = 0;
  samples::for_each_message_type([&count](auto, const char*) { ++count; });
  return count;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::size_t types = message_type_count();
  if (size < 2) return 0;
  decode_as visitor{data[0] % types, data[1],
                    bytes_view(reinterpret_cast<const std::byte*>(data + 2), size - 2)};
  samples::for_each_message_type(visitor);
  return 0;
}
