#pragma once

// evaluator: evaluates a compiled tree against one record's context. Errors are values here
// (a failed node returns false and leaves the error in the frame) rather than exceptions, so a
// stream of bad records costs no unwinding and no global unwinder lock across threads.

#include <optional>
#include <string>

#include "operators/expression/eval_context.hpp"
#include "operators/expression/expression_errors.hpp"
#include "operators/expression/node.hpp"
#include "operators/expression/operand.hpp"

namespace sluice::operators::expr {

struct frame {
  const eval_context& context;
  std::optional<eval_error> error;

  // Records the error (message gets " at column N") and returns false.
  bool fail(std::size_t position, const std::string& message);
};

// Evaluates `n` into `out`; false (and frame.error set) on error.
bool evaluate(const node& n, frame& f, operand& out);

// "int", or for a null that came from a path "null (value.amont)", so typos show themselves.
std::string describe_operand(const node& n, const boost::json::value& v);

}  // namespace sluice::operators::expr
