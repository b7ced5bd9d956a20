#pragma once

// recent_counts: a user C++ processor with a window store, driven by stream time (Kafka Streams'
// Processor API with a WindowStore and PunctuationType.STREAM_TIME). For every key it reports how
// many records the key had in the last few minutes of event time, once per minute of stream
// time. Used by examples/runtime/recent_counts.cpp and by the real-broker test
// tests/runtime/recent_counts_it.cpp; docs/architecture.md walks through it.
//
// - Each record adds one to its key's count in the bucket of its timestamp (store "recent", a
//   window store whose windows are the buckets; its retention is `buckets` buckets, so a bucket
//   that can no longer be reported expires by itself).
// - Every `bucket` of stream time, a punctuation forwards, for each key with records in the last
//   `buckets` buckets up to the one stream time is in, {"count": n, "from": the first of those
//   buckets' start, "to": stream time}, keyed by the key and timestamped at stream time.
//
// Stream time and the punctuation schedule are the step's (its "<step>-time" store), so a task
// that moves to another process, or restarts after kill -9, reports exactly what an uninterrupted
// one would: the output depends on the input alone. A record older than the store's retention is
// dropped (and counted by the store), as a late record.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "operators/function_registry.hpp"
#include "operators/processor.hpp"
#include "state/json_serde.hpp"

namespace recent_counts {

namespace ops = sluice::operators;
using std::chrono::milliseconds;

inline constexpr std::string_view store = "recent";

class processor final : public ops::processor {
 public:
  processor(milliseconds bucket, std::int64_t buckets)
      : bucket_(bucket.count()), buckets_(buckets) {}

  void process(const ops::record& in, ops::processor_context& context) override {
    auto& recent = context.window_store(store);
    const auto key = sluice::state::json_serde::serialize(in.key);
    const auto start = bucket_start(in.timestamp);
    const auto stored = recent.fetch(key, start);
    const auto count = stored ? sluice::state::json_serde::deserialize(*stored).as_int64() : 0;
    recent.put(key, start, sluice::state::json_serde::serialize(boost::json::value(count + 1)));
  }

  void punctuate(ops::punctuation_type type, std::int64_t stream_time,
                 ops::processor_context& context) override {
    if (type != ops::punctuation_type::stream_time) return;
    const auto from =
        std::max<std::int64_t>(0, bucket_start(stream_time) - (buckets_ - 1) * bucket_);
    // fetch_all orders by window key bytes, in which keys of different lengths interleave: the
    // counts are summed per key first.
    std::map<std::string, std::int64_t> counts;
    context.window_store(store).fetch_all(
        from, bucket_start(stream_time),
        [&](sluice::state::bytes_view key, std::int64_t, sluice::state::bytes_view value) {
          counts[std::string(key)] += sluice::state::json_serde::deserialize(value).as_int64();
          return true;
        });
    for (const auto& [key, count] : counts) {
      ops::record out;
      out.key = sluice::state::json_serde::deserialize(key);
      out.value = boost::json::object{{"count", count}, {"from", from}, {"to", stream_time}};
      out.timestamp = stream_time;
      context.forward(std::move(out));
    }
  }

 private:
  std::int64_t bucket_start(std::int64_t timestamp) const {
    return timestamp - timestamp % bucket_;
  }

  std::int64_t bucket_;
  std::int64_t buckets_;
};

// The registration: store "recent" (windows of `bucket`, kept `buckets` of them) and a
// stream-time punctuation every `bucket`.
inline ops::registered_processor registration(milliseconds bucket, std::int64_t buckets) {
  return ops::registered_processor{
      .factory = [=] { return std::make_unique<processor>(bucket, buckets); },
      .stores = {ops::window_store_spec(std::string(store), bucket * buckets, bucket)},
      .punctuate_every_stream_time = bucket};
}

}  // namespace recent_counts
