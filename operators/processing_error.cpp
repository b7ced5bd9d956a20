#include "operators/processing_error.hpp"

#include <fmt/format.h>

namespace sluice::operators {

std::string_view to_string(error_kind kind) {
  switch (kind) {
    case error_kind::deserialization:
      return "deserialization";
    case error_kind::serialization:
      return "serialization";
    case error_kind::evaluation:
      return "evaluation";
    case error_kind::user_function:
      return "user_function";
    case error_kind::invalid_timestamp:
      return "invalid_timestamp";
  }
  return "unknown";
}

std::string processing_error::describe() const {
  std::string where = fmt::format("topic '{}' partition {} offset {}", origin.topic,
                                  origin.partition, origin.offset);
  if (!step.empty()) {
    where += fmt::format(", step '{}'", step);
  }
  return fmt::format("{}: {}", where, message);
}

}  // namespace sluice::operators
