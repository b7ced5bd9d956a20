#include "operators/aggregate_set.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <stdexcept>

namespace sluice::operators {

namespace json = boost::json;

namespace {

constexpr std::string_view state_time = "t";
constexpr std::string_view state_values = "a";

}  // namespace

aggregate_set::aggregate_set(const std::vector<aggregation_spec>& specs,
                             const function_registry& registry, std::string step_name)
    : step_(std::move(step_name)) {
  for (const auto& spec : specs) {
    entry e{spec, std::nullopt, nullptr};
    const bool counts_records =
        spec.function == aggregate_function::count && spec.expression.empty();
    if (!spec.expression.empty()) {
      auto compiled = bound_expression::compile(spec.expression);
      if (!compiled) {
        throw std::invalid_argument(
            fmt::format("aggregation '{}': {}", spec.output, compiled.error().message));
      }
      e.expression = std::move(compiled).value();
    }
    if (spec.function == aggregate_function::user) {
      e.function = registry.find_aggregate(spec.user_function);
      if (e.function == nullptr) {
        throw std::invalid_argument(fmt::format("aggregation '{}': no user aggregate '{}'",
                                                spec.output, spec.user_function));
      }
    } else {
      e.function = make_builtin_aggregation(spec.function, counts_records);
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

processing_error aggregate_set::caught(const record& r, const entry& e,
                                       std::string_view phase) const {
  try {
    throw;
  } catch (const aggregation_error& ex) {
    if (e.spec.function != aggregate_function::user) return error(r, e, ex.what());
    return error(
        r, e,
        fmt::format("user aggregate '{}' {}threw: {}", e.spec.user_function, phase, ex.what()),
        error_kind::user_function);
  } catch (const std::exception& ex) {
    if (e.spec.function != aggregate_function::user) throw;
    return error(
        r, e,
        fmt::format("user aggregate '{}' {}threw: {}", e.spec.user_function, phase, ex.what()),
        error_kind::user_function);
  }
}

// A user aggregation's init() runs lazily (its state is null until the first add()), where an
// exception it throws becomes the record's error.
json::value aggregate_set::initial_state() const {
  json::array values;
  for (const auto& e : entries_) values.push_back(e.function->init());
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

template <class Fold>
std::optional<processing_error> aggregate_set::fold_each(json::value& state,
                                                         const std::vector<json::value>& inputs,
                                                         std::int64_t timestamp, const record& r,
                                                         std::string_view phase, Fold fold) const {
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
    if (in.is_null() && !e.function->takes_nulls()) continue;
    try {
      fold(*e.function, values[i], in);
    } catch (...) {
      return caught(r, e, phase);
    }
  }
  obj[state_time] = std::max(obj[state_time].as_int64(), timestamp);
  return std::nullopt;
}

std::optional<processing_error> aggregate_set::add(json::value& state,
                                                   const std::vector<json::value>& inputs,
                                                   std::int64_t timestamp, const record& r) const {
  return fold_each(state, inputs, timestamp, r, "",
                   [timestamp](const aggregation& a, json::value& value, const json::value& in) {
                     a.add(value, in, timestamp);
                   });
}

std::optional<processing_error> aggregate_set::subtract(json::value& state,
                                                        const std::vector<json::value>& inputs,
                                                        std::int64_t timestamp,
                                                        const record& r) const {
  return fold_each(state, inputs, timestamp, r, "subtract ",
                   [timestamp](const aggregation& a, json::value& value, const json::value& in) {
                     a.subtract(value, in, timestamp);
                   });
}

bool aggregate_set::subtracts() const {
  return std::all_of(entries_.begin(), entries_.end(),
                     [](const entry& e) { return e.function->subtracts(); });
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
    if (in.is_null()) continue;
    if (acc.is_null()) {
      acc = in;
      continue;
    }
    try {
      e.function->merge(acc, in);
    } catch (...) {
      return caught(r, e, "merge ");
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
    try {
      out[e.spec.output] = e.function->result(values[i]);
    } catch (...) {
      return caught(r, e, "result ");
    }
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
