#include "kafka/producer/batch_builder.hpp"

#include <chrono>
#include <stdexcept>

#include "kafka/client/clock.hpp"
#include "kafka/producer/record_accumulator.hpp"

namespace sluice::kafka {

batch_builder::batch_builder(records::record_batch_builder_options options, std::size_t batch_size)
    : builder_(options), batch_size_(batch_size) {}

std::optional<batch_record_metadata> batch_builder::append(
    std::optional<protocol::bytes_view> key, std::optional<protocol::bytes_view> value,
    std::optional<timestamp_ms> timestamp, std::span<const records::header_view> headers) {
  if (sent_) throw std::logic_error("batch_builder::append: the batch was already sent");
  const auto size = record_accumulator::estimated_size(key, value, headers);
  if (!builder_.empty() && builder_.estimated_size() + size > batch_size_) return std::nullopt;
  const auto at = timestamp ? timestamp->value() : wall_clock_ms();
  const auto index = builder_.record_count();
  builder_.append(at, key, value, headers);
  timestamps_.push_back(at);
  reserved_ += size;
  return batch_record_metadata{index, at, size};
}

}  // namespace sluice::kafka
