#include "kafka/producer/record_accumulator.hpp"

#include <algorithm>

namespace sluice::kafka {

namespace {

// A v2 record's framing, at most: length (varint, 5) + attributes (1) + timestamp delta
// (varlong, 10) + offset delta (varint, 5) + key and value lengths (5 each) + header count (5).
constexpr std::size_t record_overhead = 5 + 1 + 10 + 5 + 5 + 5 + 5;
// Each header: key and value lengths.
constexpr std::size_t header_overhead = 5 + 5;

}  // namespace

record_accumulator::record_accumulator(asio::any_io_executor executor, accumulator_options options)
    : executor_(std::move(executor)), options_(options) {}

topic_queue* record_accumulator::find(std::string_view topic) {
  auto it = topics_.find(topic);
  return it == topics_.end() ? nullptr : it->second.get();
}

topic_queue& record_accumulator::update(const topic_info& info) {
  auto it = topics_.find(std::string_view(info.name));
  if (it == topics_.end()) {
    auto created = std::make_unique<topic_queue>();
    created->name = std::make_shared<const std::string>(info.name);
    it = topics_.emplace(info.name, std::move(created)).first;
  }
  auto& topic = *it->second;
  topic.info = info;
  for (const auto& partition : info.partitions) {
    while (topic.partitions.size() <= static_cast<std::size_t>(partition.partition)) {
      topic.partitions.emplace_back(&topic, static_cast<std::int32_t>(topic.partitions.size()));
    }
    topic.partitions[static_cast<std::size_t>(partition.partition)].leader = partition.leader;
  }
  return topic;
}

std::size_t record_accumulator::estimated_size(std::optional<protocol::bytes_view> key,
                                               std::optional<protocol::bytes_view> value,
                                               std::span<const records::header_view> headers) {
  std::size_t size = record_overhead + (key ? key->size() : 0) + (value ? value->size() : 0);
  for (const auto& header : headers) {
    size += header_overhead + header.key.size() + (header.value ? header.value->size() : 0);
  }
  return size;
}

bool record_accumulator::full(const partition_queue& queue) const {
  if (queue.batches.empty()) return false;
  return queue.batches.size() > 1 ||
         queue.batches.front()->builder.estimated_size() >= options_.batch_size;
}

record_accumulator::append_result record_accumulator::append(
    topic_queue& topic, partition_queue& queue, std::int64_t timestamp,
    std::optional<protocol::bytes_view> key, std::optional<protocol::bytes_view> value,
    std::span<const records::header_view> headers, std::size_t record_size) {
  append_result result;
  producer_batch* batch = queue.batches.empty() ? nullptr : queue.batches.back().get();
  // A batch that was sent once is closed: a retry must send the same records again.
  if (batch != nullptr && (batch->attempts > 0 ||
                           (!batch->builder.empty() &&
                            batch->builder.estimated_size() + record_size > options_.batch_size))) {
    batch = nullptr;
  }
  if (batch == nullptr) {
    records::record_batch_builder_options builder_options;
    builder_options.codec = options_.codec;
    builder_options.level = options_.compression_level;
    builder_options.transactional = options_.transactional;
    auto state = std::make_shared<detail::batch_state>(executor_, topic.name, queue.partition);
    auto created = std::make_unique<producer_batch>(builder_options, std::move(state));
    created->topic = &topic;
    created->queue = &queue;
    created->created = producer_clock::now();
    result.created = created->created;
    created->order = queue.next_order++;
    batch = created.get();
    result.batch_full = !queue.batches.empty();
    queue.batches.push_back(std::move(created));
    result.new_batch = true;
    ++open_batches_;
  }
  const auto index = batch->builder.record_count();
  batch->builder.append(timestamp, key, value, headers);
  batch->state->timestamps.push_back(timestamp);
  batch->reserved += record_size;
  used_ += record_size;
  if (batch->builder.estimated_size() >= options_.batch_size) result.batch_full = true;
  result.handle = delivery(batch->state, index);
  return result;
}

void record_accumulator::requeue(std::unique_ptr<producer_batch> batch) {
  auto& batches = batch->queue->batches;
  auto at =
      std::find_if(batches.begin(), batches.end(),
                   [order = batch->order](const auto& queued) { return queued->order > order; });
  batches.insert(at, std::move(batch));
}

}  // namespace sluice::kafka
