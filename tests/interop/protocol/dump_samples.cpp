// Writes every generated message sample, every version, as "<JsonName> <version> <hex>" lines, for
// the Java cross-check (MessageRoundTrip.java) to decode and re-encode with Kafka's own classes.
#include "tests/kafka/protocol/generated/message_samples.hpp"

#include <cstdio>

namespace {

using namespace sluice::kafka::protocol;

struct dumper {
  template <typename Message>
  void operator()(std::type_identity<Message>, const char* name) const {
    for (std::int16_t version = Message::min_version; version <= Message::max_version; ++version) {
      for (int seed : {0, 1}) {
        Message message;
        samples::fill(message, version, seed);
        bytes encoded;
        writer out(encoded);
        message.encode(out, version);
        std::printf("%s %d ", name, version);
        for (auto b : encoded) std::printf("%02x", static_cast<unsigned>(b));
        std::printf("\n");
      }
    }
  }
};

}  // namespace

int main() {
  samples::for_each_message_type(dumper{});
  return 0;
}
