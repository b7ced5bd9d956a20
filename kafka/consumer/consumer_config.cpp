#include "kafka/consumer/consumer_config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <random>

#include "kafka/consumer/assignor.hpp"
#include "kafka/net/net_error.hpp"
#include "kafka/protocol/error_code.hpp"

namespace sluice::kafka {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

[[noreturn]] void bad(const std::string& what) {
  throw kafka_error(make_error_code(net_error::bad_configuration), "consumer config: " + what,
                    false);
}

void require_non_negative(std::int64_t value, const char* name) {
  if (value < 0) bad(std::string(name) + " must be >= 0 (got " + std::to_string(value) + ")");
}

void require_positive(std::int64_t value, const char* name) {
  if (value <= 0) bad(std::string(name) + " must be > 0 (got " + std::to_string(value) + ")");
}

}  // namespace

const char* to_string(auto_offset_reset reset) noexcept {
  switch (reset) {
    case auto_offset_reset::earliest:
      return "earliest";
    case auto_offset_reset::latest:
      return "latest";
    case auto_offset_reset::none:
      return "none";
  }
  return "unknown";
}

const char* to_string(isolation_level level) noexcept {
  return level == isolation_level::read_committed ? "read_committed" : "read_uncommitted";
}

std::optional<auto_offset_reset> parse_auto_offset_reset(std::string_view text) {
  for (auto reset :
       {auto_offset_reset::earliest, auto_offset_reset::latest, auto_offset_reset::none}) {
    if (iequals(text, to_string(reset))) return reset;
  }
  return std::nullopt;
}

std::optional<isolation_level> parse_isolation_level(std::string_view text) {
  for (auto level : {isolation_level::read_uncommitted, isolation_level::read_committed}) {
    if (iequals(text, to_string(level))) return level;
  }
  return std::nullopt;
}

const char* to_string(group_protocol_type protocol) noexcept {
  return protocol == group_protocol_type::consumer ? "consumer" : "classic";
}

std::optional<group_protocol_type> parse_group_protocol(std::string_view text) {
  for (auto protocol : {group_protocol_type::classic, group_protocol_type::consumer}) {
    if (iequals(text, to_string(protocol))) return protocol;
  }
  return std::nullopt;
}

void consumer_config::validate() const {
  if (bootstrap_servers.empty()) bad("bootstrap_servers is empty");
  require_non_negative(fetch_min_bytes, "fetch_min_bytes");
  require_non_negative(fetch_max_bytes, "fetch_max_bytes");
  require_non_negative(fetch_max_wait.count(), "fetch_max_wait");
  require_non_negative(max_partition_fetch_bytes, "max_partition_fetch_bytes");
  require_positive(max_poll_records, "max_poll_records");
  require_positive(max_poll_interval.count(), "max_poll_interval");
  require_positive(session_timeout.count(), "session_timeout");
  require_positive(heartbeat_interval.count(), "heartbeat_interval");
  require_non_negative(auto_commit_interval.count(), "auto_commit_interval");
  require_positive(request_timeout.count(), "request_timeout");
  require_positive(default_api_timeout.count(), "default_api_timeout");
  if (fetch_max_bytes < fetch_min_bytes) {
    bad("fetch_max_bytes (" + std::to_string(fetch_max_bytes) +
        ") is smaller than fetch_min_bytes (" + std::to_string(fetch_min_bytes) + ")");
  }
  // A Fetch parks on the broker for up to fetch_max_wait; a request timeout below that would close
  // the connection under every idle fetch.
  if (request_timeout <= fetch_max_wait) {
    bad("request_timeout (" + std::to_string(request_timeout.count()) +
        " ms) must exceed fetch_max_wait (" + std::to_string(fetch_max_wait.count()) + " ms)");
  }
  if (heartbeat_interval >= session_timeout) {
    bad("heartbeat_interval (" + std::to_string(heartbeat_interval.count()) +
        " ms) must be lower than session_timeout (" + std::to_string(session_timeout.count()) +
        " ms)");
  }
  if (group_instance_id) {
    if (group_id.empty())
      bad("group_instance_id is set but group_id is empty (static membership needs a group)");
    if (group_instance_id->empty()) bad("group_instance_id is set but empty");
  }
  if (group_remote_assignor) {
    if (group_protocol != group_protocol_type::consumer) {
      bad("group_remote_assignor is set but group_protocol is classic (server-side assignors are "
          "KIP-848's; set group_protocol = consumer)");
    }
    if (group_remote_assignor->empty()) bad("group_remote_assignor is set but empty");
  }
  if (!group_id.empty() && group_protocol == group_protocol_type::classic) {
    if (assignment_strategies.empty())
      bad("assignment_strategies is empty (a group member needs an assignor)");
    std::vector<std::string> custom_names;
    for (const auto& custom : custom_assignors) {
      if (!custom) bad("custom_assignors holds a null assignor");
      auto name = custom->name();
      if (name.empty()) bad("a custom assignor has an empty name()");
      if (make_builtin_assignor(name)) {
        bad("custom assignor '" + name + "' has the name of a built-in assignor");
      }
      if (std::find(custom_names.begin(), custom_names.end(), name) != custom_names.end()) {
        bad("two custom assignors are named '" + name + "'");
      }
      if (std::find(assignment_strategies.begin(), assignment_strategies.end(), name) ==
          assignment_strategies.end()) {
        bad("custom assignor '" + name + "' is not listed in assignment_strategies");
      }
      custom_names.push_back(std::move(name));
    }
    for (const auto& name : assignment_strategies) {
      if (!make_builtin_assignor(name) &&
          std::find(custom_names.begin(), custom_names.end(), name) == custom_names.end()) {
        bad("unknown assignment strategy '" + name +
            "' (known: range, roundrobin, sticky, cooperative-sticky, or a custom_assignors "
            "name)");
      }
    }
    for (std::size_t i = 0; i < assignment_strategies.size(); ++i) {
      for (std::size_t j = i + 1; j < assignment_strategies.size(); ++j) {
        if (assignment_strategies[i] == assignment_strategies[j]) {
          bad("assignment strategy '" + assignment_strategies[i] + "' is listed twice");
        }
      }
    }
  }
}

// Java's Uuid.randomUuid().toString(): 16 random bytes, URL-safe base64 without padding.
std::string new_group_member_id() {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::random_device seed;
  std::mt19937_64 random(
      (static_cast<std::uint64_t>(seed()) << 32U) ^ static_cast<std::uint64_t>(seed()) ^
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::array<std::uint8_t, 16> bytes{};
  for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (auto b : bytes) {
    buffer = (buffer << 8U) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(buffer >> static_cast<unsigned>(bits)) & 0x3FU]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(buffer << static_cast<unsigned>(6 - bits)) & 0x3FU]);
  return out;
}

}  // namespace sluice::kafka
