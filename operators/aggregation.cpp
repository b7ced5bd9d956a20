#include "operators/aggregation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <optional>

#include "operators/expression/value_ops.hpp"

namespace sluice::operators {

namespace json = boost::json;

namespace {

bool is_integer(const json::value& v) {
  return v.is_int64() || (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX));
}

std::int64_t as_int(const json::value& v) {
  return v.is_int64() ? v.get_int64() : static_cast<std::int64_t>(v.get_uint64());
}

// -n, as an integer while it fits.
json::value negated(const json::value& n) {
  if (is_integer(n) && as_int(n) != INT64_MIN) return -as_int(n);
  return -n.to_number<double>();
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

class count final : public aggregation {
 public:
  explicit count(bool counts_records) : counts_records_(counts_records) {}
  json::value init() const override { return 0; }
  bool takes_nulls() const override { return counts_records_; }
  void add(json::value& state, const json::value&, std::int64_t) const override {
    state = as_int(state) + 1;
  }
  void merge(json::value& state, const json::value& other) const override {
    state = as_int(state) + as_int(other);
  }
  json::value result(const json::value& state) const override { return state; }
  bool subtracts() const override { return true; }
  void subtract(json::value& state, const json::value&, std::int64_t) const override {
    state = as_int(state) - 1;
  }

 private:
  bool counts_records_;
};

class sum final : public aggregation {
 public:
  json::value init() const override { return nullptr; }
  void add(json::value& state, const json::value& input, std::int64_t) const override {
    if (!input.is_number()) throw aggregation_error(fmt::format("cannot sum {}", kind_name(input)));
    state = state.is_null() ? input : add_numbers(state, input);
  }
  void merge(json::value& state, const json::value& other) const override {
    state = add_numbers(state, other);
  }
  json::value result(const json::value& state) const override { return state; }
  bool subtracts() const override { return true; }
  // The input was added before, so the state is a number; null (a sum of nothing) counts as 0
  // all the same rather than fail on a state it does not expect.
  void subtract(json::value& state, const json::value& input, std::int64_t) const override {
    if (!input.is_number()) {
      throw aggregation_error(fmt::format("cannot subtract {}", kind_name(input)));
    }
    state = add_numbers(state.is_null() ? json::value(0) : state, negated(input));
  }
};

// {"s": sum, "n": count}
class avg final : public aggregation {
 public:
  json::value init() const override { return json::object{{"s", 0.0}, {"n", 0}}; }
  void add(json::value& state, const json::value& input, std::int64_t) const override {
    if (!input.is_number()) {
      throw aggregation_error(fmt::format("cannot average {}", kind_name(input)));
    }
    auto& a = state.as_object();
    a["s"] = a["s"].to_number<double>() + input.to_number<double>();
    a["n"] = as_int(a["n"]) + 1;
  }
  void merge(json::value& state, const json::value& other) const override {
    auto& x = state.as_object();
    const auto& y = other.as_object();
    x["s"] = x["s"].to_number<double>() + y.at("s").to_number<double>();
    x["n"] = as_int(x["n"]) + as_int(y.at("n"));
  }
  bool subtracts() const override { return true; }
  void subtract(json::value& state, const json::value& input, std::int64_t) const override {
    if (!input.is_number()) {
      throw aggregation_error(fmt::format("cannot subtract {}", kind_name(input)));
    }
    auto& a = state.as_object();
    a["s"] = a["s"].to_number<double>() - input.to_number<double>();
    a["n"] = as_int(a["n"]) - 1;
  }
  json::value result(const json::value& state) const override {
    const auto& a = state.as_object();
    const auto n = as_int(a.at("n"));
    return n == 0 ? json::value(nullptr)
                  : json::value(a.at("s").to_number<double>() / static_cast<double>(n));
  }
};

// min (keeps the smaller) or max; numbers with numbers, strings with strings.
class extreme final : public aggregation {
 public:
  explicit extreme(bool keeps_smaller) : keeps_smaller_(keeps_smaller) {}
  json::value init() const override { return nullptr; }
  void add(json::value& state, const json::value& input, std::int64_t) const override {
    if (!input.is_number() && !input.is_string()) {
      throw aggregation_error(fmt::format("needs numbers or strings, got {}", kind_name(input)));
    }
    if (state.is_null()) {
      state = input;
      return;
    }
    merge(state, input);
  }
  // Adding a record and merging two sessions both come here.
  void merge(json::value& state, const json::value& candidate) const override {
    const auto c = expr::json_order(candidate, state);
    if (!c) {
      throw aggregation_error(
          fmt::format("cannot compare {} with {}", kind_name(candidate), kind_name(state)));
    }
    if (keeps_smaller_ ? *c < 0 : *c > 0) state = candidate;
  }
  json::value result(const json::value& state) const override { return state; }

 private:
  bool keeps_smaller_;
};

// first (the earliest event time; ties keep the earlier arrival) or last (the latest; ties keep
// the later arrival), by event time so that out-of-order input gives the same answer. State:
// [event time, value].
class by_time final : public aggregation {
 public:
  explicit by_time(bool keeps_first) : keeps_first_(keeps_first) {}
  json::value init() const override { return nullptr; }
  void add(json::value& state, const json::value& input, std::int64_t timestamp) const override {
    if (state.is_null() || replaces(timestamp, state)) state = json::array{timestamp, input};
  }
  void merge(json::value& state, const json::value& other) const override {
    if (replaces(other.as_array()[0].as_int64(), state)) state = other;
  }
  json::value result(const json::value& state) const override {
    return state.is_null() ? json::value(nullptr) : state.as_array()[1];
  }

 private:
  bool replaces(std::int64_t timestamp, const json::value& state) const {
    const auto kept = state.as_array()[0].as_int64();
    return keeps_first_ ? timestamp < kept : timestamp >= kept;
  }
  bool keeps_first_;
};

// The distinct values (exact), as a sorted array of their JSON texts.
class count_distinct final : public aggregation {
 public:
  json::value init() const override { return json::array(); }
  void add(json::value& state, const json::value& input, std::int64_t) const override {
    insert_sorted(state.as_array(), json::string(json::serialize(input)));
  }
  void merge(json::value& state, const json::value& other) const override {
    for (const auto& item : other.as_array()) insert_sorted(state.as_array(), item.get_string());
  }
  json::value result(const json::value& state) const override {
    return static_cast<std::int64_t>(state.as_array().size());
  }
};

class user final : public aggregation {
 public:
  explicit user(user_aggregate functions) : f_(std::move(functions)) {}
  json::value init() const override { return nullptr; }
  bool takes_nulls() const override { return true; }
  void add(json::value& state, const json::value& input, std::int64_t) const override {
    json::value current = state.is_null() ? f_.init() : std::move(state);
    state = f_.add(std::move(current), input);
  }
  void merge(json::value& state, const json::value& other) const override {
    state = f_.merge(std::move(state), other);
  }
  json::value result(const json::value& state) const override {
    return f_.result(state.is_null() ? f_.init() : state);
  }
  bool subtracts() const override { return static_cast<bool>(f_.subtract); }
  void subtract(json::value& state, const json::value& input, std::int64_t) const override {
    if (!f_.subtract) throw aggregation_error("the user aggregate has no subtract");
    json::value current = state.is_null() ? f_.init() : std::move(state);
    state = f_.subtract(std::move(current), input);
  }

 private:
  user_aggregate f_;
};

}  // namespace

void aggregation::subtract(json::value& /*state*/, const json::value& /*input*/,
                           std::int64_t /*timestamp*/) const {
  throw aggregation_error("this aggregation has no inverse: it cannot aggregate a table");
}

std::unique_ptr<aggregation> make_builtin_aggregation(aggregate_function function,
                                                      bool counts_records) {
  switch (function) {
    case aggregate_function::count:
      return std::make_unique<count>(counts_records);
    case aggregate_function::sum:
      return std::make_unique<sum>();
    case aggregate_function::avg:
      return std::make_unique<avg>();
    case aggregate_function::min:
      return std::make_unique<extreme>(true);
    case aggregate_function::max:
      return std::make_unique<extreme>(false);
    case aggregate_function::first:
      return std::make_unique<by_time>(true);
    case aggregate_function::last:
      return std::make_unique<by_time>(false);
    case aggregate_function::count_distinct:
      return std::make_unique<count_distinct>();
    case aggregate_function::user:
      break;
  }
  throw std::invalid_argument(
      fmt::format("'{}' is not a built-in aggregation", to_string(function)));
}

std::unique_ptr<aggregation> make_user_aggregation(user_aggregate functions) {
  return std::make_unique<user>(std::move(functions));
}

}  // namespace sluice::operators
