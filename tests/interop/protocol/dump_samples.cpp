// The C++ half of the Java cross-check (MessageRoundTrip.java), both directions:
//   protocol_dump_samples             writes every generated message sample (non-default values
//                                     everywhere, then nulls wherever the version allows), every
//                                     version, as "<JsonName> <version> <hex>" lines, for Kafka's
//                                     own classes to decode and re-encode;
//   protocol_dump_samples --reencode  reads such lines written by Java, decodes each with our
//                                     message, re-encodes it and requires the same bytes, all input
//                                     consumed. Exits non-zero on any mismatch.
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

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

std::string hex(const bytes& data) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text;
  for (auto b : data) {
    text += digits[static_cast<unsigned>(b) >> 4];
    text += digits[static_cast<unsigned>(b) & 0xf];
  }
  return text;
}

std::optional<bytes> unhex(std::string_view text) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (text.size() % 2 != 0) return std::nullopt;
  bytes data;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int high = digit(text[i]), low = digit(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    data.push_back(static_cast<std::byte>(high << 4 | low));
  }
  return data;
}

struct dumper {
  template <typename Message>
  void operator()(std::type_identity<Message>, const char* name) const {
    for (std::int16_t version = Message::min_version; version <= Message::max_version; ++version) {
      for (auto [seed, mode] : {std::pair{0, samples::fill_mode::every_field},
                                std::pair{1, samples::fill_mode::every_field},
                                std::pair{0, samples::fill_mode::nulls_where_allowed}}) {
        Message message;
        samples::fill(message, version, seed, mode);
        std::printf("%s %d %s\n", name, version, hex(encode(message, version)).c_str());
      }
    }
  }
};

// Decodes one Java-written line with the message type named in it; the outcome is in `failure`.
struct reencoder {
  std::string_view wanted;
  std::int16_t version;
  const bytes& input;
  bool found = false;
  std::string failure;

  template <typename Message>
  void operator()(std::type_identity<Message>, const char* name) {
    if (found || wanted != name) return;
    found = true;
    if (version < Message::min_version || version > Message::max_version) {
      failure = "version outside ours";
      return;
    }
    Message message;
    reader in(input);
    message.decode(in, version);
    if (!in.ok()) {
      failure = std::string("decode failed: ") + to_string(in.error()) + " at byte " +
                std::to_string(in.position());
    } else if (!in.at_end()) {
      failure = std::to_string(in.remaining()) + " bytes not consumed";
    } else if (auto ours = encode(message, version); ours != input) {
      failure = "bytes differ:\n  java   " + hex(input) + "\n  sluice " + hex(ours);
    }
  }
};

int reencode_java_lines() {
  int checked = 0, failed = 0;
  for (std::string line; std::getline(std::cin, line);) {
    std::istringstream fields(line);
    std::string name, hex_text;
    int version = 0;
    fields >> name >> version;
    const bool named = static_cast<bool>(fields);
    fields >> hex_text;  // absent for a message with no bytes at all (ApiVersions v0)
    auto input = unhex(hex_text);
    if (!named || !input) {
      std::printf("FAIL malformed line: %s\n", line.c_str());
      ++failed;
      continue;
    }
    reencoder check{name, static_cast<std::int16_t>(version), *input};
    samples::for_each_message_type(check);
    if (!check.found) check.failure = "no such message type";
    if (!check.failure.empty()) {
      std::printf("FAIL %s v%d: %s\n", name.c_str(), version, check.failure.c_str());
      ++failed;
    }
    ++checked;
  }
  std::printf("re-encoded %d Java encodings, %d failed\n", checked, failed);
  return failed == 0 && checked > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "--reencode") return reencode_java_lines();
  samples::for_each_message_type(dumper{});
  return 0;
}
