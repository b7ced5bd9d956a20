#pragma once

// The consumer for code that is not asynchronous (kafka-python's KafkaConsumer style):
//
//   blocking_consumer c(config);                  // connects; throws kafka_error
//   c.subscribe({"orders"});
//   for (const auto& record : c) { ... }           // blocks for each record
//   // or: auto records = c.poll(std::chrono::seconds(1));
//   c.commit();
//   c.close();
//
// It runs a `consumer` on an io_context of its own, on one thread it owns; every call hands the
// work to that thread and waits for it, so calls may come from any thread (one at a time is the
// sensible use, as with any consumer). Records stay valid after the call returns, on any thread:
// each keeps its fetched buffer alive.
//
// A rebalance listener's callbacks run on the consumer's thread while the consumer waits for
// them; they must not call this blocking_consumer (that would wait for the very thread the
// callback runs on). Code that seeks in on_partitions_assigned uses the asynchronous consumer.
//
// Lifetime: close() (or the destructor) commits when auto commit is on, leaves the group, stops
// the consumer and joins the thread.

#include <chrono>
#include <cstddef>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "kafka/client/consumer_group_metadata.hpp"
#include "kafka/client/identifiers.hpp"
#include "kafka/consumer/consumer_config.hpp"
#include "kafka/consumer/consumer_record.hpp"
#include "kafka/consumer/rebalance_listener.hpp"
#include "kafka/consumer/topic_partition.hpp"

namespace sluice::kafka {

class consumer;

class blocking_consumer {
 public:
  // Starts the thread and the consumer. `iteration_timeout` is kafka-python's
  // consumer_timeout_ms: iteration (begin()/end()) ends after that long without a record;
  // the default iterates for ever. Throws kafka_error (bad configuration, cannot connect).
  explicit blocking_consumer(consumer_config config, std::chrono::milliseconds iteration_timeout =
                                                         std::chrono::milliseconds::max());
  ~blocking_consumer();
  blocking_consumer(const blocking_consumer&) = delete;
  blocking_consumer& operator=(const blocking_consumer&) = delete;

  // ---- partitions ----------------------------------------------------------------------------
  void subscribe(std::vector<std::string> topics,
                 std::shared_ptr<rebalance_listener> listener = nullptr);
  void subscribe(std::regex pattern, std::shared_ptr<rebalance_listener> listener = nullptr);
  void unsubscribe();
  std::set<std::string> subscription();
  void assign(std::vector<topic_partition> partitions);
  std::set<topic_partition> assignment();

  // ---- records -------------------------------------------------------------------------------
  // Up to max_records (0: max_poll_records) records, waiting up to `timeout` for the first.
  // Empty when nothing arrived in time.
  std::vector<consumer_record> poll(std::chrono::milliseconds timeout, std::size_t max_records = 0);
  // One record, waiting up to `timeout`; nullopt when none arrived in time.
  std::optional<consumer_record> next(std::chrono::milliseconds timeout);

  // Blocking iteration: each step waits up to iteration_timeout for the next record. It takes one
  // record at a time from the consumer (whose fetches are batched), so the consumer's position,
  // and therefore commit() and auto commit, never run ahead of what the loop has seen.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = consumer_record;
    using difference_type = std::ptrdiff_t;
    using pointer = const consumer_record*;
    using reference = const consumer_record&;

    iterator() = default;
    reference operator*() const { return *current_; }
    pointer operator->() const { return &*current_; }
    iterator& operator++();
    void operator++(int) { ++*this; }
    bool operator==(const iterator& other) const {
      return owner_ == other.owner_;  // every end() and every finished iterator are equal
    }

   private:
    friend class blocking_consumer;
    explicit iterator(blocking_consumer* owner) : owner_(owner) { ++*this; }
    blocking_consumer* owner_ = nullptr;
    std::optional<consumer_record> current_;
  };
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

  // ---- offsets -------------------------------------------------------------------------------
  // Commits the position of every assigned partition (what was handed out so far), or `offsets`.
  void commit();
  void commit(std::map<topic_partition, offset_and_metadata> offsets);
  std::map<topic_partition, std::optional<offset_and_metadata>> committed(
      std::vector<topic_partition> partitions);
  void seek(const topic_partition& partition, log_offset offset);
  void seek_to_beginning(std::vector<topic_partition> partitions = {});
  void seek_to_end(std::vector<topic_partition> partitions = {});
  // The offset of the next record poll() or iteration returns.
  log_offset position(const topic_partition& partition);
  std::map<topic_partition, log_offset> beginning_offsets(std::vector<topic_partition> partitions);
  std::map<topic_partition, log_offset> end_offsets(std::vector<topic_partition> partitions);
  std::map<topic_partition, std::optional<offset_and_timestamp>> offsets_for_times(
      std::map<topic_partition, timestamp_ms> timestamps);
  std::set<std::string> topics();
  std::optional<std::set<partition_id>> partitions_for_topic(const std::string& topic);

  void pause(std::vector<topic_partition> partitions);
  void resume(std::vector<topic_partition> partitions);
  consumer_group_metadata group_metadata();

  // Commits (auto commit), leaves the group, stops the consumer and joins the thread. Idempotent.
  void close();

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace sluice::kafka
