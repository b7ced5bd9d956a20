#include "operators/topology_validation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "operators/bound_expression.hpp"
#include "operators/expression/closest_name.hpp"

namespace sluice::operators {

namespace {

constexpr std::size_t max_topic_length = 249;

class validator {
 public:
  validator(const topology& t, const function_registry& registry) : t_(t), registry_(registry) {}

  std::vector<topology_error> run() {
    check_name();
    check_sources();
    for (auto& e : validate_table_source(t_, registry_)) errors_.push_back(std::move(e));
    check_tables();
    check_chain("", t_.steps, t_.aggregation, t_.table, t_.after);
    check_sinks("", t_.sinks);
    for (std::size_t i = 0; i < t_.branches.size(); ++i) {
      const auto& b = t_.branches[i];
      const auto prefix = fmt::format("branches[{}].", i);
      check_chain(prefix, b.steps, b.aggregation, b.table, b.after);
      check_sinks(prefix, b.sinks);
    }
    for (auto& e : validate_branch_graph(t_)) errors_.push_back(std::move(e));
    check_clusters();
    if (t_.commit_interval && t_.commit_interval->count() <= 0) {
      add("commit_interval", "must be positive");
    }
    return std::move(errors_);
  }

 private:
  // A chain's steps, window or table and after steps; `prefix` starts their paths ("" for the
  // main chain, "branches[i]." for a branch).
  void check_chain(const std::string& prefix, const std::vector<step>& steps,
                   const std::optional<windowed_aggregation_spec>& window,
                   const std::optional<table_aggregation_spec>& table,
                   const std::vector<step>& after) {
    check_steps(prefix + "steps", steps);
    if (window) {
      check_aggregation(prefix + "window", *window);
    }
    if (table) {
      check_table(prefix + "table", *table, window.has_value());
    }
    if (!window && !table && !after.empty()) {
      add(prefix + "after", "steps after an aggregation need a window or a table");
    }
    check_steps(prefix + "after", after);
  }

  // Where joins and processors with stores may be: a chain's steps (not after an aggregation,
  // not a sink's).
  static bool stateful_allowed(std::string_view list) {
    return list == "steps" || (list.starts_with("branches[") && list.ends_with("].steps") &&
                               list.find(".sink") == std::string_view::npos);
  }

  void add(std::string path, std::string message,
           std::optional<std::size_t> position = std::nullopt) {
    errors_.push_back(topology_error{std::move(path), std::move(message), position});
  }

  void check_expression(const std::string& path, const std::string& source) {
    if (source.empty()) {
      add(path, "expected an expression");
      return;
    }
    auto compiled = bound_expression::compile(source);
    if (!compiled) {
      add(path, compiled.error().message, compiled.error().position);
    }
  }

  void check_topic(const std::string& path, const std::string& topic) {
    if (topic.empty()) {
      add(path, "expected a topic name");
    } else if (!valid_topic_name(topic)) {
      add(path, fmt::format("'{}' is not a valid topic name (1-249 characters of a-z, A-Z, 0-9, "
                            "'.', '_', '-')",
                            topic));
    }
  }

  void check_name() {
    if (t_.name.empty()) {
      add("name", "expected the pipeline name (the application id)");
    } else if (!valid_topic_name(t_.name)) {
      add("name",
          fmt::format("'{}' cannot prefix topic names: use a-z, A-Z, 0-9, '.', '_', '-'", t_.name));
    }
  }

  void check_sources() {
    if (t_.sources.empty()) {
      add("sources", "expected at least one source");
    }
    std::set<std::string> seen;
    for (std::size_t i = 0; i < t_.sources.size(); ++i) {
      const auto& s = t_.sources[i];
      const std::string path = fmt::format("sources[{}]", i);
      if (s.topics.empty()) {
        add(path + ".topics", "expected at least one topic");
      }
      for (std::size_t j = 0; j < s.topics.size(); ++j) {
        const std::string topic_path = fmt::format("{}.topics[{}]", path, j);
        check_topic(topic_path, s.topics[j]);
        if (!seen.insert(s.topics[j]).second) {
          add(topic_path, fmt::format("topic '{}' is read twice", s.topics[j]));
        }
      }
    }
  }

