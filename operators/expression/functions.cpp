#include "operators/expression/functions.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/string.hpp>
#include <charconv>
#include <cmath>
#include <limits>

#include "operators/expression/evaluator.hpp"
#include "operators/expression/node.hpp"
#include "operators/expression/value_ops.hpp"

namespace sluice::operators::expr {

namespace json = boost::json;

bool call_site::fail(const std::string& message) const {
  return f.fail(call.position, std::string(call.function->name) + ": " + message);
}

bool call_site::argument_error(std::size_t index, std::string_view expected,
                               const json::value& got) const {
  const node* argument = index < call.children.size() ? call.children[index].get() : nullptr;
  return fail("argument " + std::to_string(index + 1) + " must be " + std::string(expected) +
              ", got " +
              (argument ? describe_operand(*argument, got) : std::string(type_name(got))));
}

namespace {

// Limits json_parse's nesting: Boost.JSON's default of 32 is too tight for real documents, and
// unbounded depth would let one record exhaust the stack.
constexpr std::size_t json_parse_max_depth = 256;

// 2^63 as a double: the first value out of int64's range.
constexpr double int64_limit = 9223372036854775808.0;

const json::string* string_arg(const call_site& site, std::span<operand> args, std::size_t i) {
  const json::string* s = args[i].get().if_string();
  if (s == nullptr) {
    site.argument_error(i, "a string", args[i].get());
  }
  return s;
}

bool int_arg(const call_site& site, std::span<operand> args, std::size_t i, std::int64_t& out) {
  const auto n = to_number(args[i].get());
  if (!n || !n->is_int) {
    return site.argument_error(i, "an int", args[i].get());
  }
  out = n->i;
  return true;
}

void set_string(operand& out, std::string_view s) {
  out.set(json::value(json::string(s)));
}

// Byte offset of the code point `count` code points into `s` (clamped to the end).
std::size_t utf8_offset(std::string_view s, std::size_t count) {
  std::size_t i = 0;
  while (i < s.size() && count > 0) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) {
      ++i;
    }
    --count;
  }
  return i;
}

std::size_t utf8_length(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool double_to_int(const call_site& site, double d, std::int64_t& out) {
  if (!std::isfinite(d) || d >= int64_limit || d < -int64_limit) {
    std::string text;
    append_double(text, d);
    return site.fail(text + " is out of the int range");
  }
  out = static_cast<std::int64_t>(d);
  return true;
}

// Parses a whole string as a JSON-style number: an int if it has no fraction or exponent.
std::optional<json::value> parse_number(std::string_view s) {
  std::int64_t i = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) {
    return json::value(i);
  }
  double d = 0;
  auto [dptr, dec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (dec == std::errc() && dptr == s.data() + s.size() && !s.empty() && std::isfinite(d)) {
    return json::value(d);
  }
  return std::nullopt;
}

bool ascii_iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) {
             return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
           };
           return lower(x) == lower(y);
         });
}

// --- strings -------------------------------------------------------------------------------

template <bool Upper>
bool change_case(const call_site& site, std::span<operand> args, operand& out) {
  const json::string* s = string_arg(site, args, 0);
  if (!s) {
    return false;
  }
  json::string result(as_view(*s));
  for (char& c : result) {
    if (Upper && c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 32);
    }
    if (!Upper && c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c + 32);
    }
  }
  out.set(json::value(std::move(result)));
  return true;
}

bool fn_trim(const call_site& site, std::span<operand> args, operand& out) {
  const json::string* s = string_arg(site, args, 0);
  if (!s) {
    return false;
  }
  std::string_view v = as_view(*s);
  constexpr std::string_view space = " \t\n\r\f\v";
  const auto first = v.find_first_not_of(space);
  if (first == std::string_view::npos) {
    set_string(out, "");
    return true;
  }
  const auto last = v.find_last_not_of(space);
  set_string(out, v.substr(first, last - first + 1));
  return true;
}

bool fn_len(const call_site& site, std::span<operand> args, operand& out) {
  const json::value& v = args[0].get();
  std::size_t n = 0;
  if (const auto* s = v.if_string()) {
    n = utf8_length(as_view(*s));
  } else if (const auto* a = v.if_array()) {
    n = a->size();
  } else if (const auto* o = v.if_object()) {
    n = o->size();
  } else {
    return site.argument_error(0, "a string, array or object", v);
  }
  out.set_int(static_cast<std::int64_t>(n));
  return true;
}

