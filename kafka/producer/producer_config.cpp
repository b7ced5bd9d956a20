#include "kafka/producer/producer_config.hpp"

#include <algorithm>
#include <cctype>

#include "kafka/net/net_error.hpp"
#include "kafka/protocol/error_code.hpp"

namespace sluice::kafka {

namespace {

// The broker keeps the last five batches per producer and partition to recognise retried
// duplicates (KAFKA-5494), so more than five in flight could not be deduplicated.
constexpr std::int32_t max_idempotent_in_flight = 5;

[[noreturn]] void bad(const std::string& what) {
  throw kafka_error(make_error_code(net_error::bad_configuration),
                    "producer configuration: " + what, false);
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

const char* to_string(acks value) noexcept {
  switch (value) {
    case acks::none:
      return "0";
    case acks::leader:
      return "1";
    case acks::all:
      return "all";
  }
  return "unknown";
}

std::optional<acks> parse_acks(std::string_view text) {
  auto value = lower(text);
  if (value == "0") return acks::none;
  if (value == "1") return acks::leader;
  if (value == "all" || value == "-1") return acks::all;
  return std::nullopt;
}

std::optional<records::compression> parse_compression(std::string_view text) {
  auto value = lower(text);
  for (auto codec : records::all_compressions) {
    if (value == records::to_string(codec)) return codec;
  }
  return std::nullopt;
}

bool producer_config::idempotent() const {
  if (enable_idempotence) return *enable_idempotence;
  // Java's default: on, unless another setting conflicts (then quietly off).
  return acks == kafka::acks::all && retries != 0 &&
         max_in_flight_requests_per_connection <= max_idempotent_in_flight;
}

void producer_config::validate() const {
  if (bootstrap_servers.empty()) bad("bootstrap_servers is empty");
  if (linger.count() < 0)
    bad("linger must not be negative (got " + std::to_string(linger.count()) + " ms)");
  if (batch_size == 0) bad("batch_size must be positive");
  if (max_request_size == 0) bad("max_request_size must be positive");
  if (buffer_memory < batch_size) {
    bad("buffer_memory (" + std::to_string(buffer_memory) +
        " bytes) must be at least batch_size (" + std::to_string(batch_size) + " bytes)");
  }
  if (request_timeout.count() <= 0) bad("request_timeout must be positive");
  if (max_block.count() < 0) bad("max_block must not be negative");
  if (retries < 0) bad("retries must not be negative (got " + std::to_string(retries) + ")");
  if (max_in_flight_requests_per_connection < 1) {
    bad("max_in_flight_requests_per_connection must be at least 1 (got " +
        std::to_string(max_in_flight_requests_per_connection) + ")");
  }
  // Java's rule: a batch must be able to linger and then wait a full request timeout.
  if (delivery_timeout < linger + request_timeout) {
    bad("delivery_timeout (" + std::to_string(delivery_timeout.count()) +
        " ms) must be at least linger + request_timeout (" + std::to_string(linger.count()) +
        " + " + std::to_string(request_timeout.count()) + " ms)");
  }
  if (!records::valid_compression_level(compression, compression_level)) {
    bad("compression_level " + std::to_string(compression_level) + " is not valid for " +
        records::to_string(compression) + " (gzip 1..9, lz4 1..17, zstd -131072..22, snappy none)");
  }
  if (enable_idempotence.value_or(false)) {
    if (acks != kafka::acks::all) {
      bad(std::string("enable_idempotence requires acks=all (got acks=") + to_string(acks) +
          "): otherwise the broker cannot guarantee idempotence");
    }
    if (retries == 0) bad("enable_idempotence requires retries > 0");
    if (max_in_flight_requests_per_connection > max_idempotent_in_flight) {
      bad("enable_idempotence requires max_in_flight_requests_per_connection <= 5 (got " +
          std::to_string(max_in_flight_requests_per_connection) + ")");
    }
  }
  if (transactional_id) {
    if (transactional_id->empty()) bad("transactional_id must not be empty");
    if (!idempotent()) {
      bad(std::string("transactional_id requires idempotence, which ") +
          (enable_idempotence ? "enable_idempotence=false turns off"
                              : "is off because of acks=" + std::string(to_string(acks)) +
                                    ", retries=" + std::to_string(retries) +
                                    " or max_in_flight_requests_per_connection=" +
                                    std::to_string(max_in_flight_requests_per_connection)));
    }
    if (transaction_timeout.count() <= 0) bad("transaction_timeout must be positive");
  }
  if (partitioner_ignore_keys && partitioner) {
    bad("partitioner_ignore_keys applies to the built-in partitioner only, but a partitioner is "
        "set");
  }
}

}  // namespace sluice::kafka
