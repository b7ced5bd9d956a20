#include "pipelines/spec/pipeline_builder.hpp"

#include <fmt/format.h>

namespace sluice::pipelines {

namespace ops = sluice::operators;

namespace {

std::string summarize(const std::vector<ops::topology_error>& errors) {
  std::string out = "invalid pipeline:";
  for (const auto& e : errors) {
    out += fmt::format("\n  {}: {}", e.path, e.message);
  }
  return out;
}

}  // namespace

pipeline_error::pipeline_error(std::vector<ops::topology_error> errors)
    : std::runtime_error(summarize(errors)), errors_(std::move(errors)) {}

window_builder& window_builder::grace(ops::duration d) {
  spec_.window.grace = d;
  return *this;
}
window_builder& window_builder::time(std::string expression) {
  spec_.time_expression = std::move(expression);
  return *this;
}
window_builder& window_builder::emit(ops::emit_mode mode) {
  spec_.emit = mode;
  return *this;
}
window_builder& window_builder::late_to(std::string topic) {
  spec_.late = ops::late_policy::side_topic;
  spec_.late_topic = std::move(topic);
  return *this;
}
window_builder& window_builder::name(std::string name) {
  named_ = true;
  spec_.name = std::move(name);
  return *this;
}

window_builder tumbling(ops::duration size) {
  window_builder w;
  w.spec_.window.kind = ops::window_kind::tumbling;
  w.spec_.window.size = size;
  return w;
}
window_builder hopping(ops::duration size, ops::duration advance) {
  window_builder w;
  w.spec_.window.kind = ops::window_kind::hopping;
  w.spec_.window.size = size;
  w.spec_.window.advance = advance;
  return w;
}
window_builder session(ops::duration gap) {
  window_builder w;
  w.spec_.window.kind = ops::window_kind::session;
  w.spec_.window.gap = gap;
  return w;
}

pipeline_builder::pipeline_builder(std::string name) {
  topology_.name = std::move(name);
}

pipeline_builder& pipeline_builder::delivery(ops::delivery_guarantee guarantee) {
  topology_.delivery = guarantee;
  return *this;
}
pipeline_builder& pipeline_builder::commit_interval(ops::duration interval) {
  topology_.commit_interval = interval;
  return *this;
}
pipeline_builder& pipeline_builder::source(std::vector<std::string> topics,
                                           ops::data_format key_format,
                                           ops::data_format value_format) {
  return source(ops::source_spec{std::move(topics), key_format, value_format});
}

pipeline_builder& pipeline_builder::source(ops::source_spec source) {
  topology_.sources.push_back(std::move(source));
  return *this;
}

pipeline_builder& pipeline_builder::source_table(std::string topic, ops::data_format key_format,
                                                 ops::data_format value_format) {
  ops::source_spec table{{std::move(topic)}, key_format, value_format};
  table.as_table = true;
  return source(std::move(table));
}

pipeline_builder& pipeline_builder::cluster(std::string name) {
  topology_.clusters.insert(std::move(name));
  return *this;
}

pipeline_builder::chain_fields pipeline_builder::current() {
  if (topology_.branches.empty()) {
    auto& t = topology_;
    return chain_fields{t.steps, t.aggregation, t.table, t.after, t.sinks, ""};
  }
  auto& b = topology_.branches.back();
  return chain_fields{b.steps, b.aggregation, b.table, b.after, b.sinks, b.name};
}

pipeline_builder& pipeline_builder::branch(std::string name, std::vector<std::string> from) {
  auto& b = topology_.branches.emplace_back();
  b.name = std::move(name);
  b.from = std::move(from);
  return *this;
}

pipeline_builder& pipeline_builder::add(ops::step s, std::string name) {
  // Steps after the window go to `after`; default names match the YAML loader's.
  auto chain = current();
  const bool after = chain.aggregation || chain.table;
  auto& list = after ? chain.after : chain.steps;
  const std::string prefix =
      (chain.branch.empty() ? std::string() : chain.branch + "-") + (after ? "after-" : "");
  s.name = name.empty() ? fmt::format("{}{}-{}", prefix, ops::to_string(s.kind), list.size())
                        : std::move(name);
  list.push_back(std::move(s));
  return *this;
}

pipeline_builder& pipeline_builder::filter(std::string predicate, std::string name) {
  ops::step s;
  s.kind = ops::step_kind::filter;
  s.expression = std::move(predicate);
  return add(std::move(s), std::move(name));
}
pipeline_builder& pipeline_builder::map(std::string expression, std::string name) {
  ops::step s;
  s.kind = ops::step_kind::map;
  s.expression = std::move(expression);
  return add(std::move(s), std::move(name));
}
pipeline_builder& pipeline_builder::map_fields(std::vector<ops::field_expression> fields,
                                               std::string name) {
  ops::step s;
  s.kind = ops::step_kind::map;
  s.fields = std::move(fields);
  return add(std::move(s), std::move(name));
}
pipeline_builder& pipeline_builder::select_key(std::string expression, std::string name) {
  ops::step s;
  s.kind = ops::step_kind::select_key;
  s.expression = std::move(expression);
  return add(std::move(s), std::move(name));
}
pipeline_builder& pipeline_builder::flat_map(std::string values, std::string key,
                                             std::string name) {
  ops::step s;
  s.kind = ops::step_kind::flat_map;
  s.expression = std::move(values);
  s.key_expression = std::move(key);
  return add(std::move(s), std::move(name));
}
pipeline_builder& pipeline_builder::set_timestamp(std::string expression, std::string name) {
  ops::step s;
  s.kind = ops::step_kind::set_timestamp;
  s.expression = std::move(expression);
  return add(std::move(s), std::move(name));
}
pipeline_builder& pipeline_builder::user(std::string function, bool changes_key, std::string name) {
  ops::step s;
  s.kind = ops::step_kind::user;
  s.function = std::move(function);
  s.changes_key = changes_key;
  return add(std::move(s), std::move(name));
}

pipeline_builder& pipeline_builder::process(std::string processor,
                                            std::vector<ops::store_spec> stores, bool changes_key,
                                            std::string name) {
  ops::step s;
  s.kind = ops::step_kind::processor;
  s.function = std::move(processor);
  s.stores = std::move(stores);
  s.changes_key = changes_key;
  return add(std::move(s), std::move(name));
}

pipeline_builder& pipeline_builder::join(std::string table, ops::join_kind kind, std::string into,
                                         std::string name) {
  ops::step s;
  s.kind = ops::step_kind::join;
  s.into = into.empty() ? table : std::move(into);
  s.table = std::move(table);
  s.join = kind;
  return add(std::move(s), std::move(name));
}

pipeline_builder& pipeline_builder::join_stream(std::string stream, ops::duration within,
                                                ops::join_kind kind, std::string into,
                                                ops::duration grace, std::string name) {
  ops::step s;
  s.kind = ops::step_kind::join;
  s.into = into.empty() ? stream : std::move(into);
  s.stream = std::move(stream);
  s.within = within;
  s.grace = grace;
  s.join = kind;
  return add(std::move(s), std::move(name));
}

pipeline_builder& pipeline_builder::stream_source(std::string name, std::string topic,
                                                  ops::data_format key_format,
                                                  ops::data_format value_format) {
  topology_.streams.push_back(
      ops::stream_source_spec{std::move(name), std::move(topic), key_format, value_format});
  return *this;
}

pipeline_builder& pipeline_builder::table_source(std::string name, std::string topic,
                                                 ops::data_format key_format,
                                                 ops::data_format value_format,
                                                 ops::table_restore restore_from) {
  return table_source(ops::table_source_spec{
      std::move(name), std::move(topic), key_format, value_format, {}, restore_from});
}

pipeline_builder& pipeline_builder::table_source(ops::table_source_spec table) {
  topology_.tables.push_back(std::move(table));
  return *this;
}

pipeline_builder& pipeline_builder::window(window_builder w) {
  auto chain = current();
  // A branch's window is named after the branch unless named, as in the YAML loader.
  if (!w.named_ && !chain.branch.empty()) w.spec_.name = chain.branch;
  auto aggregations = chain.aggregation ? std::move(chain.aggregation->aggregations)
                                        : std::vector<ops::aggregation_spec>{};
  chain.aggregation = std::move(w.spec_);
  for (auto& a : aggregations) {
    chain.aggregation->aggregations.push_back(std::move(a));
  }
  return *this;
}

pipeline_builder& pipeline_builder::table(std::string name, ops::duration emit_every) {
  auto chain = current();
  // A branch's table is named after the branch unless named, as in the YAML loader.
  if (name.empty()) name = chain.branch.empty() ? std::string("table") : chain.branch;
  chain.table = ops::table_aggregation_spec{std::move(name), {}, emit_every};
  return *this;
}

std::vector<ops::aggregation_spec>& pipeline_builder::aggregations(const char* caller) {
  auto chain = current();
  if (chain.table) {
    return chain.table->aggregations;
  }
  if (chain.aggregation) {
    return chain.aggregation->aggregations;
  }
  throw pipeline_error({ops::topology_error{
      "window.aggregate", fmt::format("call window() or table() before {}()", caller),
      std::nullopt}});
}

pipeline_builder& pipeline_builder::aggregate(std::string output, ops::aggregate_function function,
                                              std::string expression) {
  aggregations("aggregate")
      .push_back(ops::aggregation_spec{std::move(output), function, std::move(expression), {}});
  return *this;
}

pipeline_builder& pipeline_builder::aggregate_user(std::string output, std::string function,
                                                   std::string expression) {
  aggregations("aggregate_user")
      .push_back(ops::aggregation_spec{std::move(output), ops::aggregate_function::user,
                                       std::move(expression), std::move(function)});
  return *this;
}

pipeline_builder& pipeline_builder::to(std::string topic, ops::data_format key_format,
                                       ops::data_format value_format) {
  return to(ops::sink_spec{std::move(topic), key_format, value_format, {}, {}});
}

pipeline_builder& pipeline_builder::to(ops::sink_spec sink) {
  current().sinks.push_back(std::move(sink));
  return *this;
}

ops::topology pipeline_builder::build(const ops::function_registry& registry) const {
  auto t = topology_;
  // Sink steps' default names, as the YAML loader gives them ("<branch>-sink-..." in a branch).
  auto name_sink_steps = [](std::vector<ops::sink_spec>& sinks, const std::string& branch) {
    const auto start = branch.empty() ? std::string("sink") : branch + "-sink";
    for (std::size_t i = 0; i < sinks.size(); ++i) {
      const auto prefix = sinks.size() == 1 ? start + "-" : fmt::format("{}{}-", start, i);
      auto& steps = sinks[i].steps;
      for (std::size_t j = 0; j < steps.size(); ++j) {
        if (steps[j].name.empty())
          steps[j].name = fmt::format("{}{}-{}", prefix, ops::to_string(steps[j].kind), j);
      }
    }
  };
  name_sink_steps(t.sinks, "");
  for (auto& b : t.branches) name_sink_steps(b.sinks, b.name);
  auto errors = ops::validate_topology(t, registry);
  if (!errors.empty()) {
    throw pipeline_error(std::move(errors));
  }
  return t;
}

}  // namespace sluice::pipelines
