#pragma once

// The two ways an expression fails. Both carry the 0-based position in the source (for a
// one-line expression: the column) of the token at fault, and a message that already ends with
// "at column N", ready to be prefixed with the pipeline file and field by the caller.

#include <cstddef>
#include <string>

namespace sluice::operators {

// The source is not a valid expression: syntax, unknown names or functions, wrong argument
// counts, literals out of range.
struct compile_error {
  std::size_t position = 0;
  std::string message;
};

// A record does not fit the expression: an operator or function got types it does not accept
// (naming the operator or function and the types), integer overflow, division by zero, or a
// predicate that did not evaluate to a bool.
struct eval_error {
  std::size_t position = 0;
  std::string message;
};

}  // namespace sluice::operators
