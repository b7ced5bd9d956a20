#include "operators/chain_processor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <stdexcept>

namespace sluice::operators {

chain_processor::chain_processor(branch_spec chain, std::vector<step_processor> steps,
                                 const std::vector<store_plan>& plans, store_provider& stores,
                                 const function_registry& registry, stream_clock& clock,
                                 operator_metrics& metrics)
    : chain_(std::move(chain)), steps_(std::move(steps)), metrics_(metrics) {
  for (const auto& s : chain_.after) {
    after_.emplace_back(s, registry, step_processor::step_stores{}, nullptr,
                        step_processor::task_time{&clock, nullptr});
  }
  step_due_.assign(steps_.size(), -1);
  for (const auto& sink : chain_.sinks) {
    auto& runtime = sinks_.emplace_back();
    runtime.spec = &sink;
    if (!sink.when.empty()) {
      auto compiled = bound_expression::compile(sink.when);
      if (!compiled) {
        throw std::invalid_argument(
            fmt::format("sink {}: when: {}", sink.label(), compiled.error().message));
      }
      runtime.when = std::move(compiled).value();
      runtime.when_label = "when of sink " + sink.label();
    }
    if (!sink.topic_from.empty()) {
      auto compiled = bound_expression::compile(sink.topic_from);
      if (!compiled) {
        throw std::invalid_argument(fmt::format("sink topic_from: {}", compiled.error().message));
      }
      runtime.topic_from = std::move(compiled).value();
      runtime.topic_from_label = "sink " + sink.label();
    }
    for (const auto& s : sink.steps) {
      runtime.steps.emplace_back(s, registry, step_processor::step_stores{}, nullptr,
                                 step_processor::task_time{&clock, nullptr});
    }
  }
  if (chain_.aggregation) {
    aggregator_ = std::make_unique<windowed_aggregator>(*chain_.aggregation, plans, stores,
                                                        registry, metrics_);
  }
  if (chain_.table) {
    table_ = std::make_unique<table_aggregator>(*chain_.table, plans, stores, registry, metrics_);
  }
}

std::int64_t chain_processor::stream_time() const {
  return aggregator_ ? aggregator_->stream_time() : -1;
}

std::optional<processing_error> chain_processor::run_steps(const std::vector<step_processor>& steps,
                                                           std::vector<record>& records,
                                                           std::size_t first) {
  for (std::size_t i = first; i < steps.size(); ++i) {
    const auto& step = steps[i];
    std::vector<record> next;
    next.reserve(records.size());
    for (const auto& r : records) {
      if (auto e = step.process(r, next)) {
        return e;
      }
    }
    if (step.spec().kind == step_kind::filter) {
      operator_metrics::increment(metrics_.filtered, records.size() - next.size());
    }
    records = std::move(next);
  }
  return std::nullopt;
}

std::optional<processing_error> chain_processor::encode_all(const std::vector<record>& records,
                                                            const std::string& topic,
                                                            data_format key_format,
                                                            data_format value_format,
                                                            std::vector<output_record>& out) const {
  for (const auto& r : records) {
    auto key = encode(key_format, r.key, record_part::key, r.origin);
    if (!key) {
      auto e = key.error();
      e.message = fmt::format("writing to '{}': {}", topic, e.message);
      return e;
    }
    auto value = encode(value_format, r.value, record_part::value, r.origin);
    if (!value) {
      auto e = value.error();
      e.message = fmt::format("writing to '{}': {}", topic, e.message);
      return e;
    }
    out.push_back(output_record{topic, std::move(key).value(), std::move(value).value(),
                                r.timestamp, r.headers});
  }
  return std::nullopt;
}

std::optional<processing_error> chain_processor::write_sinks(const std::vector<record>& results,
                                                             std::vector<output_record>& produced) {
  for (auto& sink : sinks_) {
    const auto& spec = *sink.spec;
    if (!sink.when && sink.steps.empty() && !sink.topic_from) {
      // The common case, one sink taking every result: encoded as they are, no copy.
      if (auto e = encode_all(results, spec.topic, spec.key_format, spec.value_format, produced)) {
        return e;
      }
      continue;
    }
    std::vector<record> records;
    for (const auto& r : results) {
      if (sink.when) {
        auto keep = sink.when->evaluate_predicate(r, sink.when_label);
        if (!keep) {
          return keep.error();
        }
        if (!*keep) {
          continue;
        }
      }
      records.push_back(r);
    }
    if (auto e = run_steps(sink.steps, records)) {
      return e;
    }
    if (sink.topic_from) {
      if (auto e = encode_routed(sink, records, produced)) {
        return e;
      }
    } else if (auto e =
                   encode_all(records, spec.topic, spec.key_format, spec.value_format, produced)) {
      return e;
    }
  }
  return std::nullopt;
}

std::optional<processing_error> chain_processor::encode_routed(
    const sink_runtime& sink, const std::vector<record>& records,
    std::vector<output_record>& produced) const {
  const auto& spec = *sink.spec;
  for (const auto& r : records) {
    auto topic = sink.topic_from->evaluate(r, sink.topic_from_label);
    if (!topic) {
      return topic.error();
    }
    const auto* name = topic->if_string();
    if (name == nullptr || std::find(spec.topics.begin(), spec.topics.end(),
                                     std::string_view(*name)) == spec.topics.end()) {
      std::string declared;
      for (const auto& t : spec.topics) declared += (declared.empty() ? "" : ", ") + t;
      return processing_error{
          error_kind::evaluation,
          fmt::format("topic_from gave {}, which is not one of the sink's topics ({})",
                      boost::json::serialize(*topic), declared),
          r.origin, sink.topic_from_label};
    }
    if (auto e =
            encode_all({r}, std::string(*name), spec.key_format, spec.value_format, produced)) {
      return e;
    }
  }
  return std::nullopt;
}

std::optional<processing_error> chain_processor::continue_from(
    std::size_t first_step, std::vector<record> records, std::vector<output_record>& produced) {
  if (auto e = run_steps(steps_, records, first_step)) {
    return e;
  }
  if (!aggregator_ && !table_) {
    return emit(std::move(records), produced);
  }
  std::vector<record> results;
  if (auto e = aggregate(records, results, produced)) {
    return e;
  }
  return emit(std::move(results), produced);
}

bool chain_processor::interval_over(std::int64_t& due, std::int64_t now,
                                    std::chrono::milliseconds every) {
  if (every.count() <= 0) return false;
  if (due < 0) {
    due = now + every.count();
    return false;
  }
  if (now < due) return false;
  due = now + every.count();
  return true;
}

std::optional<processing_error> chain_processor::process_other(
    std::size_t step, const record& r, std::vector<output_record>& produced) {
  std::vector<record> results;
  if (auto e = steps_[step].process_other(r, results)) {
    return e;
  }
  return continue_from(step + 1, std::move(results), produced);
}

std::optional<processing_error> chain_processor::emit(std::vector<record> results,
                                                      std::vector<output_record>& produced) {
  if (auto e = run_steps(after_, results)) {
    return e;
  }
  if (auto e = write_sinks(results, produced)) {
    return e;
  }
  if (children_.empty()) {
    return std::nullopt;
  }
  // Each child but the last gets a copy; the last takes the results.
  for (std::size_t i = 0; i + 1 < children_.size(); ++i) {
    if (auto e = children_[i]->continue_from(0, results, produced)) {
      return e;
    }
  }
  return children_.back()->continue_from(0, std::move(results), produced);
}

void chain_processor::keep_stream_time() const {
  for (const auto& step : steps_) step.keep_stream_time();
}

bool chain_processor::punctuation_due(std::int64_t wall_clock_ms) {
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    const auto every = steps_[i].punctuate_every().count();
    if (every <= 0) continue;
    if (step_due_[i] < 0) step_due_[i] = wall_clock_ms + every;
    if (wall_clock_ms >= step_due_[i]) return true;
  }
  if (table_ && table_->emit_every().count() > 0) {
    if (table_due_ < 0) table_due_ = wall_clock_ms + table_->emit_every().count();
    if (wall_clock_ms >= table_due_) return true;
  }
  return false;
}

