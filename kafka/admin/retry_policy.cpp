#include "kafka/admin/retry_policy.hpp"

#include <algorithm>
#include <random>

namespace sluice::kafka::admin_retry {

handling after_failure(const kafka_error& failure) noexcept {
  if (failure.code().category() != kafka_category()) {
    if (!failure.retriable()) return handling::give_up;
    // A broker that hung up or cannot be reached may have left the cluster, or handed its
    // leadership or controller role on: the next attempt should route afresh.
    return handling::refresh_metadata;
  }
  switch (classify(failure.kafka_code())) {
    case error_action::none:
    case error_action::retry:
      return handling::retry;
    case error_action::refresh_metadata_and_retry:
      return handling::refresh_metadata;
    case error_action::find_coordinator_and_retry:
      return handling::find_coordinator;
    case error_action::abortable:
    case error_action::fatal:
      return handling::give_up;
  }
  return handling::give_up;
}

bool retry_item(error_code code, bool unknown_topic_is_final) noexcept {
  if (code == error_code::none) return false;
  if (unknown_topic_is_final &&
      (code == error_code::unknown_topic_or_partition || code == error_code::unknown_topic_id)) {
    return false;
  }
  switch (classify(code)) {
    case error_action::retry:
    case error_action::refresh_metadata_and_retry:
    case error_action::find_coordinator_and_retry:
      return true;
    default:
      return false;
  }
}

bool item_needs_metadata(error_code code) noexcept {
  return classify(code) == error_action::refresh_metadata_and_retry;
}

std::chrono::milliseconds backoff(std::chrono::milliseconds base, std::chrono::milliseconds max,
                                  int attempt) {
  static thread_local std::mt19937 random{std::random_device{}()};
  const auto doubled = base.count() << std::clamp(attempt, 0, 20);
  const auto capped = std::min<std::int64_t>(doubled, max.count());
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return std::chrono::milliseconds(std::max<std::int64_t>(
      1, static_cast<std::int64_t>(static_cast<double>(capped) * jitter(random))));
}

std::string message_of(const std::system_error& error) {
  std::string text = error.what();
  const std::string suffix = ": " + error.code().message();
  if (text.size() >= suffix.size() &&
      text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0) {
    text.resize(text.size() - suffix.size());
  }
  return text;
}

kafka_error with_context(const kafka_error& failure, const std::string& context) {
  const auto message = context + ": " + message_of(failure);
  if (failure.code().category() == kafka_category())
    return kafka_error(failure.kafka_code(), message);
  return kafka_error(failure.code(), message, failure.retriable());
}

}  // namespace sluice::kafka::admin_retry
