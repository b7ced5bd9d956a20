#include "runtime/task_input.hpp"

namespace sluice::runtime {

task_input::task_input(std::vector<kafka::topic_partition> partitions) {
  for (auto& p : partitions) buffers_.emplace_back(std::move(p), std::deque<buffered_record>{});
}

void task_input::add(kafka::consumer_record record, decoder_slot slot) {
  for (auto& [partition, records] : buffers_) {
    if (partition.partition == record.partition && partition.topic == record.topic) {
      records.push_back({std::move(record), slot});
      ++buffered_;
      return;
    }
  }
  // not an input of this task
}

std::vector<kafka::topic_partition> task_input::empty_partitions() const {
  std::vector<kafka::topic_partition> out;
  for (const auto& [partition, records] : buffers_) {
    if (records.empty()) out.push_back(partition);
  }
  return out;
}

std::optional<task_input::buffered_record> task_input::next(
    const std::vector<kafka::topic_partition>& not_caught_up, clock::time_point now,
    clock::duration max_idle) {
  emptied_ = false;
  if (buffered_ == 0) {
    waiting_since_.reset();
    return std::nullopt;
  }
  if (!not_caught_up.empty()) {
    if (!waiting_since_) waiting_since_ = now;
    if (now - *waiting_since_ < max_idle) return std::nullopt;
  } else {
    waiting_since_.reset();
  }
  std::deque<buffered_record>* oldest = nullptr;
  for (auto& [partition, records] : buffers_) {
    if (!records.empty() && (oldest == nullptr ||
                             records.front().record.timestamp < oldest->front().record.timestamp)) {
      oldest = &records;
    }
  }
  auto record = std::move(oldest->front());
  oldest->pop_front();
  --buffered_;
  emptied_ = oldest->empty();
  return record;
}

void task_input::clear() {
  for (auto& [partition, records] : buffers_) records.clear();
  buffered_ = 0;
  waiting_since_.reset();
}

}  // namespace sluice::runtime
