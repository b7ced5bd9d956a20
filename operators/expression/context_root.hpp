#pragma once

// context_root: the names an expression can read from its evaluation context (`key`, `value`,
// `timestamp`, `topic`, `partition`, `offset`, `headers`), and root_set, the set of them an
// expression refers to. The runtime uses referenced_roots() to skip work an expression does not
// need (decoding a key nobody reads, building a headers object).

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace sluice::operators {

enum class context_root : std::uint8_t { key, value, timestamp, topic, partition, offset, headers };

inline constexpr std::size_t context_root_count = 7;

std::string_view to_string(context_root root);
std::optional<context_root> context_root_from_name(std::string_view name);

class root_set {
 public:
  void insert(context_root root) { bits_ |= bit(root); }
  bool contains(context_root root) const { return (bits_ & bit(root)) != 0; }
  bool empty() const { return bits_ == 0; }
  // The members in declaration order (key, value, timestamp, ...).
  std::vector<context_root> members() const;
  bool operator==(const root_set&) const = default;

 private:
  static constexpr std::uint8_t bit(context_root root) {
    return static_cast<std::uint8_t>(1U << static_cast<unsigned>(root));
  }
  std::uint8_t bits_ = 0;
};

}  // namespace sluice::operators
