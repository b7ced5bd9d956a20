#include "kafka/net/broker_address.hpp"

#include <charconv>

#include "kafka/net/net_error.hpp"
#include "kafka/protocol/error_code.hpp"

namespace sluice::kafka {

std::string broker_address::to_string() const {
  auto bracketed = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return bracketed + ":" + std::to_string(port);
}

std::optional<broker_address> parse_broker_address(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  auto host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // an IPv6 literal must be bracketed
  }
  auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return std::nullopt;
  }
  return broker_address{std::string(host), static_cast<std::uint16_t>(port), -1};
}

std::vector<broker_address> parse_bootstrap_servers(std::string_view text) {
  std::vector<broker_address> addresses;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto entry = text.substr(0, comma);
    if (entry.find_first_not_of(' ') != std::string_view::npos) {
      auto address = parse_broker_address(entry);
      if (!address) {
        throw kafka_error(make_error_code(net_error::bad_configuration),
                          "bootstrap server '" + std::string(entry) + "' is not host:port", false);
      }
      addresses.push_back(*address);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (addresses.empty()) {
    throw kafka_error(make_error_code(net_error::bad_configuration), "no bootstrap servers given",
                      false);
  }
  return addresses;
}

}  // namespace sluice::kafka
