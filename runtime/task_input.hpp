#pragma once

// task_input: the fetched, not yet processed records of a task that reads several input
// partitions (a stream and the tables it joins, or several source topics), and which one goes
// next: the head with the smallest timestamp across the partitions (Kafka Streams'
// PartitionGroup), so that results do not depend on the order fetches happen to return. A table
// row written before an order is applied before the order is joined, even when the order's
// partition was fetched first.
//
// An empty partition holds the task back while it is not caught up (the broker has records for
// it past what was fetched: they may be older than every head), for at most `max_idle` per wait
// (Kafka Streams' max.task.idle.ms); after that the task goes on with what it has. Tasks with a
// single input partition do not use it: their records go straight to the processor.
//
// One thread: the stream_app's. The records keep their fetch buffers alive.

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "kafka/client/topic_partition.hpp"
#include "kafka/consumer/consumer_record.hpp"
#include "runtime/input_decoder.hpp"

namespace sluice::runtime {

class task_input {
 public:
  using clock = std::chrono::steady_clock;
  struct buffered_record {
    kafka::consumer_record record;
    decoder_slot slot;  // where the input_decoder may have decoded it ahead
  };

  explicit task_input(std::vector<kafka::topic_partition> partitions);

  void add(kafka::consumer_record record, decoder_slot slot = {});
  bool empty() const { return buffered_ == 0; }
  std::size_t partitions() const { return buffers_.size(); }
  std::size_t buffered() const { return buffered_; }
  // Input partitions with nothing buffered: the caller says which of them are caught up.
  std::vector<kafka::topic_partition> empty_partitions() const;

  // The next record to process, or nullopt: nothing buffered, or waiting for a partition in
  // `not_caught_up` (the empty ones that still have records on the broker) for less than max_idle.
  std::optional<buffered_record> next(const std::vector<kafka::topic_partition>& not_caught_up,
                                      clock::time_point now, clock::duration max_idle);

  // Whether the last next() took a partition's last buffered record (its lag needs a new look).
  bool emptied_a_partition() const { return emptied_; }

  // After a rewind to the committed offsets: the buffered records come again.
  void clear();

 private:
  // A handful of partitions: a vector searched by topic view, no key built per record.
  std::vector<std::pair<kafka::topic_partition, std::deque<buffered_record>>> buffers_;
  std::size_t buffered_ = 0;
  bool emptied_ = false;
  std::optional<clock::time_point> waiting_since_;
};

}  // namespace sluice::runtime
