#include "operators/sub_topology_processor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "operators/stream_join.hpp"
#include "operators/table_join.hpp"
#include "operators/table_row.hpp"

namespace sluice::operators {

sub_topology_processor::sub_topology_processor(const sub_topology& plan, store_provider& stores,
                                               const function_registry& registry)
    : plan_(plan) {
  auto find_plan = [&](const std::string& name, const std::string& what) -> const store_plan& {
    auto store = std::find_if(plan_.stores.begin(), plan_.stores.end(),
                              [&](const store_plan& p) { return p.name == name; });
    if (store == plan_.stores.end()) {
      throw std::invalid_argument(fmt::format("{}: no store '{}' in the plan", what, name));
    }
    return *store;
  };
  auto open_kv = [&](const std::string& name, const std::string& what) -> state::kv_store& {
    return stores.kv_store(find_plan(name, what));
  };
  std::map<std::string, state::kv_store*> tables_by_name;
  for (const auto& table : plan_.tables) {
    auto* kv = &open_kv(table.store_name(), "table '" + table.name + "'");
    tables_by_name[table.name] = kv;
    tables_by_topic_[table.topic] = kv;
  }
  auto open_window = [&](const std::string& name) -> state::window_store& {
    return stores.window_store(find_plan(name, "stream join"));
  };
  // A processor step's declared store, of the kind the plan gives it.
  auto open_step_store = [&](const std::string& name, const std::string& what) -> store_ref {
    const auto& p = find_plan(name, what);
    switch (p.kind) {
      case store_kind::window:
        return &stores.window_store(p);
      case store_kind::session:
        return &stores.session_store(p);
      case store_kind::key_value:
        break;
    }
    return &stores.kv_store(p);
  };
  for (const auto& s : plan_.steps) {
    if (s.joins_stream()) {
      const auto names = stream_join_store_names(s);
      stream_join::stores join_stores{&open_window(names.left), &open_window(names.right), nullptr,
                                      nullptr};
      if (!names.pending.empty()) {
        join_stores.pending = &open_kv(names.pending, "step '" + s.name + "'");
        join_stores.time = &open_kv(names.time, "step '" + s.name + "'");
      }
      for (const auto& stream : plan_.streams) {
        if (stream.name == s.stream) others_by_topic_[stream.topic] = steps_.size();
      }
      steps_.emplace_back(s, registry, step_processor::step_stores{},
                          std::make_unique<stream_join>(s, join_stores, metrics_.join_dropped));
      continue;
    }
    if (const auto* joined = plan_.joined_table_of(s)) {
      const auto names = table_join_store_names(s);
      const auto what = "step '" + s.name + "'";
      table_join::stores join_stores{&open_kv(names.left, what), &open_kv(names.right, what)};
      others_by_topic_[joined->topic] = steps_.size();
      steps_.emplace_back(s, registry, step_processor::step_stores{},
                          std::make_unique<table_join>(s, join_stores, metrics_.join_dropped,
                                                       metrics_.table_records));
      continue;
    }
    step_processor::step_stores step_stores;
    if (s.kind == step_kind::join && tables_by_name.contains(s.table)) {
      step_stores.emplace(s.table, tables_by_name.at(s.table));
    }
    const std::string what = "step '" + s.name + "'";
    for (const auto& store : s.stores) {
      step_stores.emplace(store.name, open_step_store(step_store_name(s, store.name), what));
    }
    step_processor::task_time time{clock_.get(), nullptr};
    if (const auto name = step_time_store_name(s); !name.empty()) {
      time.store = &open_kv(name, what);
    }
    steps_.emplace_back(s, registry, std::move(step_stores), nullptr, time);
  }
  for (const auto& s : plan_.after) {
    after_.emplace_back(s, registry, step_processor::step_stores{}, nullptr,
                        step_processor::task_time{clock_.get(), nullptr});
  }
  step_due_.assign(steps_.size(), -1);
  for (const auto& sink : plan_.sinks) {
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
                                 step_processor::task_time{clock_.get(), nullptr});
    }
  }
  if (plan_.aggregation) {
    aggregator_ = std::make_unique<windowed_aggregator>(*plan_.aggregation, plan_.stores, stores,
                                                        registry, metrics_);
  }
  if (plan_.table) {
    table_ =
        std::make_unique<table_aggregator>(*plan_.table, plan_.stores, stores, registry, metrics_);
  }
}

std::int64_t sub_topology_processor::stream_time() const {
  return aggregator_ ? aggregator_->stream_time() : -1;
}

const source_spec* sub_topology_processor::source_for(const std::string& topic) const {
  for (const auto& s : plan_.sources) {
    if (std::find(s.topics.begin(), s.topics.end(), topic) != s.topics.end()) {
      return &s;
    }
  }
  return nullptr;
}

