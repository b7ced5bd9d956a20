#include "operators/expression/printer.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <charconv>

#include "operators/expression/functions.hpp"
#include "operators/expression/value_ops.hpp"

namespace sluice::operators::expr {

namespace {

bool is_keyword(std::string_view name) {
  return name == "true" || name == "false" || name == "null" || name == "and" || name == "or" ||
         name == "not" || name == "in";
}

void print_key(std::string& out, std::string_view key) {
  if (is_identifier(key)) {
    out += key;
  } else {
    append_quoted(out, key);
  }
}

void print_steps(std::string& out, const node& n) {
  for (const auto& step : n.steps) {
    switch (step.kind) {
      case step_kind::field:
        if (is_identifier(step.field)) {
          out.push_back('.');
          out += step.field;
        } else {
          out.push_back('[');
          append_quoted(out, step.field);
          out.push_back(']');
        }
        break;
      case step_kind::index: {
        char buffer[32];
        const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), step.index);
        out.push_back('[');
        out.append(buffer, end);
        out.push_back(']');
        break;
      }
      case step_kind::dynamic:
        out.push_back('[');
        print(out, *step.expression, false);
        out.push_back(']');
        break;
    }
  }
}

}  // namespace

bool is_identifier(std::string_view name) {
  if (name.empty() || is_keyword(name)) {
    return false;
  }
  const auto start = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  if (!start(name.front())) {
    return false;
  }
  for (const char c : name) {
    if (!start(c) && !(c >= '0' && c <= '9')) {
      return false;
    }
  }
  return true;
}

void print_constant(std::string& out, const boost::json::value& v) {
  if (const auto* array = v.if_array()) {
    out.push_back('[');
    bool first = true;
    for (const auto& element : *array) {
      if (!first) {
        out += ", ";
      }
      first = false;
      print_constant(out, element);
    }
    out.push_back(']');
  } else if (const auto* object = v.if_object()) {
    out.push_back('{');
    bool first = true;
    for (const auto& member : *object) {
      if (!first) {
        out += ", ";
      }
      first = false;
      print_key(out, std::string_view(member.key().data(), member.key().size()));
      out += ": ";
      print_constant(out, member.value());
    }
    out.push_back('}');
  } else {
    append_json(out, v);
  }
}

void print(std::string& out, const node& n, bool nested) {
  switch (n.kind) {
    case node_kind::constant:
      print_constant(out, n.constant);
      return;
    case node_kind::path:
      if (n.root) {
        out += to_string(*n.root);
      } else {
        // A computed base: parenthesised unless it is a call or a literal that cannot absorb
        // the steps (a number could: (-5).x is not -(5.x)).
        const node& base = *n.children[0];
        const bool bare = base.kind == node_kind::call || base.kind == node_kind::array_literal ||
                          base.kind == node_kind::object_literal ||
                          (base.kind == node_kind::constant && !base.constant.is_number());
        if (!bare) {
          out.push_back('(');
        }
        print(out, base, false);
        if (!bare) {
          out.push_back(')');
        }
      }
      print_steps(out, n);
      return;
    case node_kind::negate:
    case node_kind::logical_not: {
      out += n.kind == node_kind::negate ? "-" : "!";
      const node& operand = *n.children[0];
      const bool atomic = (operand.kind == node_kind::constant && !operand.constant.is_number()) ||
                          operand.kind == node_kind::path || operand.kind == node_kind::call ||
                          operand.kind == node_kind::array_literal ||
                          operand.kind == node_kind::object_literal;
      if (atomic) {
        print(out, operand, false);
      } else {
        out.push_back('(');
        print(out, operand, false);
        out.push_back(')');
      }
      return;
    }
    case node_kind::conditional:
      if (nested) {
        out.push_back('(');
      }
      print(out, *n.children[0], true);
      out += " ? ";
      print(out, *n.children[1], true);
      out += " : ";
      print(out, *n.children[2], true);
      if (nested) {
        out.push_back(')');
      }
      return;
    case node_kind::array_literal: {
      out.push_back('[');
      for (std::size_t i = 0; i < n.children.size(); ++i) {
        if (i > 0) {
          out += ", ";
        }
        print(out, *n.children[i], false);
      }
      out.push_back(']');
      return;
    }
    case node_kind::object_literal: {
      out.push_back('{');
      for (std::size_t i = 0; i < n.children.size(); ++i) {
        if (i > 0) {
          out += ", ";
        }
        print_key(out, n.keys[i]);
        out += ": ";
        print(out, *n.children[i], false);
      }
      out.push_back('}');
      return;
    }
    case node_kind::call: {
      out += n.function->name;
      out.push_back('(');
      for (std::size_t i = 0; i < n.children.size(); ++i) {
        if (i > 0) {
          out += ", ";
        }
        print(out, *n.children[i], false);
      }
      out.push_back(')');
      return;
    }
    default:  // binary operators
      if (nested) {
        out.push_back('(');
      }
      print(out, *n.children[0], true);
      out.push_back(' ');
      out += operator_symbol(n.kind);
      out.push_back(' ');
      print(out, *n.children[1], true);
      if (nested) {
        out.push_back(')');
      }
      return;
  }
}

std::string print(const node& n) {
  std::string out;
  print(out, n, false);
  return out;
}

}  // namespace sluice::operators::expr
