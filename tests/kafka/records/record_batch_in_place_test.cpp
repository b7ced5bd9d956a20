// The producer's path through record_batch_builder: finish_into() (the header and CRC written in
// place, the buffer handed over), buffers reused for the next batch, and restamping a finished
// batch. Each must give exactly the bytes of the copying build(), the encoder the producer used
// before, which record_batch_test.cpp checks against the decoder.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kafka/records/record_batch_builder.hpp"
#include "kafka/records/record_batch_decoder.hpp"

namespace sluice::kafka::records {
namespace {

using protocol::bytes;

constexpr std::int64_t producer_id = 4711;
constexpr std::int16_t producer_epoch = 3;
constexpr std::int32_t base_sequence = 42;

// `count` records of `size`-byte values, each value of one letter (`fill`), with a header on
// every third record and a null key on every other.
void fill_builder(record_batch_builder& builder, int count, std::size_t size, char fill) {
  const bytes value(size, static_cast<std::byte>(fill));
  const bytes key = protocol::to_bytes("key");
  const std::vector<header_view> headers = {{"trace", protocol::as_bytes_view("abc")}};
  for (int i = 0; i < count; ++i) {
    builder.append(
        1'700'000'000'000 + i, i % 2 == 0 ? std::optional<protocol::bytes_view>(key) : std::nullopt,
        value, i % 3 == 0 ? std::span<const header_view>(headers) : std::span<const header_view>());
  }
}

class in_place_test : public ::testing::TestWithParam<compression> {
 protected:
  record_batch_builder_options options() const {
    return {.codec = GetParam(),
            .producer_id = producer_id,
            .producer_epoch = producer_epoch,
            .base_sequence = base_sequence};
  }
};

TEST_P(in_place_test, finished_batch_equals_the_copying_build) {
  record_batch_builder builder(options());
  fill_builder(builder, 50, 1024, 'a');
  const auto copied = builder.build();
  const auto size = builder.estimated_size();

  bytes finished;
  ASSERT_FALSE(builder.finish_into(finished));
  EXPECT_EQ(finished, copied);
  EXPECT_TRUE(builder.finished());
  EXPECT_EQ(builder.record_count(), 50) << "what the builder held stays readable";
  EXPECT_EQ(builder.estimated_size(), size);

  record_batch_decoder decoder(finished);
  const auto* header = decoder.next();
  ASSERT_NE(header, nullptr) << "the CRC is checked by the decoder";
  EXPECT_EQ(header->record_count, 50);
  EXPECT_EQ(header->base_sequence, base_sequence);
  EXPECT_EQ(decoder.records().size(), 50U);
}

TEST_P(in_place_test, a_finished_builder_takes_no_more_records) {
  record_batch_builder builder(options());
  fill_builder(builder, 2, 10, 'a');
  bytes finished;
  ASSERT_FALSE(builder.finish_into(finished));
  EXPECT_THROW(fill_builder(builder, 1, 10, 'b'), std::logic_error);
}

TEST_P(in_place_test, a_reused_buffer_carries_no_old_bytes) {
  // The first batch is long, so its buffer holds old bytes far past where the second one ends.
  record_batch_builder first(options());
  fill_builder(first, 40, 1000, 'o');
  bytes first_batch;
  ASSERT_FALSE(first.finish_into(first_batch));
  auto reused = GetParam() == compression::none ? std::move(first_batch) : first.release_buffer();
  const auto* old_storage = reused.data();

  record_batch_builder second(options(), std::move(reused));
  fill_builder(second, 3, 100, 'n');
  record_batch_builder fresh(options());
  fill_builder(fresh, 3, 100, 'n');
  const auto expected = fresh.build();

  bytes second_batch;
  ASSERT_FALSE(second.finish_into(second_batch));
  EXPECT_EQ(second_batch, expected);
  if (GetParam() == compression::none) {
    EXPECT_EQ(second_batch.data(), old_storage) << "the batch was encoded in the reused buffer";
  }
}

TEST_P(in_place_test, restamping_equals_building_with_the_new_producer_state) {
  record_batch_builder builder(options());
  fill_builder(builder, 20, 300, 'r');
  bytes finished;
  ASSERT_FALSE(builder.finish_into(finished));

  auto bumped = options();
  bumped.producer_epoch = producer_epoch + 1;
  bumped.base_sequence = 0;
  record_batch_builder rebuilt(bumped);
  fill_builder(rebuilt, 20, 300, 'r');

  restamp_record_batch(finished, producer_id, producer_epoch + 1, 0);
  EXPECT_EQ(finished, rebuilt.build());
}

INSTANTIATE_TEST_SUITE_P(all, in_place_test, ::testing::ValuesIn(all_compressions),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(record_batch_builder, empty_builder_finishes_to_nothing) {
  record_batch_builder builder;
  bytes out = protocol::to_bytes("untouched");
  ASSERT_FALSE(builder.finish_into(out));
  EXPECT_EQ(out, protocol::to_bytes("untouched"));
  EXPECT_FALSE(builder.finished());
}

}  // namespace
}  // namespace sluice::kafka::records
