#pragma once

// expression: one compiled expression of the pipeline language, e.g.
//
//   value.amount > 100 && value.currency == "EUR"
//   { user: value.user.id, cents: round(value.amount * 100), tag: lower(headers.src ?? "web") }
//
// Compiled once (compile()), evaluated per record (evaluate()). Compilation resolves names and
// functions, checks argument counts and folds literal arrays and objects, so evaluation is a
// walk over a tree of nodes switching on an enum, with no name lookups; paths into the record
// borrow the context's JSON instead of copying it, and only the final result is copied out.
//
// An expression is immutable after compile() and cheap to copy (it shares its tree); evaluate()
// is const and keeps no state, so any number of threads may evaluate one expression at once.
//
// The language:
//  - literals: 12, -3, 1.5, 2e3, "text", 'text' (escapes \" \' \\ \/ \b \f \n \r \t \uXXXX),
//    true, false, null; arrays [a, b]; objects { name: expr, "any name": expr }.
//  - context: key, value, timestamp, topic, partition, offset, headers; paths value.user.id,
//    value["a b"], value.items[0], value.items[-1] (from the end), value.items[i] (computed).
//    A missing field, an index out of range, or a step into something that is not an object or
//    array yields null, as JSON path lookups do; exists(path) tells missing from null.
//  - operators, loosest first:
//        c ? a : b                      (c must be bool; right-associative)
//        ||  or                         (bool only, short-circuit)
//        &&  and                        (bool only, short-circuit)
//        not x                          (Python-like: `not a == b` is `!(a == b)`)
//        ==  !=                         (JSON value equality; 1 == 1.0; never an error)
//        <  <=  >  >=  in  not in       (two numbers or two strings; `in`: element of an
//                                        array, substring, key of an object; no chaining)
//        ??                             (a if a is not null, else b; binds tighter than
//                                        comparisons, like Swift and Kotlin's ?:)
//        +  -                           (+ also joins two strings)
//        *  /  %
//        -x  !x  not x                  (prefix)
//        .name  [index]  f(args)        (postfix)
//  - int op int stays int64 (overflow is an error; / truncates toward zero); any double makes
//    the result a double; division by zero is an error. null in arithmetic or in < <= > >= is
//    an error naming the operator and both operand types; use ?? to give defaults.
//  - functions: see functions.hpp (lower, upper, trim, len/length, contains, starts_with,
//    ends_with, substr, split, join, replace, concat, string/to_string, number, int, double,
//    bool, abs, floor, ceil, round, min, max, coalesce, exists, type, keys, values, json_parse,
//    json_string). There is no clock function: pipelines are deterministic; use `timestamp`.

#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "operators/expression/context_root.hpp"
#include "operators/expression/eval_context.hpp"
#include "operators/expression/expression_errors.hpp"
#include "operators/expression/result.hpp"

namespace sluice::operators {

namespace expr {
struct program;
}  // namespace expr

class expression;

using compile_result = result<expression, compile_error>;
using eval_result = result<boost::json::value, eval_error>;
using predicate_result = result<bool, eval_error>;

class expression {
 public:
  static compile_result compile(std::string_view source);

  // The value of the expression for one record.
  eval_result evaluate(const eval_context& context) const;

  // For filters and conditions: the expression must evaluate to a bool; anything else is an
  // error rather than "falsy", so `value.active` holding "yes" fails loudly instead of silently
  // dropping every record.
  predicate_result evaluate_predicate(const eval_context& context) const;

  // The text it was compiled from, unchanged.
  const std::string& source() const;

  // Which parts of the context it reads.
  root_set referenced_roots() const;

  // The parsed tree, printed canonically: every nested operation in parentheses, `and`/`or`/
  // `not` as `&&`/`||`/`!`, aliases under their main name (length -> len), value["a"] as
  // value.a, one space around binary operators. Compiling the output gives the same tree.
  std::string to_string() const;

 private:
  explicit expression(std::shared_ptr<const expr::program> program);
  std::shared_ptr<const expr::program> program_;
};

}  // namespace sluice::operators
