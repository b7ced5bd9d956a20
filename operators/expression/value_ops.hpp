#pragma once

// value_ops: the value rules of the expression language shared by operators and functions:
// type names, JSON equality with 1 == 1.0, ordering, numbers, text conversion and JSON output.

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::operators::expr {

// "null", "bool", "int", "double", "string", "array", "object" (uint64 is an int too).
std::string_view type_name(const boost::json::value& v);

// A number as the language sees it: an int64, or a double. A uint64 beyond int64 is a double.
struct number {
  bool is_int = false;
  std::int64_t i = 0;
  double d = 0.0;
  double as_double() const { return is_int ? static_cast<double>(i) : d; }
};
std::optional<number> to_number(const boost::json::value& v);

// JSON value equality: numbers compare by value across int and double, objects regardless of
// member order. Never fails: different types are simply unequal.
bool json_equal(const boost::json::value& a, const boost::json::value& b);

// Ordering for < <= > >=, min and max: two numbers, or two strings (byte-wise, which for UTF-8
// is code point order). nullopt when the pair cannot be ordered.
std::optional<int> json_order(const boost::json::value& a, const boost::json::value& b);

// `needle in haystack`: element of an array, substring of a string, key of an object.
enum class membership : std::uint8_t { found, not_found, bad_haystack, bad_needle };
membership contains(const boost::json::value& haystack, const boost::json::value& needle);

std::string_view as_view(const boost::json::string& s);

// Shortest text that reads back as the same double, always marked as a double ("1.0", "0.1",
// "1e+21"); non-finite values print as "null" (JSON has no such numbers).
void append_double(std::string& out, double d);
// A JSON string literal with the escapes JSON requires.
void append_quoted(std::string& out, std::string_view s);
// Compact JSON text.
void append_json(std::string& out, const boost::json::value& v);

// Text of a scalar for string(), concat() and join(): strings as they are, numbers and bools
// as written in JSON, arrays and objects as JSON text. nullopt for null.
std::optional<std::string> to_text(const boost::json::value& v);

}  // namespace sluice::operators::expr
