#include "runtime/client_ports.hpp"

#include "kafka/consumer/consumer.hpp"
#include "kafka/producer/producer.hpp"

namespace sluice::runtime {
namespace {

class kafka_input_port final : public input_port {
 public:
  explicit kafka_input_port(kafka::consumer& consumer) : consumer_(consumer) {}

  std::set<kafka::topic_partition> assignment() const override { return consumer_.assignment(); }
  kafka::consumer_group_metadata group_metadata() const override {
    return consumer_.group_metadata();
  }
  void pause(const std::vector<kafka::topic_partition>& partitions) override {
    consumer_.pause(partitions);
  }
  void resume(const std::vector<kafka::topic_partition>& partitions) override {
    consumer_.resume(partitions);
  }
  asio::awaitable<std::map<kafka::topic_partition, std::optional<kafka::offset_and_metadata>>>
  committed(std::vector<kafka::topic_partition> partitions) override {
    co_return co_await consumer_.committed(std::move(partitions));
  }
  asio::awaitable<void> commit(offset_map offsets) override {
    co_await consumer_.commit(std::move(offsets));
  }
  asio::awaitable<void> seek_to_committed(std::vector<kafka::topic_partition> partitions) override {
    co_await consumer_.seek_to_committed(std::move(partitions));
  }

 private:
  kafka::consumer& consumer_;
};

}  // namespace

std::unique_ptr<input_port> make_input_port(kafka::consumer& consumer) {
  return std::make_unique<kafka_input_port>(consumer);
}

kafka_producer_port::kafka_producer_port(asio::any_io_executor executor,
                                         kafka::producer_config config)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      producer_(std::make_unique<kafka::producer>(executor_, config_)) {}

kafka_producer_port::~kafka_producer_port() = default;

asio::awaitable<void> kafka_producer_port::start() {
  co_await producer_->start();
}

asio::awaitable<void> kafka_producer_port::stop() {
  co_await producer_->stop();
}

asio::awaitable<void> kafka_producer_port::restart() {
  // The old session's records are worthless (its transaction is aborted); do not wait for them.
  constexpr std::chrono::milliseconds no_wait{0};
  auto old = std::exchange(producer_, std::make_unique<kafka::producer>(executor_, config_));
  co_await old->stop(no_wait);
  earlier_sessions_ += old->statistics();
  co_await producer_->start();
}

kafka::producer_statistics kafka_producer_port::statistics() const {
  auto total = earlier_sessions_;
  total += producer_->statistics();
  return total;
}

std::optional<kafka::delivery> kafka_producer_port::try_send(
    std::string_view topic, std::optional<kafka::protocol::bytes_view> value,
    std::optional<kafka::protocol::bytes_view> key, std::optional<kafka::partition_id> partition,
    std::optional<kafka::timestamp_ms> timestamp) {
  return producer_->try_send(topic, value, key, partition, timestamp);
}

asio::awaitable<kafka::delivery> kafka_producer_port::send(
    std::string topic, std::optional<kafka::protocol::bytes> value,
    std::optional<kafka::protocol::bytes> key, std::optional<kafka::partition_id> partition,
    std::optional<kafka::timestamp_ms> timestamp,
    std::vector<kafka::records::record_header> headers) {
  co_return co_await producer_->send(std::move(topic), std::move(value), std::move(key), partition,
                                     timestamp, std::move(headers));
}

asio::awaitable<void> kafka_producer_port::flush() {
  co_await producer_->flush();
}

void kafka_producer_port::begin_transaction() {
  producer_->begin_transaction();
}

asio::awaitable<void> kafka_producer_port::send_offsets_to_transaction(
    offset_map offsets, kafka::consumer_group_metadata group) {
  co_await producer_->send_offsets_to_transaction(std::move(offsets), std::move(group));
}

asio::awaitable<void> kafka_producer_port::commit_transaction() {
  co_await producer_->commit_transaction();
}

asio::awaitable<void> kafka_producer_port::abort_transaction() {
  co_await producer_->abort_transaction();
}

}  // namespace sluice::runtime
