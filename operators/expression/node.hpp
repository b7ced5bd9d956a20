#pragma once

// node: one node of a compiled expression tree. A single struct with a kind tag (rather than a
// class hierarchy) so evaluation is one switch, and the tree is plain data the printer can walk.
// Built once by the parser and immutable afterwards.

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operators/expression/context_root.hpp"

namespace sluice::operators::expr {

struct function_spec;
struct node;

enum class node_kind : std::uint8_t {
  constant,     // `constant`
  path,         // `root` or children[0] as the base, then `steps`
  negate,       // -children[0]
  logical_not,  // !children[0]
  add,          // children[0] op children[1] ...
  subtract,
  multiply,
  divide,
  remainder,
  equal,
  not_equal,
  less,
  less_equal,
  greater,
  greater_equal,
  in,
  logical_and,
  logical_or,
  null_coalesce,
  conditional,     // children[0] ? children[1] : children[2]
  array_literal,   // children are the elements
  object_literal,  // keys[i]: children[i]
  call,            // function(children...)
};

enum class step_kind : std::uint8_t {
  field,    // .name or ["name"]: `field`
  index,    // [3] or [-1]: `index`
  dynamic,  // [expression]: an int indexes an array, a string names a field
};

struct path_step {
  step_kind kind = step_kind::field;
  std::size_t position = 0;
  std::string field;
  std::int64_t index = 0;
  std::unique_ptr<node> expression;
};

// The source text of an operator node ("+", "<=", "??"; "?" for a kind that is no operator): the
// printer writes it back, the evaluator names it in errors.
std::string_view operator_symbol(node_kind kind);

struct node {
  node_kind kind = node_kind::constant;
  std::size_t position = 0;  // of the operator, function name, literal or path start
  std::size_t depth = 1;  // height of the subtree; bounded so evaluation cannot overflow the stack
  boost::json::value constant;
  std::optional<context_root> root;
  std::vector<path_step> steps;
  std::vector<std::unique_ptr<node>> children;
  std::vector<std::string> keys;
  const function_spec* function = nullptr;
};

}  // namespace sluice::operators::expr