void sub_topology_processor::update_table(state::kv_store& table, const record& r) {
  auto change = table_row_change(r.key, r.value);
  if (!change) return;
  if (change->value) {
    table.put(change->key, *change->value);
  } else {
    table.remove(change->key);
  }
  operator_metrics::increment(metrics_.table_records);
}

std::optional<processing_error> sub_topology_processor::run_steps(
    const std::vector<step_processor>& steps, std::vector<record>& records, std::size_t first) {
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

std::optional<processing_error> sub_topology_processor::encode_all(
    const std::vector<record>& records, const std::string& topic, data_format key_format,
    data_format value_format, std::vector<output_record>& out) const {
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

std::optional<processing_error> sub_topology_processor::write_sinks(
    const std::vector<record>& results, std::vector<output_record>& produced) {
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

std::optional<processing_error> sub_topology_processor::encode_routed(
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

std::optional<processing_error> sub_topology_processor::continue_from(
    std::size_t first_step, std::vector<record> records, std::vector<output_record>& produced) {
  if (auto e = run_steps(steps_, records, first_step)) {
    return e;
  }
  if (!aggregator_ && !table_) {
    return write_sinks(records, produced);
  }
  std::vector<record> results;
  if (auto e = aggregate(records, results, produced)) {
    return e;
  }
  return emit(std::move(results), produced);
}

std::optional<processing_error> sub_topology_processor::emit(std::vector<record> results,
                                                             std::vector<output_record>& produced) {
  if (auto e = run_steps(after_, results)) {
    return e;
  }
  return write_sinks(results, produced);
}

bool sub_topology_processor::interval_over(std::int64_t& due, std::int64_t now,
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

bool sub_topology_processor::punctuation_due(std::int64_t wall_clock_ms) {
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

std::optional<processing_error> sub_topology_processor::punctuate(std::int64_t wall_clock_ms,
                                                                  std::vector<output_record>& out) {
  std::vector<output_record> produced;
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
  operator_metrics::increment(metrics_.records_out, produced.size());
  for (auto& r : produced) out.push_back(std::move(r));
  return std::nullopt;
}

// Every processor step in order: a due stream-time punctuation, what it forwards on through the
// rest of the pipeline after the record's own outputs.
std::optional<processing_error> sub_topology_processor::punctuate_stream_time(
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
std::optional<processing_error> sub_topology_processor::aggregate(
    const std::vector<record>& records, std::vector<record>& results,
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
  return encode_all(late, plan_.aggregation->late_topic, plan_.sinks.front().key_format,
                    data_format::json, produced);
}

std::optional<processing_error> sub_topology_processor::process(const raw_record& in,
                                                                std::vector<output_record>& out) {
  operator_metrics::increment(metrics_.records_in);
  auto fail = [this](processing_error e) {
    operator_metrics::increment(metrics_.errors);
    return std::optional<processing_error>(std::move(e));
  };

  const source_spec* source = source_for(in.origin.topic);
  if (source == nullptr) {
    return fail(processing_error{
        error_kind::deserialization, "topic is not a source of this sub-topology", in.origin, {}});
  }
  auto key = decode(source->key_format, in.key, record_part::key, in.origin);
  if (!key) {
    return fail(key.error());
  }
  auto value = decode(source->value_format, in.value, record_part::value, in.origin);
  if (!value) {
    return fail(value.error());
  }

  clock_->advance(in.timestamp);
  for (const auto& step : steps_) step.keep_stream_time();
  std::vector<record> records;
  records.push_back(record{std::move(key).value(), std::move(value).value(), in.timestamp,
                           in.headers, in.origin});
  std::vector<output_record> produced;
  if (auto table = tables_by_topic_.find(in.origin.topic); table != tables_by_topic_.end()) {
    update_table(*table->second, records.front());
  } else if (auto joined = others_by_topic_.find(in.origin.topic);
             joined != others_by_topic_.end()) {
    // The joined stream or table enters at its join step; what the join emits goes on after it.
    std::vector<record> results;
    if (auto e = steps_[joined->second].process_other(records.front(), results)) {
      return fail(*e);
    }
    if (auto e = continue_from(joined->second + 1, std::move(results), produced)) {
      return fail(*e);
    }
  } else if (auto e = continue_from(0, std::move(records), produced)) {
    return fail(*e);
  }
  if (auto e = punctuate_stream_time(produced)) {
    return fail(*e);
  }
  operator_metrics::increment(metrics_.records_out, produced.size());
  for (auto& r : produced) {
    out.push_back(std::move(r));
  }
  return std::nullopt;
}

}  // namespace sluice::operators