bool fn_contains(const call_site& site, std::span<operand> args, operand& out) {
  const auto found = contains(args[0].get(), args[1].get());
  if (found == membership::bad_haystack)
    return site.argument_error(0, "an array, string or object", args[0].get());
  if (found == membership::bad_needle) {
    return site.argument_error(
        1, std::string("a string to look for in a ") + std::string(type_name(args[0].get())),
        args[1].get());
  }
  out.set_bool(found == membership::found);
  return true;
}

template <bool Start>
bool affix(const call_site& site, std::span<operand> args, operand& out) {
  const json::string* s = string_arg(site, args, 0);
  if (!s) {
    return false;
  }
  const json::string* p = string_arg(site, args, 1);
  if (!p) {
    return false;
  }
  const std::string_view sv = as_view(*s);
  const std::string_view pv = as_view(*p);
  out.set_bool(Start ? sv.starts_with(pv) : sv.ends_with(pv));
  return true;
}

bool fn_substr(const call_site& site, std::span<operand> args, operand& out) {
  const json::string* s = string_arg(site, args, 0);
  if (!s) {
    return false;
  }
  std::int64_t start = 0;
  if (!int_arg(site, args, 1, start)) {
    return false;
  }
  const std::string_view sv = as_view(*s);
  const auto length = static_cast<std::int64_t>(utf8_length(sv));
  if (start < 0) {
    start = std::max<std::int64_t>(0, length + start);
  }
  start = std::min(start, length);
  std::int64_t count = length - start;
  if (args.size() > 2) {
    if (!int_arg(site, args, 2, count)) {
      return false;
    }
    if (count < 0) {
      return site.fail("count must not be negative, got " + std::to_string(count));
    }
    count = std::min(count, length - start);
  }
  const std::size_t begin = utf8_offset(sv, static_cast<std::size_t>(start));
  const std::size_t end = begin + utf8_offset(sv.substr(begin), static_cast<std::size_t>(count));
  set_string(out, sv.substr(begin, end - begin));
  return true;
}

bool fn_split(const call_site& site, std::span<operand> args, operand& out) {
  const json::string* s = string_arg(site, args, 0);
  if (!s) {
    return false;
  }
  const json::string* sep = string_arg(site, args, 1);
  if (!sep) {
    return false;
  }
  const std::string_view sv = as_view(*s);
  const std::string_view separator = as_view(*sep);
  if (separator.empty()) {
    return site.fail("the separator must not be empty");
  }
  json::array parts;
  std::size_t from = 0;
  while (true) {
    const std::size_t at = sv.find(separator, from);
    if (at == std::string_view::npos) {
      parts.emplace_back(json::string(sv.substr(from)));
      break;
    }
    parts.emplace_back(json::string(sv.substr(from, at - from)));
    from = at + separator.size();
  }
  out.set(json::value(std::move(parts)));
  return true;
}

bool fn_join(const call_site& site, std::span<operand> args, operand& out) {
  const json::array* array = args[0].get().if_array();
  if (!array) {
    return site.argument_error(0, "an array", args[0].get());
  }
  const json::string* sep = string_arg(site, args, 1);
  if (!sep) {
    return false;
  }
  std::string text;
  for (std::size_t i = 0; i < array->size(); ++i) {
    if (i > 0) {
      text += as_view(*sep);
    }
    const json::value& element = (*array)[i];
    if (const auto* s = element.if_string()) {
      text += as_view(*s);
    } else if (element.is_null() || element.is_array() || element.is_object()) {
      return site.fail("element " + std::to_string(i) + " of the array is " +
                       std::string(type_name(element)) + "; only strings, numbers and bools join");
    } else {
      append_json(text, element);
    }
  }
  set_string(out, text);
  return true;
}