std::optional<processing_error> chain_processor::punctuate(std::int64_t wall_clock_ms,
                                                           std::vector<output_record>& produced) {
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    if (!interval_over(step_due_[i], wall_clock_ms, steps_[i].punctuate_every())) continue;
    std::vector<record> forwarded;
    if (auto e = steps_[i].punctuate(wall_clock_ms, forwarded)) {
      return e;
    }
    if (auto e = continue_from(i + 1, std::move(forwarded), produced)) {
      return e;
    }
  }
  if (table_ && interval_over(table_due_, wall_clock_ms, table_->emit_every())) {
    std::vector<record> results;
    if (auto e = table_->emit_pending(results)) {
      return e;
    }
    if (auto e = emit(std::move(results), produced)) {
      return e;
    }
  }
  return std::nullopt;
}

std::optional<processing_error> chain_processor::punctuate_stream_time(
    std::vector<output_record>& produced) {
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    std::vector<record> forwarded;
    if (auto e = steps_[i].punctuate_if_due(forwarded)) {
      return e;
    }
    if (forwarded.empty()) continue;
    if (auto e = continue_from(i + 1, std::move(forwarded), produced)) {
      return e;
    }
  }
  return std::nullopt;
}

// The aggregators check each record fully before writing, so a failure of the n-th record fanned
// out by flat_map leaves the state of records 1..n-1 updated; the runtime's transaction (or a
// skip) decides what becomes of them, as for any partial output.
std::optional<processing_error> chain_processor::aggregate(const std::vector<record>& records,
                                                           std::vector<record>& results,
                                                           std::vector<output_record>& produced) {
  if (table_) {
    for (const auto& r : records) {
      if (auto e = table_->process(r, results)) {
        return e;
      }
    }
    return std::nullopt;
  }
  std::vector<record> late;
  for (const auto& r : records) {
    if (auto e = aggregator_->process(r, results, late)) {
      return e;
    }
  }
  if (late.empty()) {
    return std::nullopt;
  }
  const auto key_format =
      chain_.sinks.empty() ? data_format::string : chain_.sinks.front().key_format;
  return encode_all(late, chain_.aggregation->late_topic, key_format, data_format::json, produced);
}

}  // namespace sluice::operators
