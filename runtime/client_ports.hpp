#pragma once

// The parts of the Kafka consumer and producer the runtime's commit and rebalance path uses, as
// narrow interfaces: the record collector, the checkpoint and the task manager see only these, so
// the ordering of sends, commits, aborts and rewinds is unit-tested with fakes
// (tests/runtime/checkpoint_test.cpp) besides the real-broker tests. make_input_port() and
// kafka_producer_port adapt the real clients; they add nothing but the producer's restart.
//
// One thread: the app's, like the clients behind them.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kafka/client/consumer_group_metadata.hpp"
#include "kafka/client/topic_partition.hpp"
#include "kafka/producer/delivery.hpp"
#include "kafka/producer/producer.hpp"
#include "kafka/producer/producer_config.hpp"
#include "kafka/protocol/wire.hpp"
#include "kafka/records/record.hpp"

namespace sluice::kafka {
class consumer;
class producer;
}  // namespace sluice::kafka

namespace sluice::runtime {

namespace asio = boost::asio;
using offset_map = std::map<kafka::topic_partition, kafka::offset_and_metadata>;

// The group consumer, as the commit path and the task manager use it.
class input_port {
 public:
  virtual ~input_port() = default;
  virtual std::set<kafka::topic_partition> assignment() const = 0;
  virtual kafka::consumer_group_metadata group_metadata() const = 0;
  virtual void pause(const std::vector<kafka::topic_partition>& partitions) = 0;
  virtual void resume(const std::vector<kafka::topic_partition>& partitions) = 0;
  // Waits until no transaction that commits offsets for them is open (require_stable).
  virtual asio::awaitable<
      std::map<kafka::topic_partition, std::optional<kafka::offset_and_metadata>>>
  committed(std::vector<kafka::topic_partition> partitions) = 0;
  virtual asio::awaitable<void> commit(offset_map offsets) = 0;
  virtual asio::awaitable<void> seek_to_committed(
      std::vector<kafka::topic_partition> partitions) = 0;
};

// The producer, as the record collector and the checkpoint use it.
class output_port {
 public:
  virtual ~output_port() = default;
  // nullopt: not queued without waiting, call send().
  virtual std::optional<kafka::delivery> try_send(std::string_view topic,
                                                  std::optional<kafka::protocol::bytes_view> value,
                                                  std::optional<kafka::protocol::bytes_view> key,
                                                  std::optional<kafka::partition_id> partition,
                                                  std::optional<kafka::timestamp_ms> timestamp) = 0;
  virtual asio::awaitable<kafka::delivery> send(
      std::string topic, std::optional<kafka::protocol::bytes> value,
      std::optional<kafka::protocol::bytes> key, std::optional<kafka::partition_id> partition,
      std::optional<kafka::timestamp_ms> timestamp,
      std::vector<kafka::records::record_header> headers) = 0;
  virtual asio::awaitable<void> flush() = 0;
  virtual void begin_transaction() = 0;
  virtual asio::awaitable<void> send_offsets_to_transaction(
      offset_map offsets, kafka::consumer_group_metadata group) = 0;
  virtual asio::awaitable<void> commit_transaction() = 0;
  virtual asio::awaitable<void> abort_transaction() = 0;
  // Replaces a producer that was fenced (its transaction timed out, or its epoch was bumped) with
  // a new session of the same transactional id: InitProducerId gives it a fresh epoch. Every
  // delivery of the old session is gone; the caller rewinds to the committed offsets.
  virtual asio::awaitable<void> restart() = 0;
};

// The real producer behind output_port, owned by it so that restart() can replace it.
class kafka_producer_port final : public output_port {
 public:
  kafka_producer_port(asio::any_io_executor executor, kafka::producer_config config);
  ~kafka_producer_port() override;
  asio::awaitable<void> start();
  asio::awaitable<void> stop();

  std::optional<kafka::delivery> try_send(std::string_view topic,
                                          std::optional<kafka::protocol::bytes_view> value,
                                          std::optional<kafka::protocol::bytes_view> key,
                                          std::optional<kafka::partition_id> partition,
                                          std::optional<kafka::timestamp_ms> timestamp) override;
  asio::awaitable<kafka::delivery> send(
      std::string topic, std::optional<kafka::protocol::bytes> value,
      std::optional<kafka::protocol::bytes> key, std::optional<kafka::partition_id> partition,
      std::optional<kafka::timestamp_ms> timestamp,
      std::vector<kafka::records::record_header> headers) override;
  asio::awaitable<void> flush() override;
  void begin_transaction() override;
  asio::awaitable<void> send_offsets_to_transaction(offset_map offsets,
                                                    kafka::consumer_group_metadata group) override;
  asio::awaitable<void> commit_transaction() override;
  asio::awaitable<void> abort_transaction() override;
  asio::awaitable<void> restart() override;
  // Over every session since the port was made (restart() keeps the counts).
  kafka::producer_statistics statistics() const;

 private:
  asio::any_io_executor executor_;
  kafka::producer_config config_;
  std::unique_ptr<kafka::producer> producer_;
  kafka::producer_statistics earlier_sessions_;
};

std::unique_ptr<input_port> make_input_port(kafka::consumer& consumer);

}  // namespace sluice::runtime
