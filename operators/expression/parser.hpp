#pragma once

// parser: recursive descent from tokens to a node tree, resolving names and functions and
// checking argument counts on the way. Throws compile_failure.

#include <memory>
#include <string_view>

#include "operators/expression/context_root.hpp"
#include "operators/expression/node.hpp"

namespace sluice::operators::expr {

struct parse_output {
  std::unique_ptr<node> root;
  root_set roots;
};

parse_output parse(std::string_view source);

// Bounds on nesting: parser recursion, and the height of the tree (which bounds evaluation's
// recursion, including long chains like a + b + c + ...).
inline constexpr std::size_t max_nesting = 128;
inline constexpr std::size_t max_tree_depth = 512;

}  // namespace sluice::operators::expr
