#pragma once

// How the producer's parts hand failures around: as exception_ptrs to kafka_error, which a
// delivery rethrows to its waiter and a later call quotes in its own message.

#include <exception>
#include <string>

#include "kafka/protocol/error_code.hpp"

namespace sluice::kafka {

inline std::exception_ptr make_failure(error_code code, const std::string& what) {
  return std::make_exception_ptr(kafka_error(code, what));
}

// The failure's message, to quote in another.
inline std::string describe_failure(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown failure";
  }
}

}  // namespace sluice::kafka
