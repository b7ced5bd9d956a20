// Every generated message, every version it supports: filled with non-default values in every
// field that version has (and once more with every nullable field null where the version allows),
// encoded, decoded, compared; and every truncation of it must decode to an error, never a crash
// (ASan/UBSan builds check the "never").
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "tests/kafka/protocol/generated/message_samples.hpp"

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
      for (auto [seed, mode] : {std::pair{0, samples::fill_mode::every_field},
                                std::pair{1, samples::fill_mode::every_field},
                                std::pair{0, samples::fill_mode::nulls_where_allowed}}) {
        SCOPED_TRACE("seed " + std::to_string(seed) +
                     (mode == samples::fill_mode::every_field ? "" : ", nulls"));
        Message original;
        samples::fill(original, version, seed, mode);
        auto encoded = encode(original, version);
        // Every field the version has holds a non-default value, so the sample differs from the
        // default message unless the version has no fields at all (ApiVersions v0-2, ListGroups
        // v0-2).
        if (mode == samples::fill_mode::every_field) {
          EXPECT_TRUE(!(original == Message{}) || encoded.empty());
        }

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
      for (auto mode : samples::all_fill_modes) {
        Message original;
        samples::fill(original, version, 0, mode);
        expect_every_prefix_fails<Message>(name, version, encode(original, version));
      }
    }
  }

  template <typename Message>
  static void expect_every_prefix_fails(const char* name, std::int16_t version,
                                        const bytes& encoded) {
    for (std::size_t length = 0; length < encoded.size(); ++length) {
      Message decoded;
      reader in(bytes_view(encoded).first(length));
      decoded.decode(in, version);
      EXPECT_FALSE(in.ok()) << name << " v" << version << " decoded from " << length << " of "
                            << encoded.size() << " bytes";
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

TEST(protocol_messages, traits_come_from_the_definitions) {
  static_assert(metadata_request::key == api_key::metadata);
  static_assert(std::is_same_v<metadata_request::response_type, metadata_response>);
  static_assert(std::is_same_v<metadata_response::request_type, metadata_request>);
  static_assert(metadata_request::first_flexible_version == 9);
  // SaslHandshake never became flexible ("flexibleVersions": "none"): one past its newest version.
  static_assert(sasl_handshake_request::first_flexible_version ==
                sasl_handshake_request::max_version + 1);
  // FindCoordinator's pre-KIP-699 `Key` field cannot be named like the `key` trait.
  find_coordinator_request request;
  request.key_ = "group";
  EXPECT_EQ(find_coordinator_request::key, api_key::find_coordinator);
}

TEST(protocol_messages, unstable_latest_versions_are_not_negotiated) {
  // InitProducerId v6 (KIP-939) is marked latestVersionUnstable in Kafka 4.3: encodable, but the
  // range a client negotiates stops below it.
  const auto* range = find_api(static_cast<std::int16_t>(api_key::init_producer_id));
  ASSERT_NE(range, nullptr);
  EXPECT_EQ(init_producer_id_request::max_version, 6);
  EXPECT_EQ(range->max_version, 5);
}

TEST(protocol_messages, tagged_fields_are_omitted_at_their_default_and_merged_in_tag_order) {
  api_versions_response response;
  EXPECT_EQ(encode(response, 3), (bytes{std::byte{0}, std::byte{0}, std::byte{1}, std::byte{0},
                                        std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}}));
  // Known tag 3 (ZkMigrationReady) and an unknown tag 2 go out as tag 2, then tag 3.
  response.zk_migration_ready = true;
  response.unknown_tags.push_back({2, bytes{std::byte{1}}});
  auto encoded = encode(response, 3);
  const bytes tags{std::byte{2}, std::byte{2}, std::byte{1}, std::byte{1},
                   std::byte{3}, std::byte{1}, std::byte{1}};
  ASSERT_EQ(encoded.size(), 7 + tags.size());
  EXPECT_TRUE(std::equal(tags.begin(), tags.end(), encoded.begin() + 7));
}

TEST(protocol_messages, hostile_array_length_fails_before_allocating) {
  // Metadata v1 response: throttle-less, brokers array claiming 2^31 - 1 entries in 4 bytes.
  const bytes input{std::byte{0x7f}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
  metadata_response response;
  reader in(input);
  response.decode(in, 1);
  EXPECT_FALSE(in.ok());
  EXPECT_EQ(in.error(), decode_error::length_too_large);
}

TEST(protocol_messages, null_where_the_version_forbids_it_is_an_error) {
  // Metadata v0 has no null topic list (null means "all topics" only from v1).
  const bytes null_array{std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
  metadata_request request;
  reader v0(null_array);
  request.decode(v0, 0);
  EXPECT_FALSE(v0.ok());
  reader v1(null_array);
  request.decode(v1, 1);
  EXPECT_TRUE(v1.ok());
  EXPECT_FALSE(request.topics.has_value());
}

// Messages with float64 fields (the quota values of AlterClientQuotas and DescribeClientQuotas)
// compare their doubles by bit pattern. response_decoder_fuzz found a quota whose value was a NaN:
// decoded, re-encoded and decoded again, it compared unequal to itself under a defaulted
// operator== (issue 14; the input is tests/fuzz/corpus/response_decoder_fuzz/
// alter_client_quotas_nan_issue14). Equal messages are the ones that go on the wire the same.
// The NaN of the fuzzer's input: all exponent bits and a payload, sign set.
constexpr std::uint64_t fuzzed_nan_bits = 0xffff'ffff'ffff'e0e0;

template <typename Message>
Message decode(const bytes& encoded, std::int16_t version) {
  Message decoded;
  reader in(encoded);
  decoded.decode(in, version);
  EXPECT_TRUE(in.ok()) << to_string(in.error());
  EXPECT_TRUE(in.at_end());
  return decoded;
}

alter_client_quotas_request quota_request(double value) {
  alter_client_quotas_request request;
  request.entries.push_back({.entity = {{.entity_type = "user", .entity_name = "alice"}},
                             .ops = {{.key = "producer_byte_rate", .value = value}}});
  return request;
}

TEST(protocol_float64_fields, a_nan_quota_round_trips_equal_to_itself) {
  const auto request = quota_request(std::bit_cast<double>(fuzzed_nan_bits));
  EXPECT_TRUE(request == request);
  for (auto version = alter_client_quotas_request::min_version;
       version <= alter_client_quotas_request::max_version; ++version) {
    SCOPED_TRACE("v" + std::to_string(version));
    const auto encoded = encode(request, version);
    const auto decoded = decode<alter_client_quotas_request>(encoded, version);
    EXPECT_TRUE(decoded == request);
    EXPECT_EQ(std::bit_cast<std::uint64_t>(decoded.entries.at(0).ops.at(0).value), fuzzed_nan_bits);
    EXPECT_EQ(encode(decoded, version), encoded);
  }
}

TEST(protocol_float64_fields, values_differing_only_in_bits_differ) {
  EXPECT_FALSE(quota_request(0.0) == quota_request(-0.0));
  EXPECT_FALSE(quota_request(std::numeric_limits<double>::quiet_NaN()) ==
               quota_request(std::bit_cast<double>(fuzzed_nan_bits)));
  EXPECT_TRUE(quota_request(1024.5) == quota_request(1024.5));
  EXPECT_FALSE(quota_request(1024.5) == quota_request(2048.0));
}

TEST(protocol_float64_fields, the_other_fields_still_count) {
  auto renamed = quota_request(1.0);
  renamed.entries.at(0).ops.at(0).key = "consumer_byte_rate";
  EXPECT_FALSE(renamed == quota_request(1.0));
  auto removing = quota_request(1.0);
  removing.entries.at(0).ops.at(0).remove = true;
  EXPECT_FALSE(removing == quota_request(1.0));
  auto tagged = quota_request(1.0);
  tagged.entries.at(0).ops.at(0).unknown_tags.push_back({7, bytes{std::byte{1}}});
  EXPECT_FALSE(tagged == quota_request(1.0));
}

TEST(protocol_float64_fields, a_described_nan_quota_round_trips_equal_to_itself) {
  describe_client_quotas_response response;
  response.entries.emplace();
  response.entries->push_back(
      {.entity = {{.entity_type = "client-id", .entity_name = "app"}},
       .values = {{.key = "request_percentage", .value = std::bit_cast<double>(fuzzed_nan_bits)}}});
  for (auto version = describe_client_quotas_response::min_version;
       version <= describe_client_quotas_response::max_version; ++version) {
    SCOPED_TRACE("v" + std::to_string(version));
    const auto encoded = encode(response, version);
    EXPECT_TRUE(decode<describe_client_quotas_response>(encoded, version) == response);
  }
}

}  // namespace
}  // namespace sluice::kafka::protocol