bool fn_replace(const call_site& site, std::span<operand> args, operand& out) {
  const json::string* s = string_arg(site, args, 0);
  if (!s) {
    return false;
  }
  const json::string* from = string_arg(site, args, 1);
  if (!from) {
    return false;
  }
  const json::string* to = string_arg(site, args, 2);
  if (!to) {
    return false;
  }
  const std::string_view sv = as_view(*s);
  const std::string_view pattern = as_view(*from);
  if (pattern.empty()) {
    return site.fail("the text to replace must not be empty");
  }
  std::string text;
  std::size_t pos = 0;
  while (true) {
    const std::size_t at = sv.find(pattern, pos);
    if (at == std::string_view::npos) {
      break;
    }
    text += sv.substr(pos, at - pos);
    text += as_view(*to);
    pos = at + pattern.size();
  }
  text += sv.substr(pos);
  set_string(out, text);
  return true;
}

// --- conversions ---------------------------------------------------------------------------

bool fn_string(const call_site& site, std::span<operand> args, operand& out) {
  const json::value& v = args[0].get();
  if (v.is_string()) {
    out = std::move(args[0]);
    return true;
  }
  auto text = to_text(v);
  if (!text) {
    return site.fail("cannot convert null to a string (give a default with ?? or coalesce)");
  }
  set_string(out, *text);
  return true;
}

bool fn_number(const call_site& site, std::span<operand> args, operand& out) {
  const json::value& v = args[0].get();
  if (const auto n = to_number(v)) {
    if (n->is_int) {
      out.set_int(n->i);
    } else {
      out.set_double(n->d);
    }
    return true;
  }
  if (const auto* s = v.if_string()) {
    if (auto parsed = parse_number(as_view(*s))) {
      out.set(std::move(*parsed));
      return true;
    }
    std::string quoted;
    append_quoted(quoted, as_view(*s));
    return site.fail(quoted + " is not a number");
  }
  return site.argument_error(0, "a number or a string", v);
}

bool fn_int(const call_site& site, std::span<operand> args, operand& out) {
  const json::value& v = args[0].get();
  std::optional<json::value> parsed;
  const json::value* source = &v;
  if (v.is_bool()) {
    out.set_int(v.get_bool() ? 1 : 0);
    return true;
  }
  if (const auto* s = v.if_string()) {
    parsed = parse_number(as_view(*s));
    if (!parsed) {
      std::string quoted;
      append_quoted(quoted, as_view(*s));
      return site.fail(quoted + " is not a number");
    }
    source = &*parsed;
  }
  if (source->is_uint64() && !to_number(*source)->is_int) {
    return site.fail(std::to_string(source->get_uint64()) + " is out of the int range");
  }
  const auto n = to_number(*source);
  if (!n) {
    return site.argument_error(0, "a number, string or bool", v);
  }
  std::int64_t i = n->i;
  if (!n->is_int && !double_to_int(site, std::trunc(n->d), i)) {
    return false;
  }
  out.set_int(i);
  return true;
}

bool fn_double(const call_site& site, std::span<operand> args, operand& out) {
  const json::value& v = args[0].get();
  if (v.is_bool()) {
    out.set_double(v.get_bool() ? 1.0 : 0.0);
    return true;
  }
  if (const auto n = to_number(v)) {
    out.set_double(n->as_double());
    return true;
  }
  if (const auto* s = v.if_string()) {
    if (auto parsed = parse_number(as_view(*s))) {
      out.set_double(to_number(*parsed)->as_double());
      return true;
    }
    std::string quoted;
    append_quoted(quoted, as_view(*s));
    return site.fail(quoted + " is not a number");
  }
  return site.argument_error(0, "a number, string or bool", v);
}

bool fn_bool(const call_site& site, std::span<operand> args, operand& out) {
  const json::value& v = args[0].get();
  if (v.is_bool()) {
    out.set_bool(v.get_bool());
    return true;
  }
  if (const auto* s = v.if_string()) {
    if (ascii_iequals(as_view(*s), "true")) {
      out.set_bool(true);
      return true;
    }
    if (ascii_iequals(as_view(*s), "false")) {
      out.set_bool(false);
      return true;
    }
    std::string quoted;
    append_quoted(quoted, as_view(*s));
    return site.fail(quoted + " is not a bool (expected \"true\" or \"false\")");
  }
  if (const auto n = to_number(v); n && n->is_int && (n->i == 0 || n->i == 1)) {
    out.set_bool(n->i == 1);
    return true;
  }
  return site.argument_error(0, "a bool, \"true\"/\"false\", 0 or 1", v);
}

