#pragma once

// input_decoder: decodes the records of a batch (their keys and values by the source's formats,
// and the copies out of the fetch buffer) on a thread of its own, ahead of the loop that
// processes them (issue 13: decoding was a fifth of the stateless job's loop, and the loop is one
// thread). Decoding depends on nothing but a record's bytes and its topic's formats, so it runs
// ahead without touching tasks, stores or processors; the loop still processes every record in
// order on its own thread, and what it gets from here is what it would have decoded itself.
//
// Work is shared, never waited for: each record of the batch has a claim. The worker claims the
// records in order and decodes them. The loop, at its record, takes the worker's result if it is
// there; if the record is unclaimed it claims it and decodes it itself, and if the worker is on
// it right now it decodes its own copy. So a slow or descheduled worker never holds the loop up,
// and the loop can let a batch go at any time: the worker holds its own reference to the batch
// until it notices, and a record it did not decode (bad JSON, a topic with no formats) is decoded
// by the loop, which reports the error as before.
//
// Threading: start(), take() and finish() on the loop's thread only; the worker is this object's
// thread, joined by the destructor.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kafka/consumer/consumer_record.hpp"
#include "operators/data_format.hpp"
#include "operators/record.hpp"
#include "operators/topology.hpp"

namespace sluice::runtime {

// The record as the operators take it: origin, timestamp, headers and, with `with_bytes`, copies
// of its key and value.
operators::raw_record to_raw_record(const kafka::consumer_record& in, bool with_bytes = true);

// A record converted and decoded ahead of its turn: `raw` without key and value bytes (they are
// in `decoded`).
struct decoded_record {
  operators::raw_record raw;
  operators::decoded_input decoded;
};

// Which record of which batch (start()'s number, from 1; 0: none) the decoder may hold.
struct decoder_slot {
  std::uint64_t batch = 0;
  std::size_t index = 0;
};

struct source_formats {
  operators::data_format key = operators::data_format::string;
  operators::data_format value = operators::data_format::json;
};
using formats_by_topic = std::map<std::string, source_formats, std::less<>>;

// Every source topic of the plan's sub-topologies (tables' too) with its formats.
formats_by_topic source_formats_of(const operators::topology_plan& plan);

class input_decoder {
 public:
  // A smaller batch is not worth a hand-over to the worker (a wake-up costs a few microseconds).
  static constexpr std::size_t min_batch = 64;

  explicit input_decoder(formats_by_topic formats);
  ~input_decoder();
  input_decoder(const input_decoder&) = delete;
  input_decoder& operator=(const input_decoder&) = delete;

  // Lets the worker decode `batch` ahead, from its first record on. Lets go of the previous
  // batch. The records' fetch buffers stay alive as long as either thread holds the batch.
  // Returns the batch's number.
  std::uint64_t start(std::shared_ptr<const std::vector<kafka::consumer_record>> batch);
  // The record decoded, or nullopt: decode it yourself (not decoded yet, being decoded right
  // now, not decodable, taken before, or not of the current batch). After this call the record
  // is the loop's: the worker does not start on it, and a second take gives nullopt.
  std::optional<decoded_record> take(decoder_slot slot);
  // Lets go of the current batch: the worker stops at its next record.
  void finish();

  // Records whose decoding the loop took from the worker (a metric: how much ran ahead).
  std::uint64_t taken_from_worker() const { return taken_from_worker_; }
  // Whether the worker is through with record `index` of the current batch (tests).
  bool worker_done(std::size_t index) const;

 private:
  struct job;

  // The record converted and decoded, or nullopt: it does not decode (the error is the loop's to
  // report).
  static std::optional<decoded_record> decode(const kafka::consumer_record& in,
                                              const source_formats& formats);
  void work();

  const formats_by_topic formats_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::shared_ptr<job> next_job_;  // under mutex_
  bool stopping_ = false;          // under mutex_
  std::shared_ptr<job> current_;   // the loop's
  std::uint64_t batches_ = 0;      // started so far: the current one's number
  std::uint64_t taken_from_worker_ = 0;
  std::thread worker_;
};

}  // namespace sluice::runtime
