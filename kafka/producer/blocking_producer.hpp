#pragma once

// The producer for code that is not asynchronous (kafka-python's KafkaProducer style):
//
//   blocking_producer p(config);                       // connects; throws kafka_error
//   auto sent = p.send("orders", to_bytes("v"));        // queued (waits only for buffer/metadata)
//   record_metadata where = sent.get(std::chrono::seconds(10));
//   p.close();
//
// It runs a `producer` on an io_context of its own, on one thread it owns; every call hands the
// work to that thread and waits for it. Calls may come from any thread. send() returns once the
// record is queued, so records sent one after another from one thread keep their order.
// Lifetime: close() (or the destructor) stops the producer, bounded by its timeout, and joins the
// thread.

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kafka/client/consumer_group_metadata.hpp"
#include "kafka/client/identifiers.hpp"
#include "kafka/client/topic_partition.hpp"
#include "kafka/producer/delivery.hpp"
#include "kafka/producer/producer_config.hpp"
#include "kafka/records/record.hpp"

namespace sluice::kafka {

class blocking_producer {
 public:
  // A record's delivery, to wait for on any thread.
  class future {
   public:
    // The record's metadata; throws the delivery's kafka_error, or kafka_error(request_timed_out)
    // when the outcome is not known within `timeout` (the record may still be delivered later).
    record_metadata get(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());
    bool done() const;

   private:
    friend class blocking_producer;
    explicit future(std::future<record_metadata> result) : result_(std::move(result)) {}
    std::future<record_metadata> result_;
  };

  // Starts the thread and the producer. Throws kafka_error (bad configuration, cannot connect).
  explicit blocking_producer(producer_config config);
  ~blocking_producer();
  blocking_producer(const blocking_producer&) = delete;
  blocking_producer& operator=(const blocking_producer&) = delete;

  future send(std::string topic, std::optional<protocol::bytes> value,
              std::optional<protocol::bytes> key = std::nullopt,
              std::optional<partition_id> partition = std::nullopt,
              std::optional<timestamp_ms> timestamp = std::nullopt,
              std::vector<records::record_header> headers = {});
  void flush();
  std::vector<partition_id> partitions_for(const std::string& topic);

  void begin_transaction();
  void commit_transaction();
  void abort_transaction();
  void send_offsets_to_transaction(std::map<topic_partition, offset_and_metadata> offsets,
                                   consumer_group_metadata group);

  // Flushes (up to `timeout`), stops the producer and joins the thread. Idempotent.
  void close(std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000));

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace sluice::kafka