bool fn_json_parse(const call_site& site, std::span<operand> args, operand& out) {
  const json::string* s = string_arg(site, args, 0);
  if (!s) {
    return false;
  }
  json::parse_options options;
  options.max_depth = json_parse_max_depth;
  json::stream_parser parser({}, options);
  boost::system::error_code ec;
  const std::size_t consumed = parser.write_some(s->data(), s->size(), ec);
  if (!ec && consumed != s->size()) {
    return site.fail("invalid JSON: extra data at byte " + std::to_string(consumed));
  }
  if (!ec) {
    parser.finish(ec);
  }
  if (ec) {
    return site.fail("invalid JSON: " + ec.message() + " (near byte " + std::to_string(consumed) +
                     ")");
  }
  out.set(parser.release());
  return true;
}

bool fn_json_string(const call_site&, std::span<operand> args, operand& out) {
  std::string text;
  append_json(text, args[0].get());
  set_string(out, text);
  return true;
}

// --- numbers -------------------------------------------------------------------------------

bool fn_abs(const call_site& site, std::span<operand> args, operand& out) {
  const auto n = to_number(args[0].get());
  if (!n) {
    return site.argument_error(0, "a number", args[0].get());
  }
  if (!n->is_int) {
    out.set_double(std::fabs(n->d));
  } else if (n->i == std::numeric_limits<std::int64_t>::min()) {
    return site.fail("integer overflow (abs of " + std::to_string(n->i) + ")");
  } else {
    out.set_int(n->i < 0 ? -n->i : n->i);
  }
  return true;
}

enum class rounding : std::uint8_t { floor, ceil, round };

template <rounding Mode>
bool fn_round(const call_site& site, std::span<operand> args, operand& out) {
  const auto n = to_number(args[0].get());
  if (!n) {
    return site.argument_error(0, "a number", args[0].get());
  }
  const auto apply = [](double d) {
    if (Mode == rounding::floor) {
      return std::floor(d);
    }
    if (Mode == rounding::ceil) {
      return std::ceil(d);
    }
    return std::round(d);  // half away from zero
  };
  if (args.size() > 1) {  // round(x, digits): a double
    std::int64_t digits = 0;
    if (!int_arg(site, args, 1, digits)) {
      return false;
    }
    constexpr std::int64_t max_digits = 15;  // beyond that a double has no more decimal digits
    if (digits < 0 || digits > max_digits) {
      return site.fail("digits must be between 0 and 15, got " + std::to_string(digits));
    }
    if (n->is_int) {
      out.set_double(static_cast<double>(n->i));
      return true;
    }
    const double scale = std::pow(10.0, static_cast<double>(digits));
    const double scaled = apply(n->d * scale) / scale;
    out.set_double(std::isfinite(scaled) ? scaled : n->d);
    return true;
  }
  if (n->is_int) {
    out.set_int(n->i);
    return true;
  }
  std::int64_t i = 0;
  if (!double_to_int(site, apply(n->d), i)) {
    return false;
  }
  out.set_int(i);
  return true;
}

// --- objects and types ---------------------------------------------------------------------

bool fn_type(const call_site&, std::span<operand> args, operand& out) {
  set_string(out, type_name(args[0].get()));
  return true;
}

template <bool Keys>
bool fn_members(const call_site& site, std::span<operand> args, operand& out) {
  const json::object* object = args[0].get().if_object();
  if (!object) {
    return site.argument_error(0, "an object", args[0].get());
  }
  json::array result;
  result.reserve(object->size());
  for (const auto& member : *object) {
    if (Keys) {
      result.emplace_back(json::string(member.key()));
    } else {
      result.emplace_back(member.value());
    }
  }
  out.set(json::value(std::move(result)));
  return true;
}

// --- the table -----------------------------------------------------------------------------

constexpr std::uint8_t variadic_args = variadic;

