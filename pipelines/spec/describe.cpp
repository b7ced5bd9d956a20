#include "pipelines/spec/describe.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "pipelines/spec/yaml_loader.hpp"

namespace sluice::pipelines {

namespace ops = sluice::operators;

namespace {

// ", cluster old" for a topic on a named cluster; nothing on the default one.
std::string on_cluster(const std::string& cluster) {
  return cluster.empty() ? std::string() : ", cluster " + cluster;
}

std::string formats(ops::data_format key, ops::data_format value) {
  return fmt::format("key {}, value {}", ops::to_string(key), ops::to_string(value));
}

std::string step_text(const ops::step& s) {
  switch (s.kind) {
    case ops::step_kind::map:
      if (!s.fields.empty()) {
        std::string out = "map {";
        for (std::size_t i = 0; i < s.fields.size(); ++i) {
          out += fmt::format("{}{}: {}", i == 0 ? " " : ", ", s.fields[i].name,
                             s.fields[i].expression);
        }
        return out + " }";
      }
      return "map " + s.expression;
    case ops::step_kind::flat_map:
      return s.key_expression.empty() ? "flat_map " + s.expression
                                      : fmt::format("flat_map {} keyed by {}  (changes the key)",
                                                    s.expression, s.key_expression);
    case ops::step_kind::user:
      return fmt::format("user function {}{}", s.function,
                         s.changes_key ? "  (changes the key)" : "");
    case ops::step_kind::select_key:
      return "select_key " + s.expression + "  (changes the key)";
    case ops::step_kind::join:
      if (s.joins_stream()) {
        return fmt::format("{} join with stream {} within {} (grace {}), its value as {}{}",
                           ops::to_string(s.join), s.stream, format_duration(s.within),
                           format_duration(s.grace), s.into,
                           s.join == ops::join_kind::inner
                               ? ""
                               : "; unmatched records emitted with null once "
                                 "within + grace has passed");
      }
      return fmt::format("{} join with table {}, its value as {}", ops::to_string(s.join), s.table,
                         s.into);
    case ops::step_kind::processor: {
      std::string stores;
      for (const auto& store : s.stores) {
        stores += (stores.empty() ? "" : ", ") + store.name;
        if (store.kind == ops::store_kind::window) {
          stores += fmt::format(" (windows of {})", format_duration(store.window));
        } else if (store.kind == ops::store_kind::session) {
          stores += " (sessions)";
        }
      }
      return fmt::format("processor {}{}{}", s.function,
                         stores.empty() ? "" : " with stores " + stores,
                         s.changes_key ? "  (changes the key)" : "");
    }
    case ops::step_kind::table_changes:
      return "the table's updates: each key's previous value (kept in " +
             ops::table_changes_store_name(s) +
             ") leaves its group, subtracted, before the new value joins its new group";
    default:
      return fmt::format("{} {}", ops::to_string(s.kind), s.expression);
  }
}

// The table (a stream-table join's, or a table-table join's right side) read from `topic`.
const ops::table_source_spec* table_read_from(const ops::sub_topology& sub,
                                              const std::string& topic) {
  for (const auto* tables : {&sub.tables, &sub.joined_tables}) {
    for (const auto& table : *tables) {
      if (table.topic == topic) return &table;
    }
  }
  return nullptr;
}

std::string table_join_text(const ops::step& s) {
  return fmt::format(
      "{} join of the source table with table {}, its value as {}; every update of either side "
      "emits the key's joined value (null: deleted)",
      ops::to_string(s.join), s.table, s.into);
}

std::string window_text(const ops::windowed_aggregation_spec& a) {
  const auto& w = a.window;
  std::string shape;
  switch (w.kind) {
    case ops::window_kind::tumbling:
      shape = fmt::format("tumbling {}", format_duration(w.size));
      break;
    case ops::window_kind::hopping:
      shape = fmt::format("hopping {} advancing {}", format_duration(w.size),
                          format_duration(w.advance));
      break;
    case ops::window_kind::session:
      shape = fmt::format("session gap {}", format_duration(w.gap));
      break;
  }
  return fmt::format(
      "{}, grace {}, time {}, emit {}, late records {}", shape, format_duration(w.grace),
      a.time_expression.empty() ? "record timestamp" : a.time_expression, ops::to_string(a.emit),
      a.late == ops::late_policy::drop ? "dropped (counted)" : "to topic " + a.late_topic);
}

// One line per aggregation, then the output's shape; `members` are the ones before the aggregates.
std::string aggregations_text(const std::vector<ops::aggregation_spec>& aggregations,
                              std::string_view members) {
  std::string out;
  for (const auto& g : aggregations) {
    std::string input = g.expression.empty()
                            ? (g.function == ops::aggregate_function::count ? "records" : "")
                            : g.expression;
    const std::string fn = g.function == ops::aggregate_function::user
                               ? "user " + g.user_function
                               : std::string(ops::to_string(g.function));
    out += fmt::format("            {} = {}({})\n", g.output, fn, input);
  }
  out += fmt::format("            output {{{}", members);
  for (std::size_t i = 0; i < aggregations.size(); ++i) {
    out += (i == 0 ? "" : ", ") + aggregations[i].output;
  }
  out += "} keyed by the group key\n";
  return out;
}

// A chain's steps and its window or table (with its aggregations).
std::string chain_head(const ops::sub_topology& sub, const std::vector<ops::step>& steps,
                       const std::optional<ops::windowed_aggregation_spec>& window,
                       const std::optional<ops::table_aggregation_spec>& table) {
  std::string out;
  for (const auto& s : steps) {
    out += fmt::format("  step    {}: {}\n", s.name,
                       sub.joined_table_of(s) != nullptr ? table_join_text(s) : step_text(s));
  }
  if (window) {
    out += fmt::format("  window  {}: {}\n", window->name, window_text(*window));
    out += aggregations_text(window->aggregations, "window_start, window_end, ");
  }
  if (table) {
    out += fmt::format("  table   {}: group by key{}, {}\n", table->name,
                       sub.folds_table_changes ? " (a table's updates: subtract the old value, add "
                                                 "the new)"
                                               : "",
                       table->emit_every.count() > 0 ? "at most one result per key every " +
                                                           format_duration(table->emit_every)
                                                     : std::string("every update emitted"));
    out += aggregations_text(table->aggregations, "");
  }
  return out;
}

// A chain's steps after its aggregation, its sinks (a repartition topic says so) and its late
// records' topic.
std::string chain_tail(const ops::topology_plan& plan, const std::vector<ops::step>& after,
                       const std::vector<ops::sink_spec>& sinks,
                       const std::optional<ops::windowed_aggregation_spec>& window) {
  std::string out;
  for (const auto& s : after) {
    out += fmt::format("  step    {}: {}\n", s.name, step_text(s));
  }
  const auto& internal = plan.repartition_topics;
  for (const auto& sink : sinks) {
    const auto target = sink.topic_from.empty() ? sink.topic
                                                : fmt::format("{} -> one of {}", sink.topic_from,
                                                              fmt::join(sink.topics, ", "));
    const bool repartition =
        std::find(internal.begin(), internal.end(), sink.topic) != internal.end();
    out += fmt::format("  sink    {}  ({}{}{}){}\n", target,
                       formats(sink.key_format, sink.value_format),
                       repartition ? ", internal repartition topic" : "", on_cluster(sink.cluster),
                       sink.when.empty() ? "" : "  when " + sink.when);
    for (const auto& s : sink.steps) {
      out += fmt::format("            step {}: {}\n", s.name, step_text(s));
    }
  }
  if (window && window->late == ops::late_policy::side_topic) {
    out += fmt::format(
        "  late    {}  (key {}, value json)\n", window->late_topic,
        ops::to_string(sinks.empty() ? ops::data_format::string : sinks.front().key_format));
  }
  return out;
}

// Each line two more spaces in: a branch's lines under its `branch` line.
std::string indented(const std::string& lines) {
  std::string out;
  std::size_t begin = 0;
  while (begin < lines.size()) {
    const auto end = lines.find('\n', begin);
    out += "  " + lines.substr(begin, end - begin + 1);
    begin = end + 1;
  }
  return out;
}

}  // namespace

std::string describe_topology(const ops::topology& t) {
  const auto plan = ops::plan_topology(t);
  std::string out = fmt::format("pipeline {}\n", t.name);
  out += fmt::format("  delivery {}, commit interval {}{}\n", ops::to_string(t.delivery),
                     format_duration(t.effective_commit_interval()),
                     t.commit_interval ? "" : " (default)");
  for (const auto& sub : plan.sub_topologies) {
    out += fmt::format("\nsub-topology {}{}\n", sub.id,
                       sub.branch.empty() ? "" : "  (branch " + sub.branch + ")");
    for (const auto& s : sub.sources) {
      for (const auto& topic : s.topics) {
        const auto* table = table_read_from(sub, topic);
        auto stream =
            std::find_if(sub.streams.begin(), sub.streams.end(),
                         [&](const ops::stream_source_spec& t) { return t.topic == topic; });
        out += fmt::format("  source  {}  ({}{}{})\n", topic, formats(s.key_format, s.value_format),
                           table != nullptr              ? ", read as table " + table->name
                           : stream != sub.streams.end() ? ", joined stream " + stream->name
                           : s.as_table                  ? ", read as a table"
                           : sub.reads_internal          ? ", internal repartition topic"
                                                         : "",
                           on_cluster(s.cluster));
      }
    }
    out += chain_head(sub, sub.steps, sub.aggregation, sub.table);
    for (const auto& store : sub.stores) {
      out += fmt::format("  store   {}  ({}{}), {} {}\n", store.name, ops::to_string(store.kind),
                         store.retention.count() > 0
                             ? ", retention " + format_duration(store.retention)
                             : std::string(),
                         store.changelogged() ? "changelog" : "restored from its topic",
                         store.changelogged() ? store.changelog_topic : store.source_topic);
    }
    out += chain_tail(plan, sub.after, sub.sinks, sub.aggregation);
    for (const auto& b : sub.branches) {
      out += fmt::format("  branch  {}  from {}\n", b.name, fmt::join(b.from, ", "));
      out += indented(chain_head(sub, b.steps, b.aggregation, b.table) +
                      chain_tail(plan, b.after, b.sinks, b.aggregation));
    }
  }
  out += "\ntopics\n";
  for (const auto& s : t.sources) {
    for (const auto& topic : s.topics) {
      out += fmt::format("  input       {}{}\n", topic, s.as_table ? "  (read as a table)" : "");
    }
  }
  for (const auto& table : t.tables) {
    out += fmt::format("  input       {}  (table {})\n", table.topic, table.name);
  }
  for (const auto& stream : t.streams) {
    out += fmt::format("  input       {}  (joined stream {})\n", stream.topic, stream.name);
  }
  for (const auto* sink : t.every_sink()) {
    for (const auto& topic : sink->written_topics())
      out += fmt::format("  output      {}\n", topic);
  }
  for (const auto* window : t.windowed_aggregations()) {
    if (window->late == ops::late_policy::side_topic)
      out += fmt::format("  output      {}  (late records)\n", window->late_topic);
  }
  for (const auto& topic : plan.repartition_topics) {
    out += fmt::format("  internal    {}  (repartition)\n", topic);
  }
  for (const auto& topic : plan.changelog_topics) {
    out += fmt::format("  internal    {}  (changelog, compacted)\n", topic);
  }
  return out;
}

}  // namespace sluice::pipelines
