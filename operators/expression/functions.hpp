#pragma once

// functions: the built-in functions of the expression language, resolved by name at compile
// time to a function_spec; a call node keeps the spec pointer, so evaluation never looks a
// name up.
//
// Strings:  lower(s) upper(s) (ASCII letters; others unchanged, locale-independent),
//           trim(s) (ASCII whitespace), len(x)/length(x) (code points of a string, elements of
//           an array or object), contains(a, b) (same as b in a), starts_with(s, p),
//           ends_with(s, p), substr(s, start[, count]) (code points; negative start counts from
//           the end; clamped to the string), split(s, sep), join(array, sep), replace(s, from,
//           to) (every occurrence), concat(x, ...) (text of each argument; null is an error).
// Convert:  string(x)/to_string(x), number(x), int(x) (doubles truncate toward zero), double(x),
//           bool(x) (bools, "true"/"false" in any case, 0 and 1), json_parse(s), json_string(x).
// Numbers:  abs(x), floor(x) ceil(x) round(x) (to int; round is half away from zero, so
//           round(1.15 * 100) is 115 where int() gives 114), round(x, digits) (a
//           double), min(x, ...) max(x, ...) (numbers or strings; one array argument means its
//           elements; an empty array gives null).
// Others:   coalesce(x, ...) (first non-null, evaluated lazily), exists(path) (the path resolves,
//           even to null), type(x), keys(object), values(object).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "operators/expression/operand.hpp"

namespace sluice::operators::expr {

struct frame;
struct node;

// What a function implementation can use to report an error naming itself and the argument.
struct call_site {
  frame& f;
  const node& call;

  // "<function>: <message> at column N"; returns false.
  bool fail(const std::string& message) const;
  // "<function>: argument <index+1> must be <expected>, got <type>"; returns false.
  bool argument_error(std::size_t index, std::string_view expected,
                      const boost::json::value& got) const;
};

// Arguments already evaluated; the implementation writes the result to `out`.
using function_impl = bool (*)(const call_site& site, std::span<operand> args, operand& out);

// Functions whose arguments are evaluated by the evaluator itself (lazily, or any number).
enum class special_form : std::uint8_t { none, coalesce, exists, concat, min, max };

inline constexpr std::uint8_t variadic = 255;
inline constexpr std::size_t max_fixed_arguments = 3;

struct function_spec {
  std::string_view name;   // canonical name
  std::string_view usage;  // for error messages: "substr(s, start[, count])"
  std::uint8_t min_args = 0;
  std::uint8_t max_args = 0;  // `variadic` for no limit
  special_form form = special_form::none;
  function_impl impl = nullptr;  // for form == none
};

// The spec for a name or alias; nullptr if unknown.
const function_spec* find_function(std::string_view name);
// Every name and alias, for "did you mean".
std::span<const std::string_view> function_names();

// Special forms that work on already evaluated values.
bool concat_append(const call_site& site, std::size_t index, const boost::json::value& v,
                   std::string& text);
// One step of min/max: whether `candidate` replaces `best` (nullptr before the first value).
// Fails unless both are numbers or both strings.
bool extreme_candidate(const call_site& site, bool want_max, const boost::json::value& candidate,
                       const boost::json::value* best, bool& replace);

}  // namespace sluice::operators::expr