  void check_steps(std::string_view list, const std::vector<step>& steps) {
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const auto& s = steps[i];
      const std::string base = fmt::format("{}[{}]", list, i);
      if (s.name.empty()) {
        add(base + ".name", "expected a step name");
      } else if (!valid_topic_name(s.name)) {
        add(base + ".name", fmt::format("'{}' cannot be part of a topic name: use a-z, A-Z, 0-9, "
                                        "'.', '_', '-'",
                                        s.name));
      } else if (!step_names_.insert(s.name).second) {
        add(base + ".name", fmt::format("step name '{}' is used twice", s.name));
      }
      const std::string path = step_path(list, i, s);
      switch (s.kind) {
        case step_kind::map:
          if (!s.fields.empty()) {
            std::set<std::string> names;
            for (const auto& f : s.fields) {
              const std::string field_path = fmt::format("{}.{}", path, f.name);
              if (f.name.empty()) {
                add(path, "a field needs a name");
              }
              if (!names.insert(f.name).second) {
                add(field_path, fmt::format("field '{}' is set twice", f.name));
              }
              check_expression(field_path, f.expression);
            }
            break;
          }
          check_expression(path, s.expression);
          break;
        case step_kind::flat_map:
          check_expression(path, s.expression);
          if (!s.key_expression.empty()) {
            check_expression(fmt::format("{}[{}].flat_map.key", list, i), s.key_expression);
          }
          break;
        case step_kind::join:
          check_join(list, path, s);
          break;
        case step_kind::processor:
          check_processor(list, path, s);
          break;
        case step_kind::user:
          if (s.function.empty()) {
            add(path, "expected the name of a registered user function");
          } else if (registry_.find_step(s.function) == nullptr) {
            add(path,
                fmt::format("no user function '{}' is registered (function_registry::add_step)",
                            s.function));
          }
          break;
        default:
          check_expression(path, s.expression);
          break;
      }
    }
  }

  void check_store_name(const std::string& path, const std::string& name) {
    if (name.empty() || !valid_topic_name(name)) {
      add(path, fmt::format("'{}' cannot be part of a store or topic name: use a-z, A-Z, 0-9, "
                            "'.', '_', '-'",
                            name));
    }
  }

  // `reserved`: output names the aggregation's own members take.
  void check_aggregate_list(const std::string& path, const std::vector<aggregation_spec>& list,
                            std::set<std::string> reserved) {
    if (list.empty()) {
      add(path, "expected at least one aggregation");
    }
    std::string reserved_names;
    for (const auto& name : reserved) {
      reserved_names += (reserved_names.empty() ? "" : " and ") + name;
    }
    auto outputs = std::move(reserved);
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto& g = list[i];
      const std::string base = fmt::format("{}[{}]", path, i);
      if (g.output.empty()) {
        add(base + ".name", "expected the output name");
      } else if (!outputs.insert(g.output).second) {
        add(base + ".name", reserved_names.empty()
                                ? fmt::format("output '{}' is used twice", g.output)
                                : fmt::format("output '{}' is used twice ({} are reserved)",
                                              g.output, reserved_names));
      }
      const bool needs_input =
          g.function != aggregate_function::count && g.function != aggregate_function::user;
      if (needs_input && g.expression.empty()) {
        add(base + ".expression",
            fmt::format("{} needs an expression to aggregate", to_string(g.function)));
      } else if (!g.expression.empty()) {
        check_expression(base + ".expression", g.expression);
      }
      if (g.function == aggregate_function::user) {
        if (g.user_function.empty()) {
          add(base + ".user", "expected the name of a registered user aggregate");
        } else if (registry_.find_aggregate(g.user_function) == nullptr) {
          add(base + ".user",
              fmt::format("no user aggregate '{}' is registered (function_registry::add_aggregate)",
                          g.user_function));
        }
      } else if (!g.user_function.empty()) {
        add(base + ".user", "only function 'user' names a user aggregate");
      }
    }
  }

  void check_table(const std::string& path, const table_aggregation_spec& a, bool windowed) {
    check_store_name(path + ".name", a.name);
    if (windowed) {
      add(path, path == "table" ? "a pipeline aggregates once: a window or a table, not both"
                                : "a branch aggregates once: a window or a table, not both");
    }
    check_aggregate_list(path + ".aggregate", a.aggregations, {});
    if (a.emit_every.count() < 0) {
      add(path + ".emit_every", "must not be negative (0: every update)");
    }
  }

