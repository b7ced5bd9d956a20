#include "operators/expression/evaluator.hpp"

#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <cmath>
#include <limits>

#include "operators/expression/functions.hpp"
#include "operators/expression/printer.hpp"
#include "operators/expression/value_ops.hpp"

namespace sluice::operators::expr {

namespace json = boost::json;

namespace {

const json::value null_value;
const json::object empty_object;

std::string int_text(std::int64_t i) {
  return std::to_string(i);
}

// --- paths ---------------------------------------------------------------------------------

const json::value* index_array(const json::array& array, std::int64_t index) {
  const auto size = static_cast<std::int64_t>(array.size());
  if (index < 0) {
    index += size;  // -1 is the last element
  }
  if (index < 0 || index >= size) {
    return nullptr;
  }
  return &array[static_cast<std::size_t>(index)];
}

// One step from `object` or `array` (at most one non-null). nullptr: missing. Sets `failed`
// when a computed index is of a type that cannot index anything.
const json::value* step_into(const json::object* object, const json::array* array,
                             const path_step& step, frame& f, bool& failed) {
  switch (step.kind) {
    case step_kind::field:
      return object ? object->if_contains(step.field) : nullptr;
    case step_kind::index:
      return array ? index_array(*array, step.index) : nullptr;
    case step_kind::dynamic: {
      operand index;
      if (!evaluate(*step.expression, f, index)) {
        failed = true;
        return nullptr;
      }
      const json::value& i = index.get();
      if (const auto* s = i.if_string()) {
        return object ? object->if_contains(*s) : nullptr;
      }
      if (const auto n = to_number(i); n && n->is_int) {
        return array ? index_array(*array, n->i) : nullptr;
      }
      if (i.is_null()) {
        return nullptr;
      }
      failed = true;
      f.fail(step.position,
             "index must be an int or a string, got " + describe_operand(*step.expression, i));
      return nullptr;
    }
  }
  return nullptr;
}

// Walks n.steps from `start`; `result` is nullptr when a step finds nothing.
bool walk(const node& n, frame& f, const json::value* start, std::size_t first_step,
          const json::value*& result) {
  const json::value* current = start;
  for (std::size_t i = first_step; i < n.steps.size() && current != nullptr; ++i) {
    bool failed = false;
    current = step_into(current->if_object(), current->if_array(), n.steps[i], f, failed);
    if (failed) {
      return false;
    }
  }
  result = current;
  return true;
}

// Resolves a path node. `result` is nullptr when the path is missing. When `in_base` is set,
// `result` points into the value `base` owns (a computed base, or a scalar of the context);
// otherwise into the context or the tree.
bool resolve(const node& n, frame& f, operand& base, const json::value*& result, bool& in_base) {
  in_base = false;
  if (!n.root) {
    if (!evaluate(*n.children[0], f, base)) {
      return false;
    }
    in_base = base.owned();
    return walk(n, f, &base.get(), 0, result);
  }
  const eval_context& c = f.context;
  switch (*n.root) {
    case context_root::key:
      return walk(n, f, c.key ? c.key : &null_value, 0, result);
    case context_root::value:
      return walk(n, f, c.value ? c.value : &null_value, 0, result);
    case context_root::headers: {
      const json::object& headers = c.headers ? *c.headers : empty_object;
      if (n.steps.empty()) {
        base.set(json::value(headers));
        result = &base.get();
        in_base = true;
        return true;
      }
      // The headers are an object, not a value: take the first step by hand.
      bool failed = false;
      const json::value* first = step_into(&headers, nullptr, n.steps[0], f, failed);
      if (failed) {
        return false;
      }
      return walk(n, f, first, 1, result);
    }
    case context_root::timestamp:
      base.set_int(c.timestamp);
      break;
    case context_root::partition:
      base.set_int(c.partition);
      break;
    case context_root::offset:
      base.set_int(c.offset);
      break;
    case context_root::topic:
      base.set(json::value(json::string(c.topic)));
      break;
  }
  // Scalars: the parser allows no steps after them.
  result = &base.get();
  in_base = true;
  return true;
}

bool evaluate_path(const node& n, frame& f, operand& out) {
  operand base;
  const json::value* result = nullptr;
  bool in_base = false;
  if (!resolve(n, f, base, result, in_base)) {
    return false;
  }
  if (result == nullptr) {
    out.borrow(null_value);
  } else if (in_base) {
    if (result == &base.get()) {
      out = std::move(base);
    } else {
      // `result` points into the computed base, which dies here: move the part out. The base
      // is ours (owned), so taking from it is safe.
      json::value part = std::move(const_cast<json::value&>(*result));  // NOLINT
      out.set(std::move(part));
    }
  } else {
    out.borrow(*result);
  }
  return true;
}

// --- operators -----------------------------------------------------------------------------

bool type_error(frame& f, const node& n, const operand& l, const operand& r,
                std::string_view verb) {
  std::string message = "operator '" + std::string(operator_symbol(n.kind)) + "' cannot " +
                        std::string(verb) + " " + describe_operand(*n.children[0], l.get()) +
                        " and " + describe_operand(*n.children[1], r.get());
  if (n.kind == node_kind::add && (l.get().is_string() || r.get().is_string())) {
    message += " (use concat(...) or string(x) to build text)";
  } else if (l.get().is_null() || r.get().is_null()) {
    message += " (give a default with ?? or coalesce)";
  }
  return f.fail(n.position, message);
}

bool overflow(frame& f, const node& n, std::int64_t a, std::int64_t b) {
  return f.fail(n.position, "integer overflow in " + int_text(a) + " " +
                                std::string(operator_symbol(n.kind)) + " " + int_text(b));
}

bool arithmetic(const node& n, frame& f, operand& out) {
  operand l;
  operand r;
  if (!evaluate(*n.children[0], f, l) || !evaluate(*n.children[1], f, r)) {
    return false;
  }
  if (n.kind == node_kind::add) {
    const json::string* ls = l.get().if_string();
    const json::string* rs = r.get().if_string();
    if (ls && rs) {
      json::string joined;
      joined.reserve(ls->size() + rs->size());
      joined.append(*ls);
      joined.append(*rs);
      out.set(json::value(std::move(joined)));
      return true;
    }
  }
  const auto a = to_number(l.get());
  const auto b = to_number(r.get());
  if (!a || !b) {
    return type_error(f, n, l, r, "combine");
  }
  if (a->is_int && b->is_int) {
    std::int64_t result = 0;
    switch (n.kind) {
      case node_kind::add:
        if (__builtin_add_overflow(a->i, b->i, &result)) {
          return overflow(f, n, a->i, b->i);
        }
        break;
      case node_kind::subtract:
        if (__builtin_sub_overflow(a->i, b->i, &result)) {
          return overflow(f, n, a->i, b->i);
        }
        break;
      case node_kind::multiply:
        if (__builtin_mul_overflow(a->i, b->i, &result)) {
          return overflow(f, n, a->i, b->i);
        }
        break;
      case node_kind::divide:
        if (b->i == 0) {
          return f.fail(n.position, "division by zero in '/'");
        }
        if (a->i == std::numeric_limits<std::int64_t>::min() && b->i == -1) {
          return overflow(f, n, a->i, b->i);
        }
        result = a->i / b->i;
        break;
      default:  // remainder
        if (b->i == 0) {
          return f.fail(n.position, "division by zero in '%'");
        }
        result = b->i == -1 ? 0 : a->i % b->i;
        break;
    }
    out.set_int(result);
    return true;
  }
  const double x = a->as_double();
  const double y = b->as_double();
  double result = 0;
  switch (n.kind) {
    case node_kind::add:
      result = x + y;
      break;
    case node_kind::subtract:
      result = x - y;
      break;
    case node_kind::multiply:
      result = x * y;
      break;
    case node_kind::divide:
      if (y == 0) {
        return f.fail(n.position, "division by zero in '/'");
      }
      result = x / y;
      break;
    default:
      if (y == 0) {
        return f.fail(n.position, "division by zero in '%'");
      }
      result = std::fmod(x, y);
      break;
  }
  if (!std::isfinite(result)) {
    return f.fail(n.position, "numeric overflow in '" + std::string(operator_symbol(n.kind)) +
                                  "' (the result is not a finite double)");
  }
  out.set_double(result);
  return true;
}

bool comparison(const node& n, frame& f, operand& out) {
  operand l;
  operand r;
  if (!evaluate(*n.children[0], f, l) || !evaluate(*n.children[1], f, r)) {
    return false;
  }
  switch (n.kind) {
    case node_kind::equal:
      out.set_bool(json_equal(l.get(), r.get()));
      return true;
    case node_kind::not_equal:
      out.set_bool(!json_equal(l.get(), r.get()));
      return true;
    case node_kind::in: {
      const auto found = contains(r.get(), l.get());
      if (found == membership::bad_haystack) {
        return f.fail(n.position,
                      "operator 'in' needs an array, string or object on the right, got " +
                          describe_operand(*n.children[1], r.get()));
      }
      if (found == membership::bad_needle) {
        return f.fail(n.position,
                      std::string("operator 'in' needs a string on the left when the right is ") +
                          (r.get().is_object() ? "an object" : "a string") + ", got " +
                          describe_operand(*n.children[0], l.get()));
      }
      out.set_bool(found == membership::found);
      return true;
    }
    default:
      break;
  }
  const auto order = json_order(l.get(), r.get());
  if (!order) {
    return type_error(f, n, l, r, "compare");
  }
  bool result = false;
  switch (n.kind) {
    case node_kind::less:
      result = *order < 0;
      break;
    case node_kind::less_equal:
      result = *order <= 0;
      break;
    case node_kind::greater:
      result = *order > 0;
      break;
    default:
      result = *order >= 0;
      break;
  }
  out.set_bool(result);
  return true;
}

// Evaluates a child that must be a bool. The message parts are joined only on failure, so
// the per-record path builds no strings.
bool boolean(const node& child, frame& f, std::size_t position, std::string_view role,
             std::string_view op, bool& value) {
  operand o;
  if (!evaluate(child, f, o)) {
    return false;
  }
  if (!o.get().is_bool()) {
    return f.fail(position, std::string(role) + std::string(op) + " must be a bool, got " +
                                describe_operand(child, o.get()));
  }
  value = o.get().get_bool();
  return true;
}

// --- calls ---------------------------------------------------------------------------------

bool evaluate_call(const node& n, frame& f, operand& out) {
  const function_spec& spec = *n.function;
  const call_site site{f, n};
  switch (spec.form) {
    case special_form::none: {
      std::array<operand, max_fixed_arguments> args;
      for (std::size_t i = 0; i < n.children.size(); ++i) {
        if (!evaluate(*n.children[i], f, args[i])) {
          return false;
        }
      }
      return spec.impl(site, std::span<operand>(args.data(), n.children.size()), out);
    }
    case special_form::coalesce:
      for (const auto& child : n.children) {
        if (!evaluate(*child, f, out)) {
          return false;
        }
        if (!out.get().is_null()) {
          return true;
        }
      }
      return true;  // all null: out holds the last null
    case special_form::exists: {
      operand base;
      const json::value* result = nullptr;
      bool in_base = false;
      if (!resolve(*n.children[0], f, base, result, in_base)) {
        return false;
      }
      out.set_bool(result != nullptr);
      return true;
    }
    case special_form::concat: {
      std::string text;
      for (std::size_t i = 0; i < n.children.size(); ++i) {
        operand o;
        if (!evaluate(*n.children[i], f, o)) {
          return false;
        }
        if (!concat_append(site, i, o.get(), text)) {
          return false;
        }
      }
      out.set(json::value(json::string(text)));
      return true;
    }
    case special_form::min:
    case special_form::max: {
      // Folded one value at a time: no buffers, and the winner is moved, not copied, unless it
      // is borrowed from the record.
      const bool want_max = spec.form == special_form::max;
      bool replace = false;
      if (n.children.size() == 1) {
        operand o;
        if (!evaluate(*n.children[0], f, o)) {
          return false;
        }
        const json::array* array = o.get().if_array();
        if (array == nullptr) {  // one plain value is its own extreme, if it is comparable
          if (!extreme_candidate(site, want_max, o.get(), nullptr, replace)) {
            return false;
          }
          out = std::move(o);
          return true;
        }
        const json::value* best = nullptr;
        for (const auto& element : *array) {
          if (!extreme_candidate(site, want_max, element, best, replace)) {
            return false;
          }
          if (replace) {
            best = &element;
          }
        }
        if (best == nullptr) {
          out.borrow(null_value);  // empty array
        } else if (o.owned()) {
          out.set(*best);
        } else {
          out.borrow(*best);
        }
        return true;
      }
      operand best;
      for (std::size_t i = 0; i < n.children.size(); ++i) {
        operand o;
        if (!evaluate(*n.children[i], f, o)) {
          return false;
        }
        if (!extreme_candidate(site, want_max, o.get(), i == 0 ? nullptr : &best.get(), replace)) {
          return false;
        }
        if (replace) {
          best = std::move(o);
        }
      }
      out = std::move(best);
      return true;
    }
  }
  return false;
}

}  // namespace

bool frame::fail(std::size_t position, const std::string& message) {
  if (!error) {
    error = eval_error{position, message + " at column " + std::to_string(position)};
  }
  return false;
}

std::string describe_operand(const node& n, const json::value& v) {
  std::string text(type_name(v));
  if (v.is_null() && n.kind == node_kind::path) {
    text += " (" + print(n) + ")";
  }
  return text;
}

bool evaluate(const node& n, frame& f, operand& out) {
  switch (n.kind) {
    case node_kind::constant:
      out.borrow(n.constant);
      return true;
    case node_kind::path:
      return evaluate_path(n, f, out);
    case node_kind::negate: {
      operand o;
      if (!evaluate(*n.children[0], f, o)) {
        return false;
      }
      const auto num = to_number(o.get());
      if (!num) {
        return f.fail(n.position, "operator '-' needs a number, got " +
                                      describe_operand(*n.children[0], o.get()));
      }
      if (!num->is_int) {
        out.set_double(-num->d);
      } else if (num->i == std::numeric_limits<std::int64_t>::min()) {
        return f.fail(n.position, "integer overflow in -(" + int_text(num->i) + ")");
      } else {
        out.set_int(-num->i);
      }
      return true;
    }
    case node_kind::logical_not: {
      bool value = false;
      if (!boolean(*n.children[0], f, n.position, "the operand of ", "'!'", value)) {
        return false;
      }
      out.set_bool(!value);
      return true;
    }
    case node_kind::add:
    case node_kind::subtract:
    case node_kind::multiply:
    case node_kind::divide:
    case node_kind::remainder:
      return arithmetic(n, f, out);
    case node_kind::equal:
    case node_kind::not_equal:
    case node_kind::less:
    case node_kind::less_equal:
    case node_kind::greater:
    case node_kind::greater_equal:
    case node_kind::in:
      return comparison(n, f, out);
    case node_kind::logical_and:
    case node_kind::logical_or: {
      const bool is_and = n.kind == node_kind::logical_and;
      const std::string_view op = is_and ? "'&&'" : "'||'";
      bool value = false;
      if (!boolean(*n.children[0], f, n.position, "the left operand of ", op, value)) {
        return false;
      }
      if (value != is_and) {  // false && x, true || x: decided without the right side
        out.set_bool(value);
        return true;
      }
      if (!boolean(*n.children[1], f, n.position, "the right operand of ", op, value)) {
        return false;
      }
      out.set_bool(value);
      return true;
    }
    case node_kind::null_coalesce:
      if (!evaluate(*n.children[0], f, out)) {
        return false;
      }
      if (!out.get().is_null()) {
        return true;
      }
      return evaluate(*n.children[1], f, out);
    case node_kind::conditional: {
      bool condition = false;
      if (!boolean(*n.children[0], f, n.position, "the condition of ", "'?:'", condition)) {
        return false;
      }
      return evaluate(*n.children[condition ? 1 : 2], f, out);
    }
    case node_kind::array_literal: {
      json::array array;
      array.reserve(n.children.size());
      for (const auto& child : n.children) {
        operand o;
        if (!evaluate(*child, f, o)) {
          return false;
        }
        array.push_back(std::move(o).take());
      }
      out.set(json::value(std::move(array)));
      return true;
    }
    case node_kind::object_literal: {
      json::object object;
      object.reserve(n.children.size());
      for (std::size_t i = 0; i < n.children.size(); ++i) {
        operand o;
        if (!evaluate(*n.children[i], f, o)) {
          return false;
        }
        object.emplace(n.keys[i], std::move(o).take());
      }
      out.set(json::value(std::move(object)));
      return true;
    }
    case node_kind::call:
      return evaluate_call(n, f, out);
  }
  return false;
}

}  // namespace sluice::operators::expr
