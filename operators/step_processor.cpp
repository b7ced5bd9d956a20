#include "operators/step_processor.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "operators/join_value.hpp"
#include "state/json_serde.hpp"

namespace sluice::operators {

namespace json = boost::json;

namespace {

bound_expression compile_or_throw(const std::string& source, const std::string& what) {
  auto compiled = bound_expression::compile(source);
  if (!compiled) {
    throw std::invalid_argument(fmt::format("{}: {}", what, compiled.error().message));
  }
  return std::move(compiled).value();
}

}  // namespace

step_processor::step_processor(const step& s, const function_registry& registry, step_stores stores,
                               std::unique_ptr<two_sided_join> join, task_time time)
    : step_(s), stores_(std::move(stores)), two_sided_(std::move(join)) {
  const std::string what = fmt::format("step '{}'", s.name);
  if (s.joins_stream() && !two_sided_) {
    throw std::invalid_argument(fmt::format("{}: no join state for stream '{}'", what, s.stream));
  }
  if (s.kind == step_kind::join && two_sided_) {
    return;
  }
  if (s.kind == step_kind::join) {
    auto table = stores_.find(s.table);
    if (table == stores_.end()) {
      throw std::invalid_argument(fmt::format("{}: no store for table '{}'", what, s.table));
    }
    table_ = std::get<state::kv_store*>(table->second);
    return;
  }
  if (s.kind == step_kind::processor) {
    const auto* registered = registry.find_processor(s.function);
    if (registered == nullptr) {
      throw std::invalid_argument(fmt::format("{}: no processor '{}'", what, s.function));
    }
    if (time.clock == nullptr) {
      own_clock_ = std::make_unique<stream_clock>();
      time.clock = own_clock_.get();
    }
    processor_ = std::make_unique<processor_runner>(s, *registered, std::move(stores_), *time.clock,
                                                    time.store);
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
      fields_.emplace_back(f.name, compile_or_throw(f.expression, what + " field " + f.name));
    }
  } else {
    expression_ = compile_or_throw(s.expression, what);
  }
  if (s.kind == step_kind::flat_map && !s.key_expression.empty()) {
    key_expression_ = compile_or_throw(s.key_expression, what + " key");
  }
}

step_processor::~step_processor() = default;

step_processor::step_processor(step_processor&& other) noexcept
    : step_(std::move(other.step_)),
      expression_(std::move(other.expression_)),
      key_expression_(std::move(other.key_expression_)),
      fields_(std::move(other.fields_)),
      function_(other.function_),
      stores_(std::move(other.stores_)),
      table_(other.table_),
      two_sided_(std::move(other.two_sided_)),
      own_clock_(std::move(other.own_clock_)),
      processor_(std::move(other.processor_)) {}

std::optional<processing_error> step_processor::check_key_kept(const record& in,
                                                               const std::vector<record>& produced,
                                                               std::string_view what) const {
  if (step_.changes_key) return std::nullopt;
  for (const auto& r : produced) {
    if (r.key != in.key) {
      return error(
          in,
          fmt::format("{} '{}' changed the key from {} to {}, but the step does not declare "
                      "changes_key (needed to repartition before an aggregation)",
                      what, step_.function, brief(in.key), brief(r.key)),
          error_kind::user_function);
    }
  }
  return std::nullopt;
}

std::chrono::milliseconds step_processor::punctuate_every() const {
  return processor_ ? processor_->punctuate_every() : std::chrono::milliseconds(0);
}

std::optional<processing_error> step_processor::punctuate(std::int64_t wall_clock_ms,
                                                          std::vector<record>& out) const {
  if (!processor_) return std::nullopt;
  return processor_->punctuate(punctuation_type::wall_clock_time, wall_clock_ms, out);
}

void step_processor::keep_stream_time() const {
  if (processor_) processor_->keep_stream_time();
}

std::optional<processing_error> step_processor::punctuate_if_due(std::vector<record>& out) const {
  if (!processor_) return std::nullopt;
  return processor_->punctuate_if_due(out);
}

std::optional<processing_error> step_processor::run_processor(const record& in,
                                                              std::vector<record>& out) const {
  std::vector<record> produced;
  if (auto e = processor_->process(in, produced)) return e;
  if (auto e = check_key_kept(in, produced, "processor")) return e;
  for (auto& r : produced) out.push_back(std::move(r));
  return std::nullopt;
}

