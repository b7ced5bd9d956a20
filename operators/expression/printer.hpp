#pragma once

// printer: the canonical text of a compiled tree (see expression::to_string()).

#include <string>

#include "operators/expression/node.hpp"

namespace sluice::operators::expr {

// `nested`: the node is an operand of an operator, so compound expressions get parentheses.
void print(std::string& out, const node& n, bool nested);
std::string print(const node& n);

// A constant in expression syntax: arrays as [a, b], objects as {name: v, "a b": v}.
void print_constant(std::string& out, const boost::json::value& v);

// Whether `name` can be written bare after '.' or as an object key.
bool is_identifier(std::string_view name);

}  // namespace sluice::operators::expr
