#include "operators/aggregate_set.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <stdexcept>

namespace sluice::operators {

namespace json = boost::json;

namespace {

constexpr std::string_view state_time = "t";
constexpr std::string_view state_values = "a";

bool is_integer(const json::value& v) {
  return v.is_int64() || (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX));
}

std::int64_t as_int(const json::value& v) {
  return v.is_int64() ? v.get_int64() : static_cast<std::int64_t>(v.get_uint64());
}

// Integers stay integers until they overflow; anything else becomes a double.
json::value add_numbers(const json::value& a, const json::value& b) {
  if (is_integer(a) && is_integer(b)) {
    std::int64_t out = 0;
    if (!__builtin_add_overflow(as_int(a), as_int(b), &out)) {
      return out;
    }
  }
  return a.to_number<double>() + b.to_number<double>();
}

// -1, 0, 1, or nullopt when the two cannot be ordered (number against string, objects, ...).
std::optional<int> compare(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    if (is_integer(a) && is_integer(b)) {
      const auto x = as_int(a), y = as_int(b);
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    const double x = a.to_number<double>(), y = b.to_number<double>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.get_string().compare(b.get_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return std::nullopt;
}

std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

// Sorted insert into a set kept as a sorted JSON array of strings.
void insert_sorted(json::array& set, const json::string& item) {
  auto it = std::lower_bound(
      set.begin(), set.end(), item,
      [](const json::value& v, const json::string& s) { return v.get_string() < s; });
  if (it != set.end() && it->get_string() == item) {
    return;
  }
  set.insert(it, json::value(item));
}

}  // namespace

aggregate_set::aggregate_set(const std::vector<aggregation_spec>& specs,
                             const function_registry& registry, std::string step_name)
    : step_(std::move(step_name)) {
  for (const auto& spec : specs) {
    entry e{spec, std::nullopt, nullptr};
    if (!spec.expression.empty()) {
      auto compiled = bound_expression::compile(spec.expression);
      if (!compiled) {
        throw std::invalid_argument(
            fmt::format("aggregation '{}': {}", spec.output, compiled.error().message));
      }
      e.expression = std::move(compiled).value();
    }
    if (spec.function == aggregate_function::user) {
      e.user = registry.find_aggregate(spec.user_function);
      if (e.user == nullptr) {
        throw std::invalid_argument(fmt::format("aggregation '{}': no user aggregate '{}'",
                                                spec.output, spec.user_function));
      }
    }
    entries_.push_back(std::move(e));
  }
}

processing_error aggregate_set::error(const record& r, const entry& e, std::string message,
                                      error_kind kind) const {
  return processing_error{
      kind,
      fmt::format("aggregation '{}' ({}): {}", e.spec.output, to_string(e.spec.function), message),
      r.origin, step_};
}

std::optional<processing_error> aggregate_set::keep_extreme(json::value& acc,
                                                            const json::value& candidate,
                                                            const record& r, const entry& e) const {
  const auto c = compare(candidate, acc);
  if (!c) {
    return error(r, e,
                 fmt::format("cannot compare {} with {}", kind_name(candidate), kind_name(acc)));
  }
  if ((e.spec.function == aggregate_function::min && *c < 0) ||
      (e.spec.function == aggregate_function::max && *c > 0)) {
    acc = candidate;
  }
  return std::nullopt;
}

json::value aggregate_set::initial_state() const {
  json::array values;
  for (const auto& e : entries_) {
    switch (e.spec.function) {
      case aggregate_function::count:
        values.emplace_back(0);
        break;
      case aggregate_function::count_distinct:
        values.emplace_back(json::array());
        break;
      case aggregate_function::avg:
        values.emplace_back(json::object{{"s", 0.0}, {"n", 0}});
        break;
      // sum, min, max, first, last: null until a value arrives. user: init() is called lazily
      // in add(), where an exception it throws becomes this record's error.
      default:
        values.emplace_back(nullptr);
        break;
    }
  }
  return json::object{{state_time, -1}, {state_values, std::move(values)}};
}

processing_result<std::vector<json::value>> aggregate_set::inputs(const record& r) const {
  std::vector<json::value> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) {
    if (!e.expression) {
      out.emplace_back(nullptr);
      continue;
    }
    auto v = e.expression->evaluate(r, step_);
    if (!v) {
      return v.error();
    }
    out.push_back(std::move(v).value());
  }
  return out;
}

std::optional<processing_error> aggregate_set::add(json::value& state,
                                                   const std::vector<json::value>& inputs,
                                                   std::int64_t timestamp, const record& r) const {
  auto& obj = state.as_object();
  auto& values = obj[state_values].as_array();
  if (values.size() != entries_.size() || inputs.size() != entries_.size()) {
    return processing_error{error_kind::evaluation,
                            fmt::format("aggregate state has {} values for {} aggregations",
                                        values.size(), entries_.size()),
                            r.origin, step_};
  }
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const auto& e = entries_[i];
    const auto& in = inputs[i];
    auto& acc = values[i];
    const bool counts_records = e.spec.function == aggregate_function::count && !e.expression;
    if (in.is_null() && !counts_records && e.spec.function != aggregate_function::user) {
      continue;
    }
    switch (e.spec.function) {
      case aggregate_function::count:
        acc = as_int(acc) + 1;
        break;
      case aggregate_function::sum:
        if (!in.is_number()) {
          return error(r, e, fmt::format("cannot sum {}", kind_name(in)));
        }
        acc = acc.is_null() ? in : add_numbers(acc, in);
        break;
      case aggregate_function::avg: {
        if (!in.is_number()) {
          return error(r, e, fmt::format("cannot average {}", kind_name(in)));
        }
        auto& a = acc.as_object();
        a["s"] = a["s"].to_number<double>() + in.to_number<double>();
        a["n"] = as_int(a["n"]) + 1;
        break;
      }
      case aggregate_function::min:
      case aggregate_function::max: {
        if (!in.is_number() && !in.is_string()) {
          return error(r, e, fmt::format("needs numbers or strings, got {}", kind_name(in)));
        }
        if (acc.is_null()) {
          acc = in;
          break;
        }
        if (auto failed = keep_extreme(acc, in, r, e)) return failed;
        break;
      }
      case aggregate_function::first:
        if (acc.is_null() || timestamp < acc.as_array()[0].as_int64()) {
          acc = json::array{timestamp, in};
        }
        break;
      case aggregate_function::last:
        if (acc.is_null() || timestamp >= acc.as_array()[0].as_int64()) {
          acc = json::array{timestamp, in};
        }
        break;
      case aggregate_function::count_distinct:
        insert_sorted(acc.as_array(), json::string(json::serialize(in)));
        break;
      case aggregate_function::user:
        try {
          json::value current = acc.is_null() ? e.user->init() : acc;
          acc = e.user->add(std::move(current), in);
        } catch (const std::exception& ex) {
          return error(
              r, e, fmt::format("user aggregate '{}' threw: {}", e.spec.user_function, ex.what()),
              error_kind::user_function);
        }
        break;
    }
  }
  obj[state_time] = std::max(obj[state_time].as_int64(), timestamp);
  return std::nullopt;
}

