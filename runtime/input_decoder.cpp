#include "runtime/input_decoder.hpp"

#include <utility>

namespace sluice::runtime {
namespace {

// A record's claim: who decodes it.
enum claim : std::uint8_t {
  claim_free,
  claim_worker_decoding,
  claim_worker_decoded,  // its result is in job::results (nullopt if it did not decode)
  claim_loop,            // taken by the loop: the worker leaves it alone
};

std::optional<std::string_view> bytes_of(const std::optional<kafka::protocol::bytes_view>& part) {
  if (!part) return std::nullopt;
  return kafka::protocol::as_string_view(*part);
}

}  // namespace

operators::raw_record to_raw_record(const kafka::consumer_record& in, bool with_bytes) {
  operators::raw_record raw;
  raw.origin = {std::string(in.topic), in.partition, in.offset};
  if (with_bytes) {
    if (in.key) raw.key = std::string(kafka::protocol::as_string_view(*in.key));
    if (in.value) raw.value = std::string(kafka::protocol::as_string_view(*in.value));
  }
  raw.timestamp = in.timestamp;
  raw.headers.reserve(in.headers.size());
  for (const auto& h : in.headers) {
    std::optional<std::string> value;
    if (h.value) value = std::string(kafka::protocol::as_string_view(*h.value));
    raw.headers.push_back({std::string(h.key), std::move(value)});
  }
  return raw;
}

formats_by_topic source_formats_of(const operators::topology_plan& plan) {
  formats_by_topic formats;
  for (const auto& sub : plan.sub_topologies) {
    for (const auto& source : sub.sources) {
      for (const auto& topic : source.topics)
        formats.emplace(topic, source_formats{source.key_format, source.value_format});
    }
  }
  return formats;
}

struct input_decoder::job {
  explicit job(std::shared_ptr<const std::vector<kafka::consumer_record>> batch)
      : records(std::move(batch)),
        claims(std::make_unique<std::atomic<std::uint8_t>[]>(records->size())),
        results(records->size()) {}

  std::shared_ptr<const std::vector<kafka::consumer_record>> records;
  std::unique_ptr<std::atomic<std::uint8_t>[]> claims;  // value-initialised: claim_free
  std::vector<std::optional<decoded_record>> results;   // [i] written by whoever claimed i
  std::atomic<bool> let_go{false};
};

input_decoder::input_decoder(formats_by_topic formats)
    : formats_(std::move(formats)), worker_([this] { work(); }) {}

input_decoder::~input_decoder() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
    if (current_) current_->let_go.store(true, std::memory_order_relaxed);
  }
  wake_.notify_one();
  worker_.join();
}

std::optional<decoded_record> input_decoder::decode(const kafka::consumer_record& in,
                                                    const source_formats& formats) {
  decoded_record out{to_raw_record(in, false), {}};
  using operators::record_part;
  auto key =
      operators::decode_bytes(formats.key, bytes_of(in.key), record_part::key, out.raw.origin);
  if (!key) return std::nullopt;
  auto value = operators::decode_bytes(formats.value, bytes_of(in.value), record_part::value,
                                       out.raw.origin);
  if (!value) return std::nullopt;
  out.decoded = {std::move(key).value(), std::move(value).value()};
  return out;
}

std::uint64_t input_decoder::start(
    std::shared_ptr<const std::vector<kafka::consumer_record>> batch) {
  finish();
  current_ = std::make_shared<job>(std::move(batch));
  {
    const std::lock_guard lock(mutex_);
    next_job_ = current_;
  }
  wake_.notify_one();
  return ++batches_;
}

std::optional<decoded_record> input_decoder::take(decoder_slot slot) {
  const std::size_t index = slot.index;
  if (!current_ || slot.batch != batches_ || index >= current_->results.size()) return std::nullopt;
  auto& claim = current_->claims[index];
  std::uint8_t seen = claim_free;
  // Not come to yet, or being decoded right now: the record is the loop's from here on (the
  // worker's result, if it finishes one, is dropped with the batch).
  if (claim.compare_exchange_strong(seen, claim_loop, std::memory_order_acquire)) {
    return std::nullopt;
  }
  if (seen == claim_worker_decoding &&
      claim.compare_exchange_strong(seen, claim_loop, std::memory_order_acquire)) {
    return std::nullopt;
  }
  if (seen != claim_worker_decoded) return std::nullopt;  // taken before
  claim.store(claim_loop, std::memory_order_relaxed);
  auto& result = current_->results[index];
  if (!result) return std::nullopt;
  ++taken_from_worker_;
  return std::exchange(result, std::nullopt);
}

bool input_decoder::worker_done(std::size_t index) const {
  return current_ && index < current_->results.size() &&
         current_->claims[index].load(std::memory_order_acquire) == claim_worker_decoded;
}

void input_decoder::finish() {
  if (!current_) return;
  current_->let_go.store(true, std::memory_order_relaxed);
  current_.reset();
}

void input_decoder::work() {
  for (;;) {
    std::shared_ptr<job> j;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || next_job_ != nullptr; });
      if (stopping_) return;
      j = std::move(next_job_);
    }
    const auto& records = *j->records;
    // Records of one fetch share their topic's text: compare the view before the name.
    std::string_view last_topic;
    const source_formats* formats = nullptr;
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (j->let_go.load(std::memory_order_relaxed)) break;
      std::uint8_t seen = claim_free;
      if (!j->claims[i].compare_exchange_strong(seen, claim_worker_decoding,
                                                std::memory_order_acquire)) {
        continue;  // the loop has it
      }
      const auto& in = records[i];
      if (in.topic.data() != last_topic.data() || in.topic.size() != last_topic.size()) {
        auto found = formats_.find(in.topic);
        formats = found == formats_.end() ? nullptr : &found->second;
        last_topic = in.topic;
      }
      if (formats != nullptr) j->results[i] = decode(in, *formats);
      // The loop may have taken the record meanwhile: then nobody reads this result.
      seen = claim_worker_decoding;
      j->claims[i].compare_exchange_strong(seen, claim_worker_decoded, std::memory_order_release,
                                           std::memory_order_relaxed);
    }
  }
}

}  // namespace sluice::runtime
