#include "operators/expression/node.hpp"

namespace sluice::operators::expr {

std::string_view operator_symbol(node_kind kind) {
  switch (kind) {
    case node_kind::add:
      return "+";
    case node_kind::subtract:
      return "-";
    case node_kind::multiply:
      return "*";
    case node_kind::divide:
      return "/";
    case node_kind::remainder:
      return "%";
    case node_kind::equal:
      return "==";
    case node_kind::not_equal:
      return "!=";
    case node_kind::less:
      return "<";
    case node_kind::less_equal:
      return "<=";
    case node_kind::greater:
      return ">";
    case node_kind::greater_equal:
      return ">=";
    case node_kind::in:
      return "in";
    case node_kind::logical_and:
      return "&&";
    case node_kind::logical_or:
      return "||";
    case node_kind::null_coalesce:
      return "??";
    default:
      return "?";
  }
}

}  // namespace sluice::operators::expr
