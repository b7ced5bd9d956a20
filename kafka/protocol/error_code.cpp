#include "kafka/protocol/error_code.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace sluice::kafka {

namespace {

struct error_info {
  error_code code;
  const char* name;  // lower_snake_case, as in the enum
  bool retriable;
  const char* description;
};

constexpr error_info errors[] = {
#define SLUICE_KAFKA_ERROR(name, code, retriable, description) \
  {error_code::name, #name, retriable, description},
#include "kafka/protocol/messages/error_table.inc"
#undef SLUICE_KAFKA_ERROR
};

const error_info* find(error_code code) noexcept {
  auto it = std::find_if(std::begin(errors), std::end(errors),
                         [code](const error_info& info) { return info.code == code; });
  return it == std::end(errors) ? nullptr : &*it;
}

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "kafka"; }
  std::string message(int value) const override {
    auto code = static_cast<error_code>(value);
    return error_name(code) + ": " + std::string(error_description(code));
  }
};

}  // namespace

std::string error_name(error_code code) {
  const auto* info = find(code);
  if (info == nullptr) return "UNKNOWN_ERROR_CODE_" + std::to_string(static_cast<int>(code));
  std::string name = info->name;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return name;
}

std::string_view error_description(error_code code) noexcept {
  const auto* info = find(code);
  return info == nullptr ? "an error code this client does not know" : info->description;
}

bool is_retriable(error_code code) noexcept {
  const auto* info = find(code);
  return info != nullptr && info->retriable;
}

bool is_known(std::int16_t code) noexcept {
  return find(static_cast<error_code>(code)) != nullptr;
}

const std::error_category& kafka_category() noexcept {
  static const category instance;
  return instance;
}

error_action classify(error_code code) noexcept {
  switch (code) {
    case error_code::none:
      return error_action::none;
    // Routing went stale: the partition, its leader or the topic id moved.
    case error_code::not_leader_or_follower:
    case error_code::leader_not_available:
    case error_code::unknown_topic_or_partition:
    case error_code::unknown_topic_id:
    case error_code::fenced_leader_epoch:
    case error_code::unknown_leader_epoch:
    case error_code::not_controller:
    case error_code::kafka_storage_error:
    case error_code::offset_not_available:
    case error_code::inconsistent_topic_id:
      return error_action::refresh_metadata_and_retry;
    // The group or transaction coordinator moved, or is still loading its state.
    case error_code::not_coordinator:
    case error_code::coordinator_not_available:
      return error_action::find_coordinator_and_retry;
    case error_code::coordinator_load_in_progress:
    case error_code::concurrent_transactions:
      return error_action::retry;
    // A transaction can be aborted and tried again (KIP-360, KIP-890).
    case error_code::invalid_producer_epoch:
    case error_code::transaction_abortable:
    case error_code::invalid_txn_state:
      return error_action::abortable;
    // Zombie fencing and authentication are never retried.
    case error_code::producer_fenced:
    case error_code::transactional_id_authorization_failed:
    case error_code::cluster_authorization_failed:
    case error_code::sasl_authentication_failed:
    case error_code::unsupported_version:
    case error_code::unsupported_for_message_format:
      return error_action::fatal;
    default:
      return is_retriable(code) ? error_action::retry : error_action::fatal;
  }
}

const char* to_string(error_action action) noexcept {
  switch (action) {
    case error_action::none:
      return "none";
    case error_action::retry:
      return "retry";
    case error_action::refresh_metadata_and_retry:
      return "refresh metadata and retry";
    case error_action::find_coordinator_and_retry:
      return "find coordinator and retry";
    case error_action::abortable:
      return "abort the transaction";
    case error_action::fatal:
      return "fatal";
  }
  return "unknown";
}

kafka_error::kafka_error(error_code code, const std::string& what_failed)
    : std::system_error(make_error_code(code), what_failed),
      kafka_code_(code),
      retriable_(classify(code) != error_action::fatal &&
                 classify(code) != error_action::abortable) {}

kafka_error::kafka_error(std::error_code code, const std::string& what_failed, bool retriable)
    : std::system_error(code, what_failed),
      kafka_code_(error_code::unknown_server_error),
      retriable_(retriable) {}

}  // namespace sluice::kafka
