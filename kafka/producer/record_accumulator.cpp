#include "kafka/producer/record_accumulator.hpp"

#include <algorithm>

namespace sluice::kafka {

namespace {

// A v2 record's framing, at most: length (varint, 5) + attributes (1) + timestamp delta
// (varlong, 10) + offset delta (varint, 5) + key and value lengths (5 each) + header count (5).
constexpr std::size_t record_overhead = 5 + 1 + 10 + 5 + 5 + 5 + 5;
// Each header: key and value lengths.
constexpr std::size_t header_overhead = 5 + 5;

// Java's MemoryRecordsBuilder.COMPRESSION_RATE_ESTIMATION_FACTOR and CompressionRatioEstimator's
// steps.
constexpr float compression_estimation_factor = 1.05F;
constexpr float compression_ratio_deteriorate_step = 0.05F;
constexpr float compression_ratio_improving_step = 0.005F;

}  // namespace

record_accumulator::record_accumulator(asio::any_io_executor executor, accumulator_options options)
    : executor_(std::move(executor)),
      options_(options),
      buffers_(options.batch_size, options.buffer_memory) {}

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

std::size_t record_accumulator::estimated_batch_bytes(const producer_batch& batch) const {
  const auto uncompressed = batch.builder.estimated_size();
  if (options_.codec == records::compression::none) return uncompressed;
  const auto records = uncompressed - records::batch_layout::header_size;
  return records::batch_layout::header_size +
         static_cast<std::size_t>(static_cast<float>(records) * batch.topic->compression_ratio *
                                  compression_estimation_factor);
}

std::size_t record_accumulator::estimated_record_bytes(const topic_queue& topic,
                                                       std::size_t record_size) const {
  if (options_.codec == records::compression::none) return record_size;
  return static_cast<std::size_t>(static_cast<float>(record_size) * topic.compression_ratio *
                                  compression_estimation_factor);
}

void record_accumulator::observe_compression(topic_queue& topic, std::size_t uncompressed,
                                             std::size_t compressed) const {
  constexpr auto header = records::batch_layout::header_size;
  if (options_.codec == records::compression::none || uncompressed <= header || compressed < header)
    return;
  const auto observed =
      static_cast<float>(compressed - header) / static_cast<float>(uncompressed - header);
  auto& ratio = topic.compression_ratio;
  if (!topic.compression_observed) {
    topic.compression_observed = true;
    ratio = observed;
  } else if (observed > ratio) {
    ratio = std::max(ratio + compression_ratio_deteriorate_step, observed);
  } else if (observed < ratio) {
    ratio = std::max(ratio - compression_ratio_improving_step, observed);
  }
}

bool record_accumulator::full(const partition_queue& queue) const {
  if (queue.batches.empty()) return false;
  const auto& front = *queue.batches.front();
  return queue.batches.size() > 1 || front.closed ||
         estimated_batch_bytes(front) >= options_.batch_size ||
         front.builder.estimated_size() >= options_.max_uncompressed_batch;
}

record_accumulator::append_result record_accumulator::append(
    topic_queue& topic, partition_queue& queue, std::int64_t timestamp,
    std::optional<protocol::bytes_view> key, std::optional<protocol::bytes_view> value,
    std::span<const records::header_view> headers, std::size_t record_size) {
  append_result result;
  producer_batch* batch = queue.batches.empty() ? nullptr : queue.batches.back().get();
  // A batch that was encoded (sent, or about to be) is closed: a retry must send the same records
  // again.
  if (batch != nullptr &&
      (batch->encoded != nullptr || batch->builder.finished() || batch->attempts > 0 ||
       batch->closed ||
       (!batch->builder.empty() &&
        (estimated_batch_bytes(*batch) + record_size > options_.batch_size ||
         batch->builder.estimated_size() + record_size >
             std::max(options_.batch_size, options_.max_uncompressed_batch))))) {
    batch = nullptr;
  }
  if (batch == nullptr) {
    records::record_batch_builder_options builder_options;
    builder_options.codec = options_.codec;
    builder_options.level = options_.compression_level;
    builder_options.transactional = options_.transactional;
    auto state = std::make_shared<detail::batch_state>(executor_, topic.name, queue.partition);
    auto created =
        std::make_unique<producer_batch>(builder_options, std::move(state), buffers_.acquire());
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
  if (estimated_batch_bytes(*batch) >= options_.batch_size ||
      batch->builder.estimated_size() >= options_.max_uncompressed_batch)
    result.batch_full = true;
  if (result.batch_full && options_.codec != records::compression::none &&
      !topic.compression_observed) {
    // The topic's first full batch is compressed once more, here, to learn the ratio before the
    // next batches are cut (one extra compression per topic; the sender compresses it again
    // once it is stamped).
    const auto& closed = (result.new_batch && queue.batches.size() > 1)
                             ? *queue.batches[queue.batches.size() - 2]
                             : *batch;
    protocol::bytes sample;
    if (!closed.builder.empty() && !closed.builder.finished() && !closed.builder.build_to(sample))
      observe_compression(topic, closed.builder.estimated_size(), sample.size());
  }
  result.handle = delivery(batch->state, index);
  return result;
}

delivery record_accumulator::append_batch(topic_queue& topic, partition_queue& queue,
                                          records::record_batch_builder builder,
                                          std::vector<std::int64_t> timestamps,
                                          std::size_t reserved) {
  auto state = std::make_shared<detail::batch_state>(executor_, topic.name, queue.partition);
  state->timestamps = std::move(timestamps);
  auto created = std::make_unique<producer_batch>(std::move(builder), state);
  created->topic = &topic;
  created->queue = &queue;
  created->created = producer_clock::now();
  created->order = queue.next_order++;
  created->closed = true;
  created->reserved = reserved;
  used_ += reserved;
  queue.batches.push_back(std::move(created));
  ++open_batches_;
  return delivery(std::move(state), 0);
}

void record_accumulator::release(producer_batch& batch) {
  used_ -= batch.reserved;
  buffers_.give_back(batch.builder.release_buffer());
  if (batch.encoded != nullptr && batch.encoded.use_count() == 1)
    buffers_.give_back(std::move(*batch.encoded));
  batch.encoded.reset();
}

void record_accumulator::requeue(std::unique_ptr<producer_batch> batch) {
  auto& batches = batch->queue->batches;
  auto at =
      std::find_if(batches.begin(), batches.end(),
                   [order = batch->order](const auto& queued) { return queued->order > order; });
  batches.insert(at, std::move(batch));
}

}  // namespace sluice::kafka
