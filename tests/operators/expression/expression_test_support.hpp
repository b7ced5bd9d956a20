#pragma once

// Shared helpers for the expression tests: a sample record and one-line compile/evaluate calls
// that report the expression text on failure.

#include <gtest/gtest.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "operators/expression/expression.hpp"

namespace sluice::operators::testing {

inline boost::json::value json(std::string_view text) {
  return boost::json::parse(text);
}

// One record, owning what its eval_context points at.
struct sample_record {
  boost::json::value key = "k1";
  boost::json::value value = json(R"({
    "user": {"id": "u1", "name": "Ada"},
    "amount": 150, "price": 2.5, "currency": "EUR",
    "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}],
    "tags": ["x", "y"], "a b": 7, "nothing": null, "flag": true, "count": 3,
    "big": 9223372036854775807, "huge": 18446744073709551615, "text": "  Hello World  ",
    "nested": {"in": 1}, "empty": [], "payload": "{\"n\": [1, 2]}"
  })");
  boost::json::object headers{{"source", "MOBILE"}, {"trace", "t-1"}, {"none", nullptr}};

  eval_context context() const {
    eval_context c;
    c.key = &key;
    c.value = &value;
    c.timestamp = 1700000000000;
    c.topic = "orders";
    c.partition = 3;
    c.offset = 42;
    c.headers = &headers;
    return c;
  }
};

inline const sample_record& record() {
  static const sample_record r;
  return r;
}

inline expression compile_ok(std::string_view source) {
  auto compiled = expression::compile(source);
  if (!compiled) {
    ADD_FAILURE() << "compile(" << source << "): " << compiled.error().message;
    return expression::compile("null").value();
  }
  return std::move(compiled).value();
}

// The value of `source` for the sample record (or `context`).
inline boost::json::value eval(std::string_view source,
                               const eval_context& context = record().context()) {
  auto result = compile_ok(source).evaluate(context);
  if (!result) {
    ADD_FAILURE() << "evaluate(" << source << "): " << result.error().message;
    return boost::json::value("<error>");
  }
  return std::move(result).value();
}

// The message of the runtime error `source` must produce.
inline std::string eval_error_of(std::string_view source,
                                 const eval_context& context = record().context()) {
  auto result = compile_ok(source).evaluate(context);
  if (result) {
    ADD_FAILURE() << "evaluate(" << source << ") succeeded with " << result.value()
                  << " but should fail";
    return {};
  }
  return result.error().message;
}

inline compile_error compile_error_of(std::string_view source) {
  auto compiled = expression::compile(source);
  if (compiled) {
    ADD_FAILURE() << "compile(" << source << ") succeeded: " << compiled->to_string();
    return {};
  }
  return compiled.error();
}

inline std::string canonical(std::string_view source) {
  return compile_ok(source).to_string();
}

}  // namespace sluice::operators::testing
