#pragma once

// program: what a compiled expression shares between its copies.

#include <memory>
#include <string>

#include "operators/expression/context_root.hpp"
#include "operators/expression/node.hpp"

namespace sluice::operators::expr {

struct program {
  std::string source;
  std::unique_ptr<node> root;
  root_set roots;
};

}  // namespace sluice::operators::expr
