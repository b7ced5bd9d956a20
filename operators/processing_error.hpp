#pragma once

// processing_error: why one record could not be processed, as a value. Operators never decide
// whether to skip the record or stop the task: they return this and the runtime applies its
// error policy (and counts it). The message says what is wrong; describe() adds where (topic,
// partition, offset and the step).

#include <cstdint>
#include <string>

#include "operators/expression/result.hpp"
#include "operators/record.hpp"

namespace sluice::operators {

enum class error_kind : std::uint8_t {
  deserialization,  // input bytes do not match the source format
  serialization,    // an output value does not fit the sink format
  evaluation,       // an expression failed on this record (type error, missing field, ...)
  user_function,    // a user C++ function threw
  invalid_timestamp,
};

std::string_view to_string(error_kind kind);

struct processing_error {
  error_kind kind = error_kind::evaluation;
  std::string message;
  record_origin origin;
  std::string step;  // the step or operator that failed, empty for the serdes

  // "topic 'orders' partition 2 offset 17, step 'filter-1': <message>"
  std::string describe() const;
};

// A value or the processing_error that prevented it (the expression library's result type).
template <class T>
using processing_result = result<T, processing_error>;

}  // namespace sluice::operators