const function_spec functions[] = {
    {"lower", "lower(s)", 1, 1, special_form::none, &change_case<false>},
    {"upper", "upper(s)", 1, 1, special_form::none, &change_case<true>},
    {"trim", "trim(s)", 1, 1, special_form::none, &fn_trim},
    {"len", "len(x)", 1, 1, special_form::none, &fn_len},
    {"contains", "contains(haystack, needle)", 2, 2, special_form::none, &fn_contains},
    {"starts_with", "starts_with(s, prefix)", 2, 2, special_form::none, &affix<true>},
    {"ends_with", "ends_with(s, suffix)", 2, 2, special_form::none, &affix<false>},
    {"substr", "substr(s, start[, count])", 2, 3, special_form::none, &fn_substr},
    {"split", "split(s, separator)", 2, 2, special_form::none, &fn_split},
    {"join", "join(array, separator)", 2, 2, special_form::none, &fn_join},
    {"replace", "replace(s, from, to)", 3, 3, special_form::none, &fn_replace},
    {"concat", "concat(x, ...)", 1, variadic_args, special_form::concat, nullptr},
    {"string", "string(x)", 1, 1, special_form::none, &fn_string},
    {"number", "number(x)", 1, 1, special_form::none, &fn_number},
    {"int", "int(x)", 1, 1, special_form::none, &fn_int},
    {"double", "double(x)", 1, 1, special_form::none, &fn_double},
    {"bool", "bool(x)", 1, 1, special_form::none, &fn_bool},
    {"abs", "abs(x)", 1, 1, special_form::none, &fn_abs},
    {"floor", "floor(x)", 1, 1, special_form::none, &fn_round<rounding::floor>},
    {"ceil", "ceil(x)", 1, 1, special_form::none, &fn_round<rounding::ceil>},
    {"round", "round(x[, digits])", 1, 2, special_form::none, &fn_round<rounding::round>},
    {"min", "min(x, ...)", 1, variadic_args, special_form::min, nullptr},
    {"max", "max(x, ...)", 1, variadic_args, special_form::max, nullptr},
    {"coalesce", "coalesce(x, ...)", 1, variadic_args, special_form::coalesce, nullptr},
    {"exists", "exists(path)", 1, 1, special_form::exists, nullptr},
    {"type", "type(x)", 1, 1, special_form::none, &fn_type},
    {"keys", "keys(object)", 1, 1, special_form::none, &fn_members<true>},
    {"values", "values(object)", 1, 1, special_form::none, &fn_members<false>},
    {"json_parse", "json_parse(s)", 1, 1, special_form::none, &fn_json_parse},
    {"json_string", "json_string(x)", 1, 1, special_form::none, &fn_json_string},
};

struct alias {
  std::string_view name;
  std::string_view target;
};
constexpr alias aliases[] = {{"length", "len"}, {"to_string", "string"}};

const function_spec* find_canonical(std::string_view name) {
  for (const auto& spec : functions) {
    if (spec.name == name) {
      return &spec;
    }
  }
  return nullptr;
}

const std::array<std::string_view, std::size(functions) + std::size(aliases)> all_names = [] {
  std::array<std::string_view, std::size(functions) + std::size(aliases)> names{};
  std::size_t i = 0;
  for (const auto& spec : functions) {
    names[i++] = spec.name;
  }
  for (const auto& a : aliases) {
    names[i++] = a.name;
  }
  return names;
}();

}  // namespace

const function_spec* find_function(std::string_view name) {
  if (const auto* spec = find_canonical(name)) {
    return spec;
  }
  for (const auto& a : aliases) {
    if (a.name == name) {
      return find_canonical(a.target);
    }
  }
  return nullptr;
}

std::span<const std::string_view> function_names() {
  return all_names;
}

bool concat_append(const call_site& site, std::size_t index, const json::value& v,
                   std::string& text) {
  if (const auto* s = v.if_string()) {
    text += as_view(*s);
    return true;
  }
  if (v.is_null()) {
    return site.argument_error(index, "not null (give a default with ?? or coalesce)", v);
  }
  append_json(text, v);
  return true;
}

bool extreme_candidate(const call_site& site, bool want_max, const json::value& candidate,
                       const json::value* best, bool& replace) {
  if (!candidate.is_number() && !candidate.is_string()) {
    return site.fail("cannot compare " + std::string(type_name(candidate)) +
                     "; expected numbers or strings");
  }
  if (best == nullptr) {
    replace = true;
    return true;
  }
  const auto order = json_order(candidate, *best);
  if (!order) {
    return site.fail("cannot compare " + std::string(type_name(candidate)) + " with " +
                     std::string(type_name(*best)));
  }
  replace = want_max ? *order > 0 : *order < 0;
  return true;
}

}  // namespace sluice::operators::expr