processing_result<json::value> aggregate_set::merge(const json::value& a, const json::value& b,
                                                    const record& r) const {
  json::value out = a;
  auto& obj = out.as_object();
  auto& values = obj[state_values].as_array();
  const auto& other = b.as_object().at(state_values).as_array();
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const auto& e = entries_[i];
    auto& acc = values[i];
    const auto& in = other[i];
    if (in.is_null()) {
      continue;
    }
    if (acc.is_null() && e.spec.function != aggregate_function::user) {
      acc = in;
      continue;
    }
    switch (e.spec.function) {
      case aggregate_function::count:
        acc = as_int(acc) + as_int(in);
        break;
      case aggregate_function::sum:
        acc = add_numbers(acc, in);
        break;
      case aggregate_function::avg: {
        auto& x = acc.as_object();
        const auto& y = in.as_object();
        x["s"] = x["s"].to_number<double>() + y.at("s").to_number<double>();
        x["n"] = as_int(x["n"]) + as_int(y.at("n"));
        break;
      }
      case aggregate_function::min:
      case aggregate_function::max: {
        if (auto failed = keep_extreme(acc, in, r, e)) return std::move(*failed);
        break;
      }
      case aggregate_function::first:
        if (in.as_array()[0].as_int64() < acc.as_array()[0].as_int64()) {
          acc = in;
        }
        break;
      case aggregate_function::last:
        if (in.as_array()[0].as_int64() >= acc.as_array()[0].as_int64()) {
          acc = in;
        }
        break;
      case aggregate_function::count_distinct:
        for (const auto& item : in.as_array()) {
          insert_sorted(acc.as_array(), item.get_string());
        }
        break;
      case aggregate_function::user:
        try {
          if (acc.is_null()) {
            acc = in;
          } else {
            acc = e.user->merge(acc, in);
          }
        } catch (const std::exception& ex) {
          return error(
              r, e,
              fmt::format("user aggregate '{}' merge threw: {}", e.spec.user_function, ex.what()),
              error_kind::user_function);
        }
        break;
    }
  }
  obj[state_time] = std::max(obj[state_time].as_int64(), max_timestamp(b));
  return out;
}

std::optional<processing_error> aggregate_set::results(const json::value& state, json::object& out,
                                                       const record& r) const {
  const auto& values = state.as_object().at(state_values).as_array();
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const auto& e = entries_[i];
    const auto& acc = values[i];
    json::value result;
    switch (e.spec.function) {
      case aggregate_function::count:
      case aggregate_function::sum:
      case aggregate_function::min:
      case aggregate_function::max:
        result = acc;
        break;
      case aggregate_function::avg: {
        const auto& a = acc.as_object();
        const auto n = as_int(a.at("n"));
        result = n == 0 ? json::value(nullptr)
                        : json::value(a.at("s").to_number<double>() / static_cast<double>(n));
        break;
      }
      case aggregate_function::first:
      case aggregate_function::last:
        result = acc.is_null() ? json::value(nullptr) : acc.as_array()[1];
        break;
      case aggregate_function::count_distinct:
        result = static_cast<std::int64_t>(acc.as_array().size());
        break;
      case aggregate_function::user:
        try {
          result = e.user->result(acc.is_null() ? e.user->init() : acc);
        } catch (const std::exception& ex) {
          return error(
              r, e,
              fmt::format("user aggregate '{}' result threw: {}", e.spec.user_function, ex.what()),
              error_kind::user_function);
        }
        break;
    }
    out[e.spec.output] = std::move(result);
  }
  return std::nullopt;
}

std::int64_t aggregate_set::max_timestamp(const json::value& state) {
  return state.as_object().at(state_time).as_int64();
}

record aggregate_set::result_record(const json::value& key, json::object value,
                                    const json::value& state, const record& trigger) {
  record r;
  r.key = key;
  r.value = std::move(value);
  r.timestamp = max_timestamp(state);
  r.origin = trigger.origin;
  return r;
}

}  // namespace sluice::operators
