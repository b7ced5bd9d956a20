#include "operators/expression/value_ops.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <charconv>
#include <cmath>
#include <limits>

namespace sluice::operators::expr {

namespace json = boost::json;

std::string_view type_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "bool";
    case json::kind::int64:
    case json::kind::uint64:
      return "int";
    case json::kind::double_:
      return "double";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "unknown";
}

std::optional<number> to_number(const json::value& v) {
  switch (v.kind()) {
    case json::kind::int64:
      return number{true, v.get_int64(), 0.0};
    case json::kind::uint64: {
      const std::uint64_t u = v.get_uint64();
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return number{true, static_cast<std::int64_t>(u), 0.0};
      }
      return number{false, 0, static_cast<double>(u)};
    }
    case json::kind::double_:
      return number{false, 0, v.get_double()};
    default:
      return std::nullopt;
  }
}

namespace {

bool is_number(const json::value& v) {
  return v.is_int64() || v.is_uint64() || v.is_double();
}

// Exact comparison of two integral JSON numbers (int64 and/or uint64).
int compare_integral(const json::value& a, const json::value& b) {
  if (a.is_int64() && b.is_int64()) {
    return a.get_int64() < b.get_int64() ? -1 : (a.get_int64() > b.get_int64() ? 1 : 0);
  }
  // At least one is a uint64, which is never below zero.
  if (a.is_int64() && a.get_int64() < 0) {
    return -1;
  }
  if (b.is_int64() && b.get_int64() < 0) {
    return 1;
  }
  const std::uint64_t ua =
      a.is_int64() ? static_cast<std::uint64_t>(a.get_int64()) : a.get_uint64();
  const std::uint64_t ub =
      b.is_int64() ? static_cast<std::uint64_t>(b.get_int64()) : b.get_uint64();
  return ua < ub ? -1 : (ua > ub ? 1 : 0);
}

double as_double(const json::value& v) {
  if (v.is_int64()) {
    return static_cast<double>(v.get_int64());
  }
  if (v.is_uint64()) {
    return static_cast<double>(v.get_uint64());
  }
  return v.get_double();
}

int compare_numbers(const json::value& a, const json::value& b) {
  if (!a.is_double() && !b.is_double()) {
    return compare_integral(a, b);
  }
  const double x = as_double(a);
  const double y = as_double(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

}  // namespace

std::string_view as_view(const json::string& s) {
  return {s.data(), s.size()};
}

bool json_equal(const json::value& a, const json::value& b) {
  if (is_number(a) && is_number(b)) {
    if (a.is_double() || b.is_double()) {
      return as_double(a) == as_double(b);
    }
    return compare_integral(a, b) == 0;
  }
  if (a.kind() != b.kind()) {
    return false;
  }
  switch (a.kind()) {
    case json::kind::null:
      return true;
    case json::kind::bool_:
      return a.get_bool() == b.get_bool();
    case json::kind::string:
      return as_view(a.get_string()) == as_view(b.get_string());
    case json::kind::array: {
      const auto& x = a.get_array();
      const auto& y = b.get_array();
      if (x.size() != y.size()) {
        return false;
      }
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!json_equal(x[i], y[i])) {
          return false;
        }
      }
      return true;
    }
    case json::kind::object: {
      const auto& x = a.get_object();
      const auto& y = b.get_object();
      if (x.size() != y.size()) {
        return false;
      }
      for (const auto& member : x) {
        const json::value* other = y.if_contains(member.key());
        if (other == nullptr || !json_equal(member.value(), *other)) {
          return false;
        }
      }
      return true;
    }
    default:
      return false;
  }
}

std::optional<int> json_order(const json::value& a, const json::value& b) {
  if (is_number(a) && is_number(b)) {
    return compare_numbers(a, b);
  }
  if (a.is_string() && b.is_string()) {
    const int c = as_view(a.get_string()).compare(as_view(b.get_string()));
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return std::nullopt;
}

membership contains(const json::value& haystack, const json::value& needle) {
  switch (haystack.kind()) {
    case json::kind::array:
      for (const auto& element : haystack.get_array()) {
        if (json_equal(element, needle)) {
          return membership::found;
        }
      }
      return membership::not_found;
    case json::kind::string:
      if (!needle.is_string()) {
        return membership::bad_needle;
      }
      return as_view(haystack.get_string()).find(as_view(needle.get_string())) !=
                     std::string_view::npos
                 ? membership::found
                 : membership::not_found;
    case json::kind::object:
      if (!needle.is_string()) {
        return membership::bad_needle;
      }
      return haystack.get_object().contains(needle.get_string()) ? membership::found
                                                                 : membership::not_found;
    default:
      return membership::bad_haystack;
  }
}

void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), d);
  const std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  out += text;
  // Keep it a double when read back: "1" would come back as an int.
  if (text.find_first_of(".e") == std::string_view::npos) {
    out += ".0";
  }
}

void append_quoted(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out.push_back(hex[(static_cast<unsigned char>(c) >> 4) & 0xF]);
          out.push_back(hex[static_cast<unsigned char>(c) & 0xF]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

namespace {
template <class Integer>
void append_integer(std::string& out, Integer i) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), i);
  out.append(buffer, end);
}
}  // namespace

void append_json(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      break;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case json::kind::int64:
      append_integer(out, v.get_int64());
      break;
    case json::kind::uint64:
      append_integer(out, v.get_uint64());
      break;
    case json::kind::double_:
      append_double(out, v.get_double());
      break;
    case json::kind::string:
      append_quoted(out, as_view(v.get_string()));
      break;
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& element : v.get_array()) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        append_json(out, element);
      }
      out.push_back(']');
      break;
    }
    case json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& member : v.get_object()) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        append_quoted(out, std::string_view(member.key().data(), member.key().size()));
        out.push_back(':');
        append_json(out, member.value());
      }
      out.push_back('}');
      break;
    }
  }
}

std::optional<std::string> to_text(const json::value& v) {
  if (v.is_null()) {
    return std::nullopt;
  }
  if (v.is_string()) {
    return std::string(as_view(v.get_string()));
  }
  std::string out;
  append_json(out, v);
  return out;
}

}  // namespace sluice::operators::expr