  void check_aggregation(const std::string& path, const windowed_aggregation_spec& a) {
    const auto& w = a.window;
    check_store_name(path + ".name", a.name);
    switch (w.kind) {
      case window_kind::tumbling:
      case window_kind::hopping:
        if (w.size.count() <= 0) {
          add(path + ".size", "must be positive");
        }
        if (w.gap.count() != 0) {
          add(path + ".gap", fmt::format("only session windows have a gap"));
        }
        if (w.kind == window_kind::hopping) {
          if (w.advance.count() <= 0) {
            add(path + ".advance", "must be positive");
          } else if (w.advance > w.size) {
            add(path + ".advance",
                fmt::format("must not exceed the size ({} ms > {} ms): records would fall between "
                            "windows",
                            w.advance.count(), w.size.count()));
          }
        } else if (w.advance.count() != 0) {
          add(path + ".advance",
              "only hopping windows advance; a tumbling window advances by its size");
        }
        break;
      case window_kind::session:
        if (w.size.count() != 0) {
          add(path + ".size", "session windows have a gap, not a size");
        }
        if (w.advance.count() != 0) {
          add(path + ".advance", "session windows have a gap, not an advance");
        }
        if (w.gap.count() <= 0) {
          add(path + ".gap", "must be positive");
        }
        break;
    }
    if (w.grace.count() < 0) {
      add(path + ".grace", "must not be negative");
    }
    if (!a.time_expression.empty()) {
      check_expression(path + ".time", a.time_expression);
    }
    check_aggregate_list(path + ".aggregate", a.aggregations, {"window_start", "window_end"});
    if (a.late == late_policy::side_topic) {
      check_topic(path + ".late_topic", a.late_topic);
      if (is_source(a.late_topic, t_.home_cluster())) {
        add(path + ".late_topic", fmt::format("topic '{}' is also a source", a.late_topic));
      }
      // Any sink's, whatever its cluster: outputs find their producer by topic name.
      if (is_sink(a.late_topic, t_.home_cluster())) {
        add(path + ".late_topic", "the late topic must differ from the sink topic");
      }
    } else if (!a.late_topic.empty()) {
      add(path + ".late_topic", "late records are dropped (late: drop); set late: side_topic");
    }
  }

  void check_tables() {
    check_joined_topics("tables", "table", t_.tables, &step::table);
    check_joined_topics("streams", "stream", t_.streams, &step::stream);
    for (const auto& stream : t_.streams) {
      for (const auto& table : t_.tables) {
        if (table.topic == stream.topic) {
          add("streams",
              fmt::format("topic '{}' is read as a table and as a stream", stream.topic));
        }
      }
    }
  }

