// A writer that borrows long BYTES fields instead of copying them (the producer's record batches)
// must describe exactly the bytes a copying writer writes, once the borrowed spans are spliced in.
#include <gtest/gtest.h>

#include "kafka/protocol/messages/produce.hpp"
#include "kafka/protocol/wire.hpp"

namespace sluice::kafka::protocol {
namespace {

constexpr std::size_t borrow_from = 100;

bytes spliced(const bytes& written, const std::vector<borrowed_span>& borrowed) {
  bytes whole;
  std::size_t from = 0;
  for (const auto& span : borrowed) {
    whole.insert(whole.end(), written.begin() + static_cast<std::ptrdiff_t>(from),
                 written.begin() + static_cast<std::ptrdiff_t>(span.at));
    whole.insert(whole.end(), span.data.begin(), span.data.end());
    from = span.at;
  }
  whole.insert(whole.end(), written.begin() + static_cast<std::ptrdiff_t>(from), written.end());
  return whole;
}

produce_request request_with_batches() {
  produce_request request;
  request.acks = -1;
  request.timeout_ms = 30'000;
  request.transactional_id = std::string(300, 't');  // long, but a string: never borrowed
  request.topic_data.push_back({.name = "orders"});
  auto& partitions = request.topic_data.back().partition_data;
  partitions.push_back({.index = 0, .records = bytes(5000, std::byte{0x11})});
  partitions.push_back({.index = 1, .records = bytes(borrow_from - 1, std::byte{0x22})});
  partitions.push_back({.index = 2, .records = bytes(borrow_from, std::byte{0x33})});
  return request;
}

TEST(borrowed_bytes, long_byte_fields_are_noted_not_copied) {
  bytes written;
  std::vector<borrowed_span> borrowed;
  writer out(written, borrowed, borrow_from);
  const bytes large(borrow_from, std::byte{1});
  const bytes small(borrow_from - 1, std::byte{2});
  out.bytes(large);
  out.compact_bytes(small);
  out.string(std::string(borrow_from, 's'));
  ASSERT_EQ(borrowed.size(), 1U);
  EXPECT_EQ(borrowed[0].at, 4U) << "after the length";
  EXPECT_EQ(borrowed[0].data.data(), large.data()) << "the caller's bytes, uncopied";
  EXPECT_EQ(written.size(), 4 + 1 + small.size() + 2 + borrow_from);
}

TEST(borrowed_bytes, a_produce_request_spliced_equals_the_copied_one) {
  const auto request = request_with_batches();
  for (std::int16_t version : {std::int16_t{3}, std::int16_t{9}, std::int16_t{12}}) {
    bytes copied;
    writer copying(copied);
    request.encode(copying, version);

    bytes written;
    std::vector<borrowed_span> borrowed;
    writer borrowing(written, borrowed, borrow_from);
    request.encode(borrowing, version);

    EXPECT_EQ(borrowed.size(), 2U) << "the 5000- and 100-byte batches, at v" << version;
    EXPECT_EQ(spliced(written, borrowed), copied) << "v" << version;
  }
}

}  // namespace
}  // namespace sluice::kafka::protocol
