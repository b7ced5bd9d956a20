#include "operators/step_processor.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "operators/join_value.hpp"
#include "operators/processing_error.hpp"
#include "state/json_serde.hpp"

namespace sluice::operators {

namespace json = boost::json;

step_processor::step_processor(const step& s, const function_registry& registry,
                               const step_stores& stores, std::atomic<std::uint64_t>* filtered)
    : step_(s), filtered_(filtered) {
  const std::string what = fmt::format("step '{}'", s.name);
  if (s.kind == step_kind::processor || s.kind == step_kind::table_changes || s.joins_stream()) {
    throw std::invalid_argument(fmt::format("{}: a {} has its own node", what,
                                            s.kind == step_kind::processor ? "processor step"
                                            : s.joins_stream()             ? "join with a stream"
                                                                           : "table's changes"));
  }
  if (s.kind == step_kind::join) {
    auto table = stores.find(s.table);
    if (table == stores.end()) {
      throw std::invalid_argument(fmt::format("{}: no store for table '{}'", what, s.table));
    }
    table_ = std::get<state::kv_store*>(table->second);
    return;
  }
  if (s.kind == step_kind::user) {
    function_ = registry.find_step(s.function);
    if (function_ == nullptr) {
      throw std::invalid_argument(fmt::format("{}: no user function '{}'", what, s.function));
    }
    return;
  }
  if (s.kind == step_kind::map && !s.fields.empty()) {
    for (const auto& f : s.fields) {
      fields_.emplace_back(
          f.name, bound_expression::compile_or_throw(f.expression, what + " field " + f.name));
    }
  } else {
    expression_ = bound_expression::compile_or_throw(s.expression, what);
  }
  if (s.kind == step_kind::flat_map && !s.key_expression.empty()) {
    key_expression_ = bound_expression::compile_or_throw(s.key_expression, what + " key");
  }
}

void step_processor::fail(const record& r, std::string message, error_kind kind) const {
  throw processing_exception(processing_error{kind, std::move(message), r.origin, step_.name});
}

void step_processor::check_key_kept(const record& in, const std::vector<record>& produced) const {
  if (step_.changes_key) return;
  for (const auto& r : produced) {
    if (r.key != in.key) {
      fail(in,
           fmt::format("user function '{}' changed the key from {} to {}, but the step does not "
                       "declare changes_key (needed to repartition before an aggregation)",
                       step_.function, brief(in.key), brief(r.key)),
           error_kind::user_function);
    }
  }
}

template <class T>
static T value_or_throw(processing_result<T>&& result) {
  if (!result) throw processing_exception(std::move(result).error());
  return std::move(result).value();
}

void step_processor::process(const record& in, processor_context& context) {
  switch (step_.kind) {
    case step_kind::filter: {
      if (value_or_throw(expression_->evaluate_predicate(in, step_.name))) {
        context.forward(in);
      } else if (filtered_ != nullptr) {
        filtered_->fetch_add(1, std::memory_order_relaxed);
      }
      return;
    }
    case step_kind::map: {
      record next;
      if (fields_.empty()) {
        next.value = value_or_throw(expression_->evaluate(in, step_.name));
      } else {
        json::object object(fields_.size());
        for (const auto& [name, expression] : fields_) {
          object.insert_or_assign(name, value_or_throw(expression.evaluate(in, step_.name)));
        }
        next.value = std::move(object);
      }
      next.key = in.key;
      next.timestamp = in.timestamp;
      next.headers = in.headers;
      next.origin = in.origin;
      context.forward(std::move(next));
      return;
    }
    case step_kind::select_key: {
      auto key = value_or_throw(expression_->evaluate(in, step_.name));
      record next = in;
      next.key = std::move(key);
      context.forward(std::move(next));
      return;
    }
    case step_kind::set_timestamp: {
      const auto v = value_or_throw(expression_->evaluate(in, step_.name));
      const auto millis = epoch_millis(v);
      if (!millis) {
        fail(in,
             fmt::format("set_timestamp must give milliseconds since the epoch (a non-negative "
                         "number), got {}",
                         brief(v)),
             error_kind::invalid_timestamp);
      }
      record next = in;
      next.timestamp = *millis;
      context.forward(std::move(next));
      return;
    }
    case step_kind::flat_map:
      run_flat_map(in, context);
      return;
    case step_kind::join:
      run_join(in, context);
      return;
    case step_kind::user:
      run_user_function(in, context);
      return;
    case step_kind::processor:
    case step_kind::table_changes:
      break;
  }
  fail(in, "unknown step kind");
}

void step_processor::run_flat_map(const record& in, processor_context& context) const {
  auto items = value_or_throw(expression_->evaluate(in, step_.name));
  if (!items.is_array()) {
    fail(in, fmt::format("flat_map must give an array, got {}", brief(items)));
  }
  std::vector<record> produced;
  produced.reserve(items.get_array().size());
  for (auto& item : items.get_array()) {
    record next;
    next.key = in.key;
    if (key_expression_) {
      next.key = value_or_throw(key_expression_->evaluate_with_value(in, item, step_.name));
    }
    next.value = std::move(item);
    next.timestamp = in.timestamp;
    next.headers = in.headers;
    next.origin = in.origin;
    produced.push_back(std::move(next));
  }
  for (auto& r : produced) context.forward(std::move(r));
}

void step_processor::run_join(const record& in, processor_context& context) const {
  auto found = table_->get(state::json_serde::serialize(in.key));
  if (!found && step_.join == join_kind::inner) {
    return;
  }
  record next = in;
  if (auto why = add_joined_member(
          next.value, step_.into,
          found ? state::json_serde::deserialize(*found) : json::value(nullptr))) {
    fail(in, fmt::format("join with table '{}' {}", step_.table, *why));
  }
  context.forward(std::move(next));
}

void step_processor::run_user_function(const record& in, processor_context& context) const {
  std::vector<record> produced;
  try {
    produced = (*function_)(in);
  } catch (const std::exception& e) {
    fail(in, fmt::format("user function '{}' threw: {}", step_.function, e.what()),
         error_kind::user_function);
  }
  check_key_kept(in, produced);
  for (auto& r : produced) context.forward(std::move(r));
}

}  // namespace sluice::operators
