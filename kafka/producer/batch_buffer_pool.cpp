#include "kafka/producer/batch_buffer_pool.hpp"

namespace sluice::kafka {

protocol::bytes batch_buffer_pool::acquire() {
  if (spare_.empty()) {
    protocol::bytes fresh;
    fresh.reserve(buffer_size_);
    return fresh;
  }
  auto reused = std::move(spare_.back());
  spare_.pop_back();
  spare_bytes_ -= reused.capacity();
  return reused;
}

void batch_buffer_pool::give_back(protocol::bytes buffer) {
  const auto capacity = buffer.capacity();
  if (capacity < buffer_size_ || spare_bytes_ + capacity > limit_) return;
  buffer.clear();
  spare_bytes_ += capacity;
  spare_.push_back(std::move(buffer));
}

}  // namespace sluice::kafka