  // tables: or streams:, each joined by exactly one join step (`member` names it there).
  template <class Spec>
  void check_joined_topics(std::string_view list, std::string_view what,
                           const std::vector<Spec>& specs, std::string step::*member) {
    std::set<std::string> names;
    std::set<std::string> topics;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const auto& spec = specs[i];
      const std::string path = fmt::format("{}[{}]", list, i);
      check_store_name(path + ".name", spec.name);
      if (!names.insert(spec.name).second) {
        add(path + ".name", fmt::format("{} '{}' is declared twice", what, spec.name));
      }
      check_topic(path + ".topic", spec.topic);
      if (is_source(spec.topic, spec.cluster)) {
        add(path + ".topic", fmt::format("topic '{}' is also a stream source", spec.topic));
      } else if (!topics.insert(spec.topic).second) {
        add(path + ".topic", fmt::format("topic '{}' is read as two {}", spec.topic, list));
      }
      if (is_sink(spec.topic, spec.cluster)) {
        add(path + ".topic", fmt::format("topic '{}' is also the sink", spec.topic));
      }
      auto joins = std::count_if(t_.steps.begin(), t_.steps.end(), [&](const step& s) {
        return s.kind == step_kind::join && s.*member == spec.name;
      });
      for (const auto& branch : t_.branches) {
        joins += std::count_if(branch.steps.begin(), branch.steps.end(), [&](const step& s) {
          return s.kind == step_kind::join && s.*member == spec.name;
        });
      }
      if (joins == 0) {
        add(path, fmt::format("{} '{}' is not joined by any step (add a join step or remove it)",
                              what, spec.name));
      } else if (joins > 1) {
        add(path, fmt::format("{} '{}' is joined by {} steps; a {} is joined once (declare "
                              "the topic again under another name)",
                              what, spec.name, joins, what));
      }
    }
  }

  void check_processor(std::string_view list, const std::string& path, const step& s) {
    const auto* registered = s.function.empty() ? nullptr : registry_.find_processor(s.function);
    if (s.function.empty()) {
      add(path + ".function", "expected the name of a registered processor");
    } else if (registered == nullptr) {
      add(path + ".function",
          fmt::format("no processor '{}' is registered (function_registry::add_processor)",
                      s.function));
    }
    std::map<std::string, const store_spec*> declared;
    for (std::size_t i = 0; i < s.stores.size(); ++i) {
      const auto& spec = s.stores[i];
      const auto store_path = fmt::format("{}.stores[{}]", path, i);
      check_store_name(store_path, spec.name);
      if (spec.name == reserved_time_store) {
        add(store_path, fmt::format("'{}' is reserved: the step keeps its stream time in '{}'",
                                    spec.name, step_time_store_name(s)));
      }
      if (!declared.emplace(spec.name, &spec).second) {
        add(store_path, fmt::format("store '{}' is declared twice", spec.name));
      }
      for (const auto& problem : store_spec_problems(spec)) {
        add(store_path + "." + problem.field, problem.message);
      }
    }
    if (!s.stores.empty() && !stateful_allowed(list)) {
      add(path + ".stores",
          "a processor with stores runs in steps: (not after an aggregation nor in a sink)");
    }
    if (registered == nullptr) return;
    for (const auto& needed : registered->stores) {
      auto found = declared.find(needed.name);
      if (found == declared.end()) {
        add(path + ".stores",
            fmt::format("processor '{}' uses store '{}': declare it (stores: [{}])", s.function,
                        needed.name, describe_store(needed)));
        continue;
      }
      const auto& spec = *found->second;
      if (spec.kind != needed.kind || spec.window != needed.window ||
          spec.retention < needed.retention) {
        add(path + ".stores",
            fmt::format("processor '{}' uses store '{}' as {}, but the step declares {}{}",
                        s.function, needed.name, describe_store(needed), describe_store(spec),
                        spec.kind == needed.kind && spec.window == needed.window
                            ? " (a retention at least the registration's)"
                            : ""));
      }
    }
  }

  // How a pipeline file would declare the store: `seen`, or
  // `{name: recent, kind: window, retention: 3600000ms, window: 300000ms}`.
  static std::string describe_store(const store_spec& spec) {
    switch (spec.kind) {
      case store_kind::key_value:
        return spec.name;
      case store_kind::window:
        return fmt::format("{{name: {}, kind: window, retention: {}ms, window: {}ms}}", spec.name,
                           spec.retention.count(), spec.window.count());
      case store_kind::session:
        return fmt::format("{{name: {}, kind: session, retention: {}ms}}", spec.name,
                           spec.retention.count());
    }
    return spec.name;
  }

  void check_join(std::string_view list, const std::string& path, const step& s) {
    if (!stateful_allowed(list)) {
      add(path, "a join runs in steps: (not after an aggregation nor in a sink)");
    }
    if (!s.stream.empty()) {
      check_stream_join(path, s);
      return;
    }
    const bool declared =
        std::any_of(t_.tables.begin(), t_.tables.end(),
                    [&](const table_source_spec& t) { return t.name == s.table; });
    if (s.table.empty()) {
      add(path + ".table", "expected the name of a table from tables: (or a stream from streams:)");
    } else if (!declared) {
      std::string known;
      for (const auto& t : t_.tables) known += (known.empty() ? "" : ", ") + t.name;
      add(path + ".table", fmt::format("no table '{}' in tables: ({})", s.table,
                                       known.empty() ? "none declared" : known));
    }
    if (s.join == join_kind::outer && !t_.joins_tables(s)) {
      add(path + ".type",
          "a join with a table is inner or left (outer joins two streams, or a source read as a "
          "table with a table)");
    }
    if (s.into.empty() && !s.table.empty()) {
      add(path + ".into", "expected the member that receives the table's value");
    }
  }

  void check_stream_join(const std::string& path, const step& s) {
    if (!s.table.empty()) {
      add(path, "a join has a table or a stream, not both");
    }
    const bool declared =
        std::any_of(t_.streams.begin(), t_.streams.end(),
                    [&](const stream_source_spec& t) { return t.name == s.stream; });
    if (!declared) {
      std::string known;
      for (const auto& t : t_.streams) known += (known.empty() ? "" : ", ") + t.name;
      add(path + ".stream", fmt::format("no stream '{}' in streams: ({})", s.stream,
                                        known.empty() ? "none declared" : known));
    }
    if (s.within.count() <= 0) {
      add(path + ".within", "expected how far apart the two records' timestamps may be (e.g. 5m)");
    }
    if (s.grace.count() < 0) {
      add(path + ".grace", "must not be negative");
    }
    if (s.into.empty()) {
      add(path + ".into", "expected the member that receives the other stream's value");
    }
  }

  // "sink" for a chain with one sink, "sinks[i]" with several (the YAML loader's paths), after
  // the chain's prefix.
  static std::string sink_path(const std::string& prefix, const std::vector<sink_spec>& sinks,
                               std::size_t i) {
    return prefix + (sinks.size() == 1 ? std::string("sink") : fmt::format("sinks[{}]", i));
  }

  // A chain's sinks; a chain without any needs branches taking its results (checked with the
  // graph), except the main chain of a pipeline without branches.
  void check_sinks(const std::string& prefix, const std::vector<sink_spec>& sinks) {
    if (sinks.empty() && prefix.empty() && t_.branches.empty()) {
      add("sink", "expected the sink topic");
    }
    auto& topics = sink_topics_;
    for (std::size_t i = 0; i < sinks.size(); ++i) {
      const auto& sink = sinks[i];
      const auto path = sink_path(prefix, sinks, i);
      std::string topic_path = path + ".topic";
      if (!sink.topic_from.empty()) {
        check_topic_from(path, sink);
        topic_path = path + ".topics";
      }
      const auto written = sink.written_topics();
      for (std::size_t j = 0; j < written.size(); ++j) {
        const auto& topic = written[j];
        const auto where =
            sink.topic_from.empty() ? topic_path : fmt::format("{}[{}]", topic_path, j);
        check_topic(where, topic);
        if (is_source(topic, sink.cluster)) {
          add(where,
              fmt::format("topic '{}' is also a source: the pipeline would read its own output",
                          topic));
        } else if (!topic.empty() && !topics.insert(topic).second) {
          add(where, fmt::format("topic '{}' is written by two sinks", topic));
        }
      }
      if (!sink.when.empty()) {
        check_expression(path + ".when", sink.when);
      }
      check_steps(path + ".steps", sink.steps);  // joins and stateful processors are refused there
    }
  }

  // A sink whose topic comes from the record: the expression, and the topics it may give.
  void check_topic_from(const std::string& path, const sink_spec& sink) {
    if (!sink.topic.empty()) {
      add(path + ".topic_from", "give topic or topic_from, not both");
    }
    check_expression(path + ".topic_from", sink.topic_from);
    if (sink.topics.empty()) {
      add(path + ".topics",
          "expected the topics topic_from may give (they are created at start; a record whose "
          "expression gives another one is an error)");
    }
  }

  // Where a source, table or sink is, for messages.
  static std::string on_cluster(const std::string& cluster) {
    return cluster.empty() ? std::string("on the default cluster")
                           : fmt::format("on cluster '{}'", cluster);
  }

  // A reference to a cluster must name one of `clusters`; all sources and tables share one (the
  // group reads them together); under exactly-once every sink is on it too (one transaction,
  // one cluster).
  void check_clusters() {
    struct reader {
      std::string path;
      const std::string* cluster;
    };
    std::vector<reader> readers;
    for (std::size_t i = 0; i < t_.sources.size(); ++i) {
      readers.push_back({fmt::format("sources[{}]", i), &t_.sources[i].cluster});
    }
    for (std::size_t i = 0; i < t_.tables.size(); ++i) {
      readers.push_back({fmt::format("tables[{}]", i), &t_.tables[i].cluster});
    }
    for (std::size_t i = 0; i < t_.streams.size(); ++i) {
      readers.push_back({fmt::format("streams[{}]", i), &t_.streams[i].cluster});
    }
    for (const auto& r : readers) {
      check_cluster_name(r.path + ".cluster", *r.cluster);
    }
    for (const auto& r : readers) {
      if (*r.cluster != *readers.front().cluster) {
        add(r.path + ".cluster",
            fmt::format("every source, table and stream must be on one cluster (the consumer group "
                        "reads them together; "
                        "its offsets and the internal topics live there): {} is {}, {} is {}",
                        readers.front().path, on_cluster(*readers.front().cluster), r.path,
                        on_cluster(*r.cluster)));
        break;
      }
    }
    std::vector<std::pair<std::string, const sink_spec*>> sinks;
    for (std::size_t i = 0; i < t_.sinks.size(); ++i) {
      sinks.emplace_back(sink_path("", t_.sinks, i), &t_.sinks[i]);
    }
    for (std::size_t b = 0; b < t_.branches.size(); ++b) {
      const auto& branch_sinks = t_.branches[b].sinks;
      for (std::size_t i = 0; i < branch_sinks.size(); ++i) {
        sinks.emplace_back(sink_path(fmt::format("branches[{}].", b), branch_sinks, i),
                           &branch_sinks[i]);
      }
    }
    for (const auto& [sink_at, sink_ptr] : sinks) {
      const auto& sink = *sink_ptr;
      const auto path = sink_at + ".cluster";
      check_cluster_name(path, sink.cluster);
      if (t_.delivery == delivery_guarantee::exactly_once && !readers.empty() &&
          sink.cluster != *readers.front().cluster) {
        add(path,
            fmt::format(
                "exactly_once holds only within one cluster: this sink is {} and the sources are "
                "{} "
                "(one transaction cannot span two clusters); write to the sources' cluster, or use "
                "delivery: at_least_once",
                on_cluster(sink.cluster), on_cluster(*readers.front().cluster)));
      }
    }
  }

  void check_cluster_name(const std::string& path, const std::string& cluster) {
    if (cluster.empty() || t_.clusters.contains(cluster)) {
      return;
    }
    std::string known;
    for (const auto& name : t_.clusters) {
      known += (known.empty() ? "" : ", ") + name;
    }
    const auto close = expr::closest_name(cluster, t_.clusters);
    add(path,
        fmt::format("unknown cluster '{}'{}; clusters: declares {}", cluster,
                    close.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", close),
                    known.empty() ? "none" : known));
  }

  bool is_sink(const std::string& topic, const std::string& cluster) const {
    const auto sinks = t_.every_sink();
    return std::any_of(sinks.begin(), sinks.end(), [&](const sink_spec* s) {
      const auto written = s->written_topics();
      return s->cluster == cluster &&
             std::find(written.begin(), written.end(), topic) != written.end();
    });
  }

  // A topic of the same name on another cluster is another topic (a migration reads `orders`
  // on one cluster and writes `orders` on another).
  bool is_source(const std::string& topic, const std::string& cluster) const {
    for (const auto& s : t_.sources) {
      if (s.cluster != cluster) {
        continue;
      }
      for (const auto& t : s.topics) {
        if (t == topic) {
          return true;
        }
      }
    }
    return false;
  }

  const topology& t_;
  const function_registry& registry_;
  std::set<std::string> step_names_;
  std::set<std::string> sink_topics_;  // every chain's: each topic is written by one sink
  std::vector<topology_error> errors_;
};

}  // namespace

