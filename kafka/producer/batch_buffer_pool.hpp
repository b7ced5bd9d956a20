#pragma once

// Spare record batch buffers for the producer (the Java client's BufferPool, for the same
// reasons). A batch's buffers come back once the broker answered for the batch (or it failed for
// good), and the next batch opened is encoded into one of them, so a producer in a steady state
// allocates no batch buffers and touches no fresh pages: with a large batch.size every new buffer
// would otherwise be above glibc's mmap threshold and come zeroed from the kernel, page by page.
//
// Bounded: the spare buffers' capacity stays within `limit` bytes (the producer passes
// buffer_memory, which also bounds the records queued); what does not fit is freed. A buffer given
// back is cleared, so nothing of its old batch can be read or sent through it again.
//
// Threading: owned by the record accumulator, used on the producer's strand only.

#include <cstddef>
#include <vector>

#include "kafka/protocol/wire.hpp"

namespace sluice::kafka {

class batch_buffer_pool {
 public:
  // `buffer_size`: the capacity a new buffer gets (a full batch: batch_size).
  batch_buffer_pool(std::size_t buffer_size, std::size_t limit)
      : buffer_size_(buffer_size), limit_(limit) {}

  // An empty buffer with room for at least buffer_size bytes: a spare one when there is one.
  protocol::bytes acquire();
  // Keeps the buffer for a later acquire(), empty, or frees it (smaller than buffer_size, or no
  // room left under the limit).
  void give_back(protocol::bytes buffer);

  std::size_t spare_buffers() const { return spare_.size(); }
  std::size_t spare_bytes() const { return spare_bytes_; }

 private:
  std::size_t buffer_size_;
  std::size_t limit_;
  std::vector<protocol::bytes> spare_;
  std::size_t spare_bytes_ = 0;
};

}  // namespace sluice::kafka
