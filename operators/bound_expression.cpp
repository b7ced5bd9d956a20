#include "operators/bound_expression.hpp"

#include <fmt/format.h>

#include <boost/json/object.hpp>
#include <stdexcept>

#include "operators/expression/expression.hpp"

namespace sluice::operators {

struct bound_expression::impl {
  expression compiled;
  bool reads_headers = false;
};

namespace {

// The context points into `r`, `value` and `headers`, which outlive the evaluate() call.
eval_context make_context(const record& r, const boost::json::value& value, bool reads_headers,
                          boost::json::object& headers) {
  // Headers become an object only for expressions that read them: most do not.
  if (reads_headers) {
    for (const auto& h : r.headers) {
      // Kafka allows repeated header names; like a map lookup, the last one wins.
      headers[h.key] = h.value ? boost::json::value(boost::json::string_view(*h.value))
                               : boost::json::value(nullptr);
    }
  }
  eval_context context;
  context.key = &r.key;
  context.value = &value;
  context.timestamp = r.timestamp;
  context.topic = r.origin.topic;
  context.partition = r.origin.partition;
  context.offset = r.origin.offset;
  context.headers = &headers;
  return context;
}

}  // namespace

result<bound_expression, compile_error> bound_expression::compile(std::string_view source) {
  auto compiled = expression::compile(source);
  if (!compiled) {
    return compiled.error();
  }
  const bool reads_headers = compiled->referenced_roots().contains(context_root::headers);
  return bound_expression(
      std::make_shared<const impl>(impl{std::move(compiled).value(), reads_headers}));
}

bound_expression bound_expression::compile_or_throw(std::string_view source,
                                                    std::string_view what) {
  auto compiled = compile(source);
  if (!compiled) {
    throw std::invalid_argument(fmt::format("{}: {}", what, compiled.error().message));
  }
  return std::move(compiled).value();
}

const std::string& bound_expression::source() const {
  return impl_->compiled.source();
}

processing_result<boost::json::value> bound_expression::evaluate(const record& r,
                                                                 const std::string& step) const {
  return evaluate_with_value(r, r.value, step);
}

processing_result<boost::json::value> bound_expression::evaluate_with_value(
    const record& r, const boost::json::value& value, const std::string& step) const {
  boost::json::object headers;
  auto out = impl_->compiled.evaluate(make_context(r, value, impl_->reads_headers, headers));
  if (!out) {
    return processing_error{error_kind::evaluation,
                            "'" + impl_->compiled.source() + "': " + out.error().message, r.origin,
                            step};
  }
  return std::move(out).value();
}

processing_result<bool> bound_expression::evaluate_predicate(const record& r,
                                                             const std::string& step) const {
  boost::json::object headers;
  auto out =
      impl_->compiled.evaluate_predicate(make_context(r, r.value, impl_->reads_headers, headers));
  if (!out) {
    return processing_error{error_kind::evaluation,
                            "'" + impl_->compiled.source() + "': " + out.error().message, r.origin,
                            step};
  }
  return *out;
}

}  // namespace sluice::operators