std::vector<store_spec_problem> store_spec_problems(const store_spec& spec) {
  std::vector<store_spec_problem> problems;
  const auto retention = spec.retention.count();
  const auto window = spec.window.count();
  switch (spec.kind) {
    case store_kind::key_value:
      if (retention != 0) {
        problems.push_back({"retention",
                            "a key_value store keeps every key until it is removed: "
                            "only window and session stores have a retention"});
      }
      if (window != 0) problems.push_back({"window", "only a window store has a window size"});
      break;
    case store_kind::window:
      if (window <= 0) problems.push_back({"window", "must be positive"});
      if (retention <= 0) {
        problems.push_back({"retention", "must be positive"});
      } else if (window > 0 && retention < window) {
        problems.push_back(
            {"retention", fmt::format("must be at least the window ({} ms < {} ms): a window "
                                      "would expire before it is over",
                                      retention, window)});
      }
      break;
    case store_kind::session:
      if (retention <= 0) problems.push_back({"retention", "must be positive"});
      if (window != 0) {
        problems.push_back({"window",
                            "a session store has no window size (sessions are as long "
                            "as the processor makes them)"});
      }
      break;
  }
  return problems;
}

bool valid_topic_name(std::string_view name) {
  if (name.empty() || name.size() > max_topic_length || name == "." || name == "..") {
    return false;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::string step_path(std::string_view list, std::size_t index, const step& s) {
  if (s.kind == step_kind::flat_map && !s.key_expression.empty()) {
    return fmt::format("{}[{}].flat_map.values", list, index);
  }
  return fmt::format("{}[{}].{}", list, index, to_string(s.kind));
}

std::vector<topology_error> validate_topology(const topology& t,
                                              const function_registry& registry) {
  return validator(t, registry).run();
}

}  // namespace sluice::operators
