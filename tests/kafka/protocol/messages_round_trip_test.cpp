// Every generated message, every version it supports: filled with non-default values in every
// field that version has, encoded, decoded, compared; and every truncation of it must decode to an
// error, never a crash (ASan/UBSan builds check the "never").
#include "tests/kafka/protocol/generated/message_samples.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::kafka::protocol {
namespace {

template <typename Message>
bytes encode(const Message& message, std::int16_t version) {
  bytes out;
  writer w(out);
  message.encode(w, version);
  return out;
}

struct round_trip_checker {
  int versions_checked = 0;

  template <typename Message>
  void operator()(std::type_identity<Message>, const char* name) {
    for (std::int16_t version = Message::min_version; version <= Message::max_version; ++version) {
      SCOPED_TRACE(std::string(name) + " v" + std::to_string(version));
      for (int seed : {0, 1}) {
        Message original;
        samples::fill(original, version, seed);
        auto encoded = encode(original, version);

        Message decoded;
        reader in(encoded);
        decoded.decode(in, version);
        ASSERT_TRUE(in.ok()) << to_string(in.error()) << " at byte " << in.position();
        EXPECT_TRUE(in.at_end()) << in.remaining() << " bytes left over";
        EXPECT_TRUE(decoded == original);
        // Encoding is repeatable: a retry re-sends the same bytes.
        EXPECT_EQ(encode(decoded, version), encoded);
      }
      ++versions_checked;
    }
  }
};

TEST(protocol_messages, every_api_and_version_round_trips) {
  round_trip_checker checker;
  samples::for_each_message_type(checker);
  EXPECT_GT(checker.versions_checked, 500);
}

struct truncation_checker {
  template <typename Message>
  void operator()(std::type_identity<Message>, const char* name) {
    for (std::int16_t version = Message::min_version; version <= Message::max_version; ++version) {
      Message original;
      samples::fill(original, version);
      auto encoded = encode(original, version);
      for (std::size_t length = 0; length < encoded.size(); ++length) {
        Message decoded;
        reader in(bytes_view(encoded).first(length));
        decoded.decode(in, version);
        EXPECT_FALSE(in.ok()) << name << " v" << version << " decoded from " << length << " of "
                              << encoded.size() << " bytes";
      }
    }
  }
};

TEST(protocol_messages, every_truncation_is_an_error) {
  samples::for_each_message_type(truncation_checker{});
}

TEST(protocol_messages, unknown_tagged_fields_survive_a_round_trip) {
  metadata_request request;
  request.unknown_tags.push_back({7, to_bytes("xyz")});
  request.unknown_tags.push_back({9, {}});
  auto encoded = encode(request, metadata_request::max_version);
  metadata_request decoded;
  reader in(encoded);
  decoded.decode(in, metadata_request::max_version);
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(decoded.unknown_tags, request.unknown_tags);
}

TEST(protocol_messages, api_table_matches_the_message_types) {
  const auto* metadata = find_api(static_cast<std::int16_t>(api_key::metadata));
  ASSERT_NE(metadata, nullptr);
  EXPECT_EQ(metadata->min_version, metadata_request::min_version);
  EXPECT_EQ(metadata->max_version, metadata_request::max_version);
  EXPECT_STREQ(to_string(api_key::api_versions), "ApiVersions");
  EXPECT_EQ(find_api(-5), nullptr);
  EXPECT_GT(supported_apis().size(), 60u);
}

TEST(protocol_messages, known_metadata_request_bytes) {
  // Metadata v1 for topic "a": int32 count 1, int16 length 1, 'a' (classic encoding).
  metadata_request request;
  request.topics.emplace().push_back({.name = "a"});
  EXPECT_EQ(encode(request, 1), (bytes{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1},
                                       std::byte{0}, std::byte{1}, std::byte{'a'}}));
  // v9 is flexible: compact array (2 = one element), topic id (16 zero bytes), compact string,
  // then the topic's and the request's empty tag sections.
  auto flexible = encode(request, 9);
  EXPECT_EQ(flexible[0], std::byte{2});
  EXPECT_EQ(flexible[1], std::byte{2});
  EXPECT_EQ(flexible[2], std::byte{'a'});
}

}  // namespace
}  // namespace sluice::kafka::protocol