processing_error step_processor::error(const record& r, std::string message,
                                       error_kind kind) const {
  return processing_error{kind, std::move(message), r.origin, step_.name};
}

std::optional<processing_error> step_processor::process(const record& in,
                                                        std::vector<record>& out) const {
  switch (step_.kind) {
    case step_kind::filter: {
      auto keep = expression_->evaluate_predicate(in, step_.name);
      if (!keep) {
        return keep.error();
      }
      if (*keep) {
        out.push_back(in);
      }
      return std::nullopt;
    }
    case step_kind::map: {
      record next = in;
      if (fields_.empty()) {
        auto value = expression_->evaluate(in, step_.name);
        if (!value) {
          return value.error();
        }
        next.value = std::move(value).value();
      } else {
        json::object object;
        for (const auto& [name, expression] : fields_) {
          auto value = expression.evaluate(in, step_.name);
          if (!value) {
            return value.error();
          }
          object[name] = std::move(value).value();
        }
        next.value = std::move(object);
      }
      out.push_back(std::move(next));
      return std::nullopt;
    }
    case step_kind::select_key: {
      auto key = expression_->evaluate(in, step_.name);
      if (!key) {
        return key.error();
      }
      record next = in;
      next.key = std::move(key).value();
      out.push_back(std::move(next));
      return std::nullopt;
    }
    case step_kind::set_timestamp: {
      auto ts = expression_->evaluate(in, step_.name);
      if (!ts) {
        return ts.error();
      }
      const json::value& v = *ts;
      const auto millis = epoch_millis(v);
      if (!millis) {
        return error(in,
                     fmt::format("set_timestamp must give milliseconds since the epoch (a "
                                 "non-negative number), got {}",
                                 brief(v)),
                     error_kind::invalid_timestamp);
      }
      record next = in;
      next.timestamp = *millis;
      out.push_back(std::move(next));
      return std::nullopt;
    }
    case step_kind::flat_map: {
      auto items = expression_->evaluate(in, step_.name);
      if (!items) {
        return items.error();
      }
      if (!items->is_array()) {
        return error(in, fmt::format("flat_map must give an array, got {}", brief(*items)));
      }
      std::vector<record> produced;
      produced.reserve(items->get_array().size());
      for (const auto& item : items->get_array()) {
        record next = in;
        next.value = item;
        if (key_expression_) {
          auto key = key_expression_->evaluate_with_value(in, item, step_.name);
          if (!key) {
            return key.error();
          }
          next.key = std::move(key).value();
        }
        produced.push_back(std::move(next));
      }
      for (auto& r : produced) {
        out.push_back(std::move(r));
      }
      return std::nullopt;
    }
    case step_kind::processor:
      return run_processor(in, out);
    case step_kind::join: {
      if (two_sided_) {
        return two_sided_->process(join_side::left, in, out);
      }
      auto found = table_->get(state::json_serde::serialize(in.key));
      if (!found && step_.join == join_kind::inner) {
        return std::nullopt;
      }
      record next = in;
      if (auto why = add_joined_member(
              next.value, step_.into,
              found ? state::json_serde::deserialize(*found) : json::value(nullptr))) {
        return error(in, fmt::format("join with table '{}' {}", step_.table, *why));
      }
      out.push_back(std::move(next));
      return std::nullopt;
    }
    case step_kind::user: {
      std::vector<record> produced;
      try {
        produced = (*function_)(in);
      } catch (const std::exception& e) {
        return error(in, fmt::format("user function '{}' threw: {}", step_.function, e.what()),
                     error_kind::user_function);
      }
      if (auto e = check_key_kept(in, produced, "user function")) {
        return e;
      }
      for (auto& r : produced) {
        out.push_back(std::move(r));
      }
      return std::nullopt;
    }
  }
  return error(in, "unknown step kind");
}

std::optional<processing_error> step_processor::process_other(const record& in,
                                                              std::vector<record>& out) const {
  if (!two_sided_) {
    return error(in, "records of a joined stream or table reach only their join step");
  }
  return two_sided_->process(join_side::right, in, out);
}

}  // namespace sluice::operators
