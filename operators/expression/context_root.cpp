#include "operators/expression/context_root.hpp"

#include <array>

namespace sluice::operators {

namespace {
constexpr std::array<std::string_view, context_root_count> names = {
    "key", "value", "timestamp", "topic", "partition", "offset", "headers"};
}  // namespace

std::string_view to_string(context_root root) {
  return names[static_cast<std::size_t>(root)];
}

std::optional<context_root> context_root_from_name(std::string_view name) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) {
      return static_cast<context_root>(i);
    }
  }
  return std::nullopt;
}

std::vector<context_root> root_set::members() const {
  std::vector<context_root> out;
  for (std::size_t i = 0; i < context_root_count; ++i) {
    if (contains(static_cast<context_root>(i))) {
      out.push_back(static_cast<context_root>(i));
    }
  }
  return out;
}

}  // namespace sluice::operators
