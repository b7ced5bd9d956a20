#include "operators/join_value.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>

namespace sluice::operators {

std::string brief(const boost::json::value& v) {
  constexpr std::size_t limit = 80;
  std::string text = boost::json::serialize(v);
  if (text.size() > limit) {
    text = text.substr(0, limit) + "...";
  }
  return text;
}

std::optional<std::string> add_joined_member(boost::json::value& value, const std::string& into,
                                             boost::json::value other) {
  if (!value.is_object()) {
    return fmt::format("adds member '{}' to the value, which must be an object, got {}", into,
                       brief(value));
  }
  value.get_object()[into] = std::move(other);
  return std::nullopt;
}

}  // namespace sluice::operators
