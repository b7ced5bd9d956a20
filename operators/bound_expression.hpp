#pragma once

// bound_expression: an expression of the pipeline language (operators/expression/) compiled once
// and evaluated against records. This is the only place the operators touch the expression
// library: it builds the evaluation context (key, value, timestamp, topic, partition, offset,
// headers) from a record and turns evaluation failures into processing_error values.
//
// Immutable after compile(); copies share the compiled form; safe to evaluate from any thread.

#include <boost/json/value.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "operators/expression/expression_errors.hpp"
#include "operators/processing_error.hpp"
#include "operators/record.hpp"

namespace sluice::operators {

class bound_expression {
 public:
  static result<bound_expression, compile_error> compile(std::string_view source);
  // For sources validation already accepted: throws std::invalid_argument "<what>: <error>".
  static bound_expression compile_or_throw(std::string_view source, std::string_view what);

  // Evaluates against `r`; an error names `step` and the record's origin.
  processing_result<boost::json::value> evaluate(const record& r, const std::string& step) const;
  // The same, with `value` standing for the record's value (flat_map's per-element key).
  processing_result<boost::json::value> evaluate_with_value(const record& r,
                                                            const boost::json::value& value,
                                                            const std::string& step) const;

  // For filters: the expression must give a bool; anything else (null included) is an error.
  processing_result<bool> evaluate_predicate(const record& r, const std::string& step) const;

  const std::string& source() const;

 private:
  struct impl;
  explicit bound_expression(std::shared_ptr<const impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const impl> impl_;
};

}  // namespace sluice::operators
