#include "kafka/producer/batch_buffer_pool.hpp"

#include <gtest/gtest.h>

namespace sluice::kafka {
namespace {

constexpr std::size_t batch_size = 1000;

TEST(batch_buffer_pool, a_new_buffer_has_room_for_a_batch) {
  batch_buffer_pool pool(batch_size, 10 * batch_size);
  auto buffer = pool.acquire();
  EXPECT_TRUE(buffer.empty());
  EXPECT_GE(buffer.capacity(), batch_size);
}

TEST(batch_buffer_pool, a_buffer_given_back_is_reused_empty) {
  batch_buffer_pool pool(batch_size, 10 * batch_size);
  auto buffer = pool.acquire();
  buffer.assign(batch_size, std::byte{0x5a});
  const auto* storage = buffer.data();
  pool.give_back(std::move(buffer));
  EXPECT_EQ(pool.spare_buffers(), 1U);

  auto reused = pool.acquire();
  EXPECT_EQ(reused.data(), storage) << "the same memory, not a new allocation";
  EXPECT_TRUE(reused.empty()) << "nothing of the old batch is readable through it";
  EXPECT_EQ(pool.spare_buffers(), 0U);
  EXPECT_EQ(pool.spare_bytes(), 0U);
}

TEST(batch_buffer_pool, keeps_no_more_than_its_limit) {
  batch_buffer_pool pool(batch_size, 2 * batch_size);
  std::vector<protocol::bytes> buffers(3);
  for (auto& buffer : buffers) buffer = pool.acquire();
  const auto capacity = buffers.front().capacity();
  for (auto& buffer : buffers) pool.give_back(std::move(buffer));
  EXPECT_EQ(pool.spare_buffers(), 2 * batch_size / capacity);
  EXPECT_LE(pool.spare_bytes(), 2 * batch_size);
}

TEST(batch_buffer_pool, drops_buffers_too_small_for_a_batch) {
  batch_buffer_pool pool(batch_size, 10 * batch_size);
  protocol::bytes small;
  small.reserve(batch_size / 2);
  pool.give_back(std::move(small));
  pool.give_back(protocol::bytes{});
  EXPECT_EQ(pool.spare_buffers(), 0U);
}

}  // namespace
}  // namespace sluice::kafka
