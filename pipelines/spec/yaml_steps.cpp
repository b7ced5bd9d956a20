#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kafka/properties/client_properties.hpp"
#include "pipelines/spec/yaml_pipeline_reader.hpp"

namespace sluice::pipelines::yaml_reading {

void pipeline_reader::read_steps(const YAML::Node& node, const std::string& list_path,
                                 std::string_view prefix, std::vector<ops::step>& out) {
  if (!sequence(
          node, list_path,
          "steps (filter, map, select_key, flat_map, set_timestamp, user, join, processor)")) {
    return;
  }
  static const std::initializer_list<std::string_view> kinds = {
      "filter", "map", "select_key", "flat_map", "set_timestamp", "user", "join", "processor"};
  for (std::size_t i = 0; i < node.size(); ++i) {
    const auto path = index(list_path, i);
    const auto& n = node[i];
    if (!mapping(n, path,
                 {"name", "filter", "map", "select_key", "flat_map", "set_timestamp", "user",
                  "join", "processor"})) {
      continue;
    }
    ops::step s;
    int found = 0;
    for (auto kind : {ops::step_kind::filter, ops::step_kind::map, ops::step_kind::select_key,
                      ops::step_kind::flat_map, ops::step_kind::set_timestamp, ops::step_kind::user,
                      ops::step_kind::join, ops::step_kind::processor}) {
      if (n[std::string(ops::to_string(kind))]) {
        s.kind = kind;
        ++found;
      }
    }
    if (found != 1) {
      error(path, fmt::format("a step has exactly one of: {}", list(kinds)));
      continue;
    }
    const auto kind_name = std::string(ops::to_string(s.kind));
    const auto body = n[kind_name];
    const auto body_path = join(path, kind_name);
    s.name = fmt::format("{}{}-{}", prefix, kind_name, i);
    if (auto name = n["name"]) {
      if (auto v = string(name, join(path, "name"), "a step name")) {
        s.name = *v;
      }
    }
    switch (s.kind) {
      case ops::step_kind::map:
        if (body.IsMap()) {
          for (auto it = body.begin(); it != body.end(); ++it) {
            const auto field = it->first.Scalar();
            const auto field_path = join(body_path, field);
            remember(field_path, it->second, it->first.Mark());
            if (auto e = string(it->second, field_path, "an expression")) {
              s.fields.push_back(ops::field_expression{field, *e});
            }
          }
          if (s.fields.empty()) {
            error(body_path, "expected at least one field");
          }
        } else if (auto e = string(body, body_path, "an expression or a mapping of fields")) {
          s.expression = *e;
        }
        break;
      case ops::step_kind::flat_map:
        if (body.IsMap()) {
          if (!mapping(body, body_path, {"values", "key"})) {
            break;
          }
          if (auto v = body["values"]) {
            if (auto e = string(v, join(body_path, "values"), "an expression")) {
              s.expression = *e;
            }
          } else {
            missing(body_path, "values", "an expression giving an array");
          }
          if (auto k = body["key"]) {
            if (auto e = string(k, join(body_path, "key"), "an expression")) {
              s.key_expression = *e;
            }
          }
        } else if (auto e = string(body, body_path, "an expression giving an array")) {
          s.expression = *e;
        }
        break;
      case ops::step_kind::user:
      case ops::step_kind::processor:
        read_function_step(body, body_path, s);
        break;
      case ops::step_kind::join:
        read_join(body, body_path, s);
        break;
      default:
        if (auto e = string(body, body_path, "an expression")) {
          s.expression = *e;
        }
        break;
    }
    out.push_back(std::move(s));
  }
}

// user: FUNCTION, or {function, changes_key}; processor: the same, and stores: [STORE, ...].
void pipeline_reader::read_function_step(const YAML::Node& body, const std::string& path,
                                         ops::step& s) {
  const bool processor = s.kind == ops::step_kind::processor;
  const char* what =
      processor ? "the name of a registered processor" : "the name of a registered function";
  if (!body.IsMap()) {
    if (auto v = string(body, path, what)) {
      s.function = *v;
    }
    return;
  }
  if (!(processor ? mapping(body, path, {"function", "changes_key", "stores"})
                  : mapping(body, path, {"function", "changes_key"}))) {
    return;
  }
  if (auto f = body["function"]) {
    if (auto v = string(f, join(path, "function"), "a function name")) {
      s.function = *v;
    }
  } else {
    missing(path, "function", what);
  }
  if (auto c = body["changes_key"]) {
    if (auto v = boolean(c, join(path, "changes_key"))) {
      s.changes_key = *v;
    }
  }
  if (auto stores = body["stores"]) {
    const auto stores_path = join(path, "stores");
    if (sequence(stores, stores_path, "store declarations")) {
      for (std::size_t i = 0; i < stores.size(); ++i) {
        if (auto store = read_store(stores[i], index(stores_path, i))) {
          s.stores.push_back(std::move(*store));
        }
      }
    }
  }
}

// NAME (a key-value store), or {name, kind: key_value|window|session, retention, window}.
std::optional<ops::store_spec> pipeline_reader::read_store(const YAML::Node& n,
                                                           const std::string& path) {
  if (!n.IsMap()) {
    auto name = string(n, path, "a store name or {name, kind, retention, window}");
    return name ? std::optional<ops::store_spec>(*name) : std::nullopt;
  }
  if (!mapping(n, path, {"name", "kind", "retention", "window"})) return std::nullopt;
  ops::store_spec spec;
  if (auto v = n["name"]) {
    if (auto name = string(v, join(path, "name"), "a store name")) spec.name = *name;
  } else {
    missing(path, "name", "the name the processor asks its context for");
  }
  if (auto v = n["kind"]) {
    if (auto kind = choice<ops::store_kind>(v, join(path, "kind"), ops::parse_store_kind,
                                            {"key_value", "window", "session"})) {
      spec.kind = *kind;
    }
  }
  if (auto v = n["retention"]) {
    spec.retention = duration(v, join(path, "retention")).value_or(ops::duration{0});
  }
  if (auto v = n["window"]) {
    spec.window = duration(v, join(path, "window")).value_or(ops::duration{0});
  }
  return spec;
}

// join: TABLE, or {table, type: inner|left, into: MEMBER}, or
// {stream, within, grace, type: inner|left|outer, into: MEMBER}.
void pipeline_reader::read_join(const YAML::Node& body, const std::string& path, ops::step& s) {
  if (body.IsMap()) {
    if (!mapping(body, path, {"table", "stream", "within", "grace", "type", "into"})) {
      return;
    }
    if (auto v = body["stream"]) {
      if (auto stream = string(v, join(path, "stream"), "a stream name")) {
        s.stream = *stream;
      }
      if (auto w = body["within"]) {
        s.within = duration(w, join(path, "within")).value_or(ops::duration{0});
      } else {
        missing(path, "within", "how far apart the joined records' timestamps may be");
      }
      if (auto g = body["grace"]) {
        s.grace = duration(g, join(path, "grace")).value_or(ops::duration{0});
      }
    }
    if (auto v = body["table"]) {
      if (auto table = string(v, join(path, "table"), "a table name")) {
        s.table = *table;
      }
    } else if (s.stream.empty()) {
      missing(path, "table", "the name of a table from tables: (or stream: from streams:)");
    }
    if (auto v = body["type"]) {
      if (auto kind = choice<ops::join_kind>(v, join(path, "type"), ops::parse_join_kind,
                                             {"inner", "left", "outer"})) {
        s.join = *kind;
      }
    }
    if (auto v = body["into"]) {
      if (auto into = string(v, join(path, "into"), "a member name")) {
        s.into = *into;
      }
    }
  } else if (auto table = string(body, path, "a table name or {table, type, into}")) {
    s.table = *table;
  }
  if (s.into.empty()) {
    s.into = s.stream.empty() ? s.table : s.stream;
  }
}

void pipeline_reader::read_window(const YAML::Node& n, const std::string& path,
                                  const std::string& default_name,
                                  std::optional<ops::windowed_aggregation_spec>& into) {
  if (!mapping(n, path,
               {"name", "type", "size", "advance", "gap", "grace", "time", "emit", "late",
                "late_topic", "aggregate"})) {
    return;
  }
  ops::windowed_aggregation_spec a;
  if (!default_name.empty()) a.name = default_name;
  if (auto v = n["name"]) {
    if (auto s = string(v, join(path, "name"), "a name")) {
      a.name = *s;
    }
  }
  auto& w = a.window;
  if (auto v = n["type"]) {
    if (auto kind = choice<ops::window_kind>(
            v, join(path, "type"),
            [](std::string_view s) -> std::optional<ops::window_kind> {
              for (auto k : {ops::window_kind::tumbling, ops::window_kind::hopping,
                             ops::window_kind::session}) {
                if (ops::to_string(k) == s) {
                  return k;
                }
              }
              return std::nullopt;
            },
            {"tumbling", "hopping", "session"})) {
      w.kind = *kind;
    }
  } else {
    missing(path, "type", "tumbling, hopping or session");
  }
  auto read_duration = [&](const char* key, ops::duration& into) {
    if (auto v = n[key]) {
      if (auto d = duration(v, join(path, key))) {
        into = *d;
      }
    }
  };
  read_duration("size", w.size);
  read_duration("advance", w.advance);
  read_duration("gap", w.gap);
  read_duration("grace", w.grace);
  if (w.kind != ops::window_kind::session && !n["size"] && n["type"]) {
    missing(path, "size", fmt::format("a {} window needs one", ops::to_string(w.kind)));
  }
  if (w.kind == ops::window_kind::hopping && !n["advance"]) {
    missing(path, "advance", "a hopping window needs one");
  }
  if (w.kind == ops::window_kind::session && !n["gap"]) {
    missing(path, "gap", "a session window needs one");
  }
  if (auto v = n["time"]) {
    if (auto s = string(v, join(path, "time"), "an expression giving milliseconds")) {
      a.time_expression = *s;
    }
  }
  if (auto v = n["emit"]) {
    if (auto m = choice<ops::emit_mode>(v, join(path, "emit"),
                                        [](std::string_view s) -> std::optional<ops::emit_mode> {
                                          if (s == "every_update") {
                                            return ops::emit_mode::every_update;
                                          }
                                          if (s == "on_close") {
                                            return ops::emit_mode::on_close;
                                          }
                                          return std::nullopt;
                                        },
                                        {"every_update", "on_close"})) {
      a.emit = *m;
    }
  }
  if (auto v = n["late"]) {
    if (auto p =
            choice<ops::late_policy>(v, join(path, "late"),
                                     [](std::string_view s) -> std::optional<ops::late_policy> {
                                       if (s == "drop") {
                                         return ops::late_policy::drop;
                                       }
                                       if (s == "side_topic") {
                                         return ops::late_policy::side_topic;
                                       }
                                       return std::nullopt;
                                     },
                                     {"drop", "side_topic"})) {
      a.late = *p;
    }
  }
  if (auto v = n["late_topic"]) {
    if (auto s = string(v, join(path, "late_topic"), "a topic name")) {
      a.late_topic = *s;
    }
  }
  read_aggregations(n, path, a.aggregations);
  into = std::move(a);
}

// table: {name, emit_every, aggregate: [...]}: group by key with no window.
void pipeline_reader::read_table(const YAML::Node& n, const std::string& path,
                                 const std::string& default_name,
                                 std::optional<ops::table_aggregation_spec>& into) {
  if (!mapping(n, path, {"name", "emit_every", "aggregate"})) {
    return;
  }
  ops::table_aggregation_spec a;
  if (!default_name.empty()) a.name = default_name;
  if (auto v = n["name"]) {
    if (auto s = string(v, join(path, "name"), "a name")) {
      a.name = *s;
    }
  }
  if (auto v = n["emit_every"]) {
    if (auto d = duration(v, join(path, "emit_every"))) {
      a.emit_every = *d;
    }
  }
  read_aggregations(n, path, a.aggregations);
  into = std::move(a);
}

// The `aggregate:` list of a window or table section.
void pipeline_reader::read_aggregations(const YAML::Node& section, const std::string& path,
                                        std::vector<ops::aggregation_spec>& into) {
  const auto node = section["aggregate"];
  if (!node) {
    missing(path, "aggregate", "a list of {name, function, expression}");
    return;
  }
  const std::string list_path = join(path, "aggregate");
  if (!sequence(node, list_path, "aggregations ({name, function, expression})")) {
    return;
  }
  static const std::initializer_list<std::string_view> functions = {
      "count", "sum", "min", "max", "avg", "first", "last", "count_distinct", "user"};
  for (std::size_t i = 0; i < node.size(); ++i) {
    const auto path = index(list_path, i);
    const auto& n = node[i];
    if (!mapping(n, path, {"name", "function", "expression", "user"})) {
      continue;
    }
    ops::aggregation_spec g;
    if (auto v = n["name"]) {
      if (auto s = string(v, join(path, "name"), "the output name")) {
        g.output = *s;
      }
    } else {
      missing(path, "name", "the output member");
    }
    if (auto v = n["function"]) {
      if (auto f = choice<ops::aggregate_function>(v, join(path, "function"),
                                                   ops::parse_aggregate_function, functions)) {
        g.function = *f;
      }
    } else {
      missing(path, "function", list(functions));
    }
    if (auto v = n["expression"]) {
      if (auto s = string(v, join(path, "expression"), "an expression")) {
        g.expression = *s;
      }
    }
    if (auto v = n["user"]) {
      if (auto s = string(v, join(path, "user"), "a user aggregate name")) {
        g.user_function = *s;
      }
    }
    into.push_back(std::move(g));
  }
}

}  // namespace sluice::pipelines::yaml_reading
