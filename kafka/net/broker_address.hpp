#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::kafka {

// Where a broker listens. node_id is -1 for a bootstrap address whose node is not known yet.
struct broker_address {
  std::string host;
  std::uint16_t port = 0;
  std::int32_t node_id = -1;

  std::string to_string() const;  // "host:port" ("[::1]:9092" for IPv6 literals)
  bool operator==(const broker_address&) const = default;
};

// Parses "host:port" or "[v6]:port"; nullopt for anything else.
std::optional<broker_address> parse_broker_address(std::string_view text);

// Parses a comma-separated bootstrap list ("a:9092,b:9092"), skipping blanks. Throws
// kafka_error(bad_configuration) naming the first bad entry, or when the list is empty.
std::vector<broker_address> parse_bootstrap_servers(std::string_view text);

}  // namespace sluice::kafka
