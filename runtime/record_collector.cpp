#include "runtime/record_collector.hpp"

#include <spdlog/spdlog.h>

#include <set>

namespace sluice::runtime {
namespace {

// Completed handles at the front are checked and dropped once this many are held.
constexpr std::size_t prune_threshold = 4096;

std::optional<kafka::protocol::bytes> to_kafka_bytes(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return kafka::protocol::to_bytes(*text);
}

std::optional<kafka::protocol::bytes_view> view_of(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return kafka::protocol::as_bytes_view(*text);
}

std::vector<kafka::records::record_header> to_kafka_headers(
    const std::vector<operators::header>& headers) {
  std::vector<kafka::records::record_header> out;
  out.reserve(headers.size());
  for (const auto& h : headers) out.push_back({h.key, to_kafka_bytes(h.value)});
  return out;
}

}  // namespace

output_port& record_collector::producer_for(std::string_view topic) {
  if (other_clusters_.empty()) return producer_;  // one cluster: no lookup per record
  const auto route = other_clusters_.find(topic);
  return route == other_clusters_.end() ? producer_ : *route->second;
}

asio::awaitable<void> record_collector::send(const operators::output_record& record) {
  try {
    auto& producer = producer_for(record.topic);
    if (record.headers.empty()) {
      if (auto queued = producer.try_send(record.topic, view_of(record.value), view_of(record.key),
                                          std::nullopt, kafka::timestamp_ms{record.timestamp})) {
        track(std::move(*queued));
        co_return;
      }
    }
    auto delivery = co_await producer.send(
        record.topic, to_kafka_bytes(record.value), to_kafka_bytes(record.key), std::nullopt,
        kafka::timestamp_ms{record.timestamp}, to_kafka_headers(record.headers));
    track(std::move(delivery));
  } catch (const std::exception&) {
    note_failure(std::current_exception());
  }
}

asio::awaitable<kafka::delivery> record_collector::send_changelog(
    const kafka::topic_partition& changelog, std::string_view key,
    const std::optional<std::string>& value) {
  kafka::delivery delivery;
  try {
    auto key_view = kafka::protocol::as_bytes_view(key);
    if (auto queued = producer_.try_send(changelog.topic, view_of(value), key_view,
                                         kafka::partition_id{changelog.partition}, std::nullopt)) {
      delivery = std::move(*queued);
    } else {
      delivery = co_await producer_.send(
          changelog.topic, to_kafka_bytes(value), kafka::protocol::to_bytes(key),
          kafka::partition_id{changelog.partition}, std::nullopt, {});
    }
    track(delivery);
  } catch (const std::exception&) {
    note_failure(std::current_exception());
  }
  co_return delivery;
}

void record_collector::track(kafka::delivery delivery) {
  in_flight_.push_back(std::move(delivery));
  if (in_flight_.size() < prune_threshold) return;
  while (!in_flight_.empty() && in_flight_.front().done()) {
    note(in_flight_.front());
    in_flight_.pop_front();
  }
}

void record_collector::note(const kafka::delivery& done) {
  if (first_failure_) return;
  try {
    (void)done.result();
  } catch (const std::exception&) {
    note_failure(std::current_exception());
  }
}

void record_collector::note_failure(std::exception_ptr failure) {
  if (first_failure_) return;
  first_failure_ = failure;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    spdlog::warn("a record could not be written; the next commit fails on it: {}", e.what());
  }
}

void record_collector::check() {
  for (auto it = in_flight_.begin(); it != in_flight_.end() && !first_failure_; ++it) {
    if (it->done()) note(*it);
  }
  if (first_failure_) std::rethrow_exception(first_failure_);
}

asio::awaitable<void> record_collector::confirm() {
  co_await producer_.flush();
  std::set<output_port*> others;  // several topics may share a cluster's producer
  for (const auto& [topic, producer] : other_clusters_) others.insert(producer);
  for (auto* producer : others) co_await producer->flush();
  // flush() returns when every record queued before it has its outcome; a handle still open
  // here means a record the producer lost track of, which must fail the commit, not pass it.
  for (const auto& delivery : in_flight_) {
    if (!delivery.done()) {
      note_failure(std::make_exception_ptr(
          std::logic_error("a record's delivery is still unknown after flush()")));
    }
  }
  check();
}

void record_collector::reset() {
  in_flight_.clear();
  first_failure_ = nullptr;
}

}  // namespace sluice::runtime
