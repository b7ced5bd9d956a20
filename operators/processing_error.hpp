#pragma once

// processing_error: why one record could not be processed, as a value. Operators never decide
// whether to skip the record or stop the task: they return this and the runtime applies its
// error policy (and counts it). The message says what is wrong; describe() adds where (topic,
// partition, offset and the step).
//
// Inside a sub-topology's graph of processors (processor.hpp) an error travels as a
// processing_exception: records are forwarded depth-first, so an error found deep in the graph
// unwinds through every node that forwarded to it, and nothing on the path has to check a return
// value on the success path (the hot path). sub_topology_processor turns it back into this value
// at the graph's edge, where the runtime's error policy takes it.

#include <cstdint>
#include <exception>
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

// A processing_error thrown by a node of the graph (see above). Only processing errors travel as
// this type: any other exception (a store's I/O failure) is not a record's fault and goes past the
// error policy.
class processing_exception : public std::exception {
 public:
  explicit processing_exception(processing_error error) : error_(std::move(error)) {}
  const char* what() const noexcept override { return error_.message.c_str(); }
  const processing_error& error() const { return error_; }

 private:
  processing_error error_;
};

// A value or the processing_error that prevented it (the expression library's result type).
template <class T>
using processing_result = result<T, processing_error>;

}  // namespace sluice::operators
