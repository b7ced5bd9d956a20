#pragma once

// compile_failure: thrown inside the lexer and parser, caught by expression::compile() and
// turned into a compile_error value. Compilation is not on the per-record path, so unwinding
// through the recursive-descent parser is the simplest correct way out.

#include <cstddef>
#include <stdexcept>
#include <string>

namespace sluice::operators::expr {

class compile_failure : public std::runtime_error {
 public:
  // `message` without the position; what() appends " at column N".
  compile_failure(std::size_t position, const std::string& message)
      : std::runtime_error(message + " at column " + std::to_string(position)),
        position_(position) {}
  std::size_t position() const { return position_; }

 private:
  std::size_t position_;
};

}  // namespace sluice::operators::expr
