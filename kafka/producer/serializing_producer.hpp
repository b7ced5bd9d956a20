#pragma once

// A producer of typed keys and values (Java's KafkaProducer<K, V> with key.serializer and
// value.serializer; aiokafka's key_serializer/value_serializer):
//
//   serializing_producer<std::string, boost::json::value> p(executor, config);
//   co_await p.start();
//   co_await p.send_and_wait("orders", boost::json::value{{"id", 7}}, std::string("k7"));
//   co_await p.stop();
//
// Keys and values go through the serializers (see serializer.hpp; defaults by type, or any
// callable `(topic, const T&) -> protocol::bytes`) before they reach the producer; a null key or
// value is sent as null. A serializer that throws fails the call with serialization_error naming
// the topic and whether the key or the value failed; nothing is queued then.
// serializing_blocking_producer does the same over blocking_producer.
//
// Lifetime and threading: those of the producer it owns (see producer.hpp and
// blocking_producer.hpp); base() reaches it for transactions, flush(), partitions_for() and
// create_batch()/send_batch().

#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kafka/producer/blocking_producer.hpp"
#include "kafka/producer/producer.hpp"
#include "kafka/producer/serializer.hpp"

namespace sluice::kafka {

namespace detail {

template <typename T, typename Serializer>
std::optional<protocol::bytes> serialize(const Serializer& serializer, const std::string& topic,
                                         const std::optional<T>& data, const char* what) {
  if (!data) return std::nullopt;
  try {
    return protocol::bytes(serializer(topic, *data));
  } catch (const std::exception& e) {
    throw serialization_error("send to '" + topic + "': serializing the " + what +
                              " failed: " + e.what());
  }
}

}  // namespace detail

template <typename Key, typename Value,
          serializer_for<Key> KeySerializer = default_serializer_t<Key>,
          serializer_for<Value> ValueSerializer = default_serializer_t<Value>>
class serializing_producer {
 public:
  serializing_producer(asio::any_io_executor executor, producer_config config,
                       KeySerializer key_serializer = {}, ValueSerializer value_serializer = {})
      : producer_(std::move(executor), std::move(config)),
        key_serializer_(std::move(key_serializer)),
        value_serializer_(std::move(value_serializer)) {}

  asio::awaitable<void> start() { return producer_.start(); }
  asio::awaitable<void> stop(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000)) {
    return producer_.stop(timeout);
  }
  asio::awaitable<void> flush() { return producer_.flush(); }

  // producer::send() with the key and value serialized first (here, before the call returns).
  asio::awaitable<delivery> send(std::string topic, std::optional<Value> value,
                                 std::optional<Key> key = std::nullopt,
                                 std::optional<partition_id> partition = std::nullopt,
                                 std::optional<timestamp_ms> timestamp = std::nullopt,
                                 std::vector<records::record_header> headers = {}) {
    auto value_bytes = detail::serialize(value_serializer_, topic, value, "value");
    auto key_bytes = detail::serialize(key_serializer_, topic, key, "key");
    return producer_.send(std::move(topic), std::move(value_bytes), std::move(key_bytes), partition,
                          timestamp, std::move(headers));
  }
  asio::awaitable<record_metadata> send_and_wait(
      std::string topic, std::optional<Value> value, std::optional<Key> key = std::nullopt,
      std::optional<partition_id> partition = std::nullopt,
      std::optional<timestamp_ms> timestamp = std::nullopt,
      std::vector<records::record_header> headers = {}) {
    auto value_bytes = detail::serialize(value_serializer_, topic, value, "value");
    auto key_bytes = detail::serialize(key_serializer_, topic, key, "key");
    return producer_.send_and_wait(std::move(topic), std::move(value_bytes), std::move(key_bytes),
                                   partition, timestamp, std::move(headers));
  }

  producer& base() { return producer_; }
  const KeySerializer& key_serializer() const { return key_serializer_; }
  const ValueSerializer& value_serializer() const { return value_serializer_; }

 private:
  producer producer_;
  KeySerializer key_serializer_;
  ValueSerializer value_serializer_;
};

template <typename Key, typename Value,
          serializer_for<Key> KeySerializer = default_serializer_t<Key>,
          serializer_for<Value> ValueSerializer = default_serializer_t<Value>>
class serializing_blocking_producer {
 public:
  // Connects (see blocking_producer); throws kafka_error.
  explicit serializing_blocking_producer(producer_config config, KeySerializer key_serializer = {},
                                         ValueSerializer value_serializer = {})
      : producer_(std::move(config)),
        key_serializer_(std::move(key_serializer)),
        value_serializer_(std::move(value_serializer)) {}

  blocking_producer::future send(std::string topic, std::optional<Value> value,
                                 std::optional<Key> key = std::nullopt,
                                 std::optional<partition_id> partition = std::nullopt,
                                 std::optional<timestamp_ms> timestamp = std::nullopt,
                                 std::vector<records::record_header> headers = {}) {
    auto value_bytes = detail::serialize(value_serializer_, topic, value, "value");
    auto key_bytes = detail::serialize(key_serializer_, topic, key, "key");
    return producer_.send(std::move(topic), std::move(value_bytes), std::move(key_bytes), partition,
                          timestamp, std::move(headers));
  }
  void flush() { producer_.flush(); }
  void close(std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000)) {
    producer_.close(timeout);
  }

  blocking_producer& base() { return producer_; }

 private:
  blocking_producer producer_;
  KeySerializer key_serializer_;
  ValueSerializer value_serializer_;
};

}  // namespace sluice::kafka
