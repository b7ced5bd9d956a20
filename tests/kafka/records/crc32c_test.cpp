#include "kafka/records/crc32c.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

namespace sluice::kafka::records {
namespace {

using protocol::bytes;

bytes filled(std::size_t size, std::uint8_t value) {
  return bytes(size, static_cast<std::byte>(value));
}

// RFC 3720 (iSCSI) appendix B.4 vectors and the classic "123456789" check value.
TEST(crc32c, matches_published_vectors) {
  EXPECT_EQ(crc32c(protocol::as_bytes_view("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(filled(32, 0x00)), 0x8A9136AAu);
  EXPECT_EQ(crc32c(filled(32, 0xFF)), 0x62A8AB43u);
  bytes ascending(32);
  for (std::size_t i = 0; i < ascending.size(); ++i) ascending[i] = static_cast<std::byte>(i);
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
  bytes descending(32);
  for (std::size_t i = 0; i < descending.size(); ++i)
    descending[i] = static_cast<std::byte>(31 - i);
  EXPECT_EQ(crc32c(descending), 0x113FDB5Cu);
  EXPECT_EQ(crc32c({}), 0u);
}

TEST(crc32c, hardware_and_portable_paths_agree_on_every_length_and_alignment) {
  std::mt19937 random(42);
  bytes data(4096 + 7);
  for (auto& b : data) b = static_cast<std::byte>(random());
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t length = 0; length + offset <= 300; ++length) {
      auto slice = protocol::bytes_view(data).subspan(offset, length);
      ASSERT_EQ(crc32c_extend_portable(0, slice), crc32c_extend_hardware(0, slice))
          << "offset " << offset << " length " << length;
    }
  }
  EXPECT_EQ(crc32c_extend_portable(0, data), crc32c_extend_hardware(0, data));
  EXPECT_EQ(crc32c_extend_portable(0x12345678u, data), crc32c_extend_hardware(0x12345678u, data));
}

TEST(crc32c, extend_equals_crc_of_concatenation) {
  auto whole = protocol::as_bytes_view("The quick brown fox jumps over the lazy dog");
  for (std::size_t split = 0; split <= whole.size(); ++split) {
    auto first = crc32c(whole.first(split));
    EXPECT_EQ(crc32c_extend(first, whole.subspan(split)), crc32c(whole));
    EXPECT_EQ(
        crc32c_extend_portable(crc32c_extend_portable(0, whole.first(split)), whole.subspan(split)),
        crc32c(whole));
  }
}

TEST(crc32c, reports_whether_the_cpu_path_is_used) {
#if defined(__x86_64__)
  EXPECT_EQ(crc32c_hardware_available(), static_cast<bool>(__builtin_cpu_supports("sse4.2")));
#else
  EXPECT_FALSE(crc32c_hardware_available());
#endif
}

}  // namespace
}  // namespace sluice::kafka::records
