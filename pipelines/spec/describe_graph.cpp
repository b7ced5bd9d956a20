#include "pipelines/spec/describe_graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <set>

#include "pipelines/spec/describe.hpp"

namespace sluice::pipelines {

namespace ops = sluice::operators;
namespace json = boost::json;

std::optional<describe_format> parse_describe_format(std::string_view name) {
  if (name == "text") return describe_format::text;
  if (name == "dot") return describe_format::dot;
  if (name == "mermaid") return describe_format::mermaid;
  if (name == "json") return describe_format::json;
  return std::nullopt;
}

namespace {

class graph_builder {
 public:
  explicit graph_builder(const ops::topology& t) : t_(t), plan_(ops::plan_topology(t)) {}

  topology_graph build() {
    for (const auto& topic : plan_.repartition_topics) roles_[topic] = "repartition";
    for (const auto& topic : plan_.changelog_topics) roles_[topic] = "changelog";
    for (const auto& table : t_.tables) roles_[table.topic] = "table";
    for (const auto& stream : t_.streams) roles_[stream.topic] = "joined stream";
    for (const auto* window : t_.windowed_aggregations()) {
      if (window->late == ops::late_policy::side_topic) roles_[window->late_topic] = "late";
    }
    for (const auto& sub : plan_.sub_topologies) add_sub_topology(sub);
    return std::move(graph_);
  }

 private:
  void add_sub_topology(const ops::sub_topology& sub) {
    // A joined table: its topic fills its store, which the join step reads.
    table_stores_.clear();
    std::set<std::string> table_topics;
    for (const auto& table : sub.tables) {
      table_topics.insert(table.topic);
      const auto store = add_node(sub, "store", fmt::format("{} (key_value)", table.store_name()),
                                  {topic_node(table.topic, "table")});
      table_stores_[table.name] = store;
      // Restored from its own topic (restore_from: source): no changelog to draw.
      if (table.restore_from == ops::table_restore::changelog)
        edge(store, topic_node(changelog_of(sub, table.store_name()), "changelog"));
    }
    for (const auto& stream : sub.streams)
      table_topics.insert(stream.topic);  // enter at their join
    for (const auto& table : sub.joined_tables) table_topics.insert(table.topic);  // likewise
    std::vector<std::string> current;
    for (const auto& source : sub.sources) {
      for (const auto& topic : source.topics) {
        if (!table_topics.contains(topic)) current.push_back(topic_node(topic, "input"));
      }
    }
    // Each chain's results (its last nodes), by the name `from` gives it.
    std::map<std::string, std::vector<std::string>> results;
    results[sub.root_name()] =
        add_chain(sub, current, sub.steps, sub.aggregation, sub.table, sub.after, sub.sinks);
    for (const auto& b : sub.branches) {
      std::vector<std::string> inputs;
      for (const auto& parent : b.from) {
        for (const auto& node : results[parent]) inputs.push_back(node);
      }
      results[b.name] = add_chain(sub, inputs, b.steps, b.aggregation, b.table, b.after, b.sinks);
    }
  }

  // One chain from `current` on: its steps, its aggregation with its stores, the steps after it
  // and its sinks; returns the nodes its results come out of.
  std::vector<std::string> add_chain(const ops::sub_topology& sub, std::vector<std::string> current,
                                     const std::vector<ops::step>& steps,
                                     const std::optional<ops::windowed_aggregation_spec>& window,
                                     const std::optional<ops::table_aggregation_spec>& table,
                                     const std::vector<ops::step>& after,
                                     const std::vector<ops::sink_spec>& sinks) {
    current = step_nodes(sub, current, steps);
    std::string aggregation;
    std::vector<std::string> stores;
    if (window) {
      aggregation = add_node(
          sub, "window",
          fmt::format("{}: {} window", window->name, ops::to_string(window->window.kind)), current);
      if (window->late == ops::late_policy::side_topic) {
        edge(aggregation, topic_node(window->late_topic, "late"));
      }
      stores = {window->store_name(), window->meta_store_name()};
    } else if (table) {
      aggregation = add_node(sub, "table", fmt::format("{}: table", table->name), current);
      stores = {table->store_name()};
      if (table->emit_every.count() > 0) stores.push_back(table->pending_store_name());
    }
    if (!aggregation.empty()) {
      current = {aggregation};
      for (const auto& store : sub.stores) {
        if (std::find(stores.begin(), stores.end(), store.name) == stores.end()) continue;
        auto id = add_node(sub, "store",
                           fmt::format("{} ({})", store.name, ops::to_string(store.kind)), {});
        edge(aggregation, id);
        edge(id, topic_node(store.changelog_topic, "changelog"));
      }
    }
    current = step_nodes(sub, current, after);
    for (const auto& sink : sinks) {
      auto last = step_nodes(sub, current, sink.steps);
      for (const auto& name : sink.written_topics()) {
        const auto topic = topic_node(name, "output");
        for (const auto& from : last) edge(from, topic);
      }
    }
    return current;  // the results, which the sinks' steps drew from
  }

  // Steps drawn one after the other from the nodes `current`; returns the last step's node (or
  // `current` without steps). A step's stores and joined topics are drawn with it.
  std::vector<std::string> step_nodes(const ops::sub_topology& sub,
                                      std::vector<std::string> current,
                                      const std::vector<ops::step>& steps) {
    for (const auto& s : steps) {
      current = {
          add_node(sub, "step", fmt::format("{}: {}", s.name, ops::to_string(s.kind)), current)};
      if (auto table = table_stores_.find(s.table);
          s.kind == ops::step_kind::join && table != table_stores_.end()) {
        edge(table->second, current.front());
      }
      if (s.joins_stream()) add_stream_join(sub, s, current.front());
      if (const auto* joined = sub.joined_table_of(s)) {
        const auto names = ops::table_join_store_names(s);
        add_two_sided_join(sub, topic_node(joined->topic, "table"), current.front(),
                           {{names.left, "key_value"}, {names.right, "key_value"}});
      }
      std::vector<std::pair<std::string, ops::store_kind>> stores;
      for (const auto& store : s.stores)
        stores.emplace_back(ops::step_store_name(s, store.name), store.kind);
      if (auto time = ops::step_time_store_name(s); !time.empty())
        stores.emplace_back(std::move(time), ops::store_kind::key_value);
      if (s.kind == ops::step_kind::table_changes)
        stores.emplace_back(ops::table_changes_store_name(s), ops::store_kind::key_value);
      for (const auto& [name, kind] : stores) {
        const auto id = add_node(sub, "store", fmt::format("{} ({})", name, ops::to_string(kind)),
                                 {current.front()});
        edge(id, topic_node(changelog_of(sub, name), "changelog"));
      }
    }

    return current;
  }

  // A stream join: the other stream's topic feeds the join step, which keeps its stores.
  void add_stream_join(const ops::sub_topology& sub, const ops::step& s, const std::string& join) {
    std::string other;
    for (const auto& stream : sub.streams) {
      if (stream.name == s.stream) other = topic_node(stream.topic, "joined stream");
    }
    const auto names = ops::stream_join_store_names(s);
    std::vector<std::pair<std::string, std::string>> stores{{names.left, "window"},
                                                            {names.right, "window"}};
    for (const auto* store : {&names.pending, &names.time}) {
      if (!store->empty()) stores.emplace_back(*store, "key_value");
    }
    add_two_sided_join(sub, other, join, stores);
  }

  // A join with state on both sides: the other side's topic feeds the join step, which keeps its
  // stores (name, kind), each with its changelog.
  void add_two_sided_join(const ops::sub_topology& sub, const std::string& other_topic,
                          const std::string& join,
                          const std::vector<std::pair<std::string, std::string>>& stores) {
    if (!other_topic.empty()) edge(other_topic, join);
    for (const auto& [store, kind] : stores) {
      const auto id = add_node(sub, "store", fmt::format("{} ({})", store, kind), {join});
      edge(id, topic_node(changelog_of(sub, store), "changelog"));
    }
  }

  static std::string changelog_of(const ops::sub_topology& sub, const std::string& store) {
    for (const auto& s : sub.stores) {
      if (s.name == store) return s.changelog_topic;
    }
    return store + "-changelog";
  }

  std::string add_node(const ops::sub_topology& sub, std::string kind, std::string label,
                       const std::vector<std::string>& from) {
    auto id = fmt::format("s{}_{}_{}", sub.id, kind, counts_[fmt::format("{}{}", sub.id, kind)]++);
    graph_.nodes.push_back(graph_node{id, std::move(kind), "", std::move(label), sub.id});
    for (const auto& f : from) edge(f, id);
    return id;
  }

  // A topic has one node whichever sub-topology reads or writes it; internal topics keep their
  // role although one sub-topology writes them as its sink and the next reads them.
  std::string topic_node(const std::string& topic, std::string role) {
    if (auto found = topics_.find(topic); found != topics_.end()) return found->second;
    if (auto known = roles_.find(topic); known != roles_.end()) role = known->second;
    auto id = fmt::format("topic_{}", topics_.size());
    topics_[topic] = id;
    graph_.nodes.push_back(graph_node{id, "topic", std::move(role), topic, -1});
    return id;
  }

  void edge(const std::string& from, const std::string& to) {
    graph_.edges.push_back(graph_edge{from, to});
  }

  const ops::topology& t_;
  ops::topology_plan plan_;
  std::map<std::string, std::string> roles_;
  std::map<std::string, std::string> topics_;
  std::map<std::string, int> counts_;
  std::map<std::string, std::string> table_stores_;  // the sub-topology's tables: their store nodes
  topology_graph graph_;
};

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Nodes grouped by sub-topology (topics first, outside every group), in insertion order.
std::map<int, std::vector<const graph_node*>> by_sub_topology(const topology_graph& g) {
  std::map<int, std::vector<const graph_node*>> groups;
  for (const auto& n : g.nodes) groups[n.sub_topology].push_back(&n);
  return groups;
}

}  // namespace

topology_graph graph_of(const ops::topology& t) {
  return graph_builder(t).build();
}

std::string to_dot(const ops::topology& t) {
  const auto g = graph_of(t);
  std::string out = fmt::format("digraph {} {{\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n",
                                quoted(t.name));
  for (const auto& [sub, nodes] : by_sub_topology(g)) {
    const std::string indent = sub < 0 ? "  " : "    ";
    if (sub >= 0) {
      out += fmt::format("  subgraph cluster_{} {{\n    label=\"sub-topology {}\";\n", sub, sub);
    }
    for (const auto* n : nodes) {
      const char* shape = n->kind == "topic"   ? "box, style=rounded"
                          : n->kind == "store" ? "cylinder"
                                               : "ellipse";
      const auto label = n->role.empty() ? n->label : fmt::format("{}\\n({})", n->label, n->role);
      out += fmt::format("{}{} [label=\"{}\", shape={}];\n", indent, n->id, label, shape);
    }
    if (sub >= 0) out += "  }\n";
  }
  for (const auto& e : g.edges) out += fmt::format("  {} -> {};\n", e.from, e.to);
  return out + "}\n";
}

std::string to_mermaid(const ops::topology& t) {
  const auto g = graph_of(t);
  std::string out = "flowchart LR\n";
  for (const auto& [sub, nodes] : by_sub_topology(g)) {
    const std::string indent = sub < 0 ? "  " : "    ";
    if (sub >= 0) out += fmt::format("  subgraph sub{}[\"sub-topology {}\"]\n", sub, sub);
    for (const auto* n : nodes) {
      // Mermaid's quoted labels take no double quotes: #quot; is its escape.
      std::string label;
      for (char c : n->role.empty() ? n->label : fmt::format("{} ({})", n->label, n->role)) {
        label += c == '"' ? std::string("#quot;") : std::string(1, c);
      }
      if (n->kind == "topic") {
        out += fmt::format("{}{}([\"{}\"])\n", indent, n->id, label);
      } else if (n->kind == "store") {
        out += fmt::format("{}{}[(\"{}\")]\n", indent, n->id, label);
      } else {
        out += fmt::format("{}{}[\"{}\"]\n", indent, n->id, label);
      }
    }
    if (sub >= 0) out += "  end\n";
  }
  for (const auto& e : g.edges) out += fmt::format("  {} --> {}\n", e.from, e.to);
  return out;
}

namespace {

json::array sinks_json(const std::vector<ops::sink_spec>& list) {
  json::array sinks;
  for (const auto& sink : list) {
    json::object entry;
    if (sink.topic_from.empty()) {
      entry["topic"] = sink.topic;
    } else {
      entry["topic_from"] = sink.topic_from;
      json::array topics;
      for (const auto& topic : sink.topics) topics.emplace_back(topic);
      entry["topics"] = std::move(topics);
    }
    if (!sink.when.empty()) entry["when"] = sink.when;
    sinks.push_back(std::move(entry));
  }
  return sinks;
}

// A chain's steps and aggregation (and, for a branch, its sinks) as members of `out`.
void add_chain_json(json::object& out, const std::vector<ops::step>& chain_steps,
                    const std::optional<ops::windowed_aggregation_spec>& window,
                    const std::optional<ops::table_aggregation_spec>& table,
                    const std::vector<ops::sink_spec>& sinks) {
  json::array steps;
  for (const auto& step : chain_steps) {
    steps.push_back(json::object{{"name", step.name}, {"kind", ops::to_string(step.kind)}});
  }
  out["steps"] = std::move(steps);
  if (window) {
    out["aggregation"] = json::object{{"kind", "window"},
                                      {"name", window->name},
                                      {"window", ops::to_string(window->window.kind)}};
  } else if (table) {
    out["aggregation"] = json::object{{"kind", "table"}, {"name", table->name}};
  }
  if (!sinks.empty()) out["sinks"] = sinks_json(sinks);
}

}  // namespace

std::string to_json(const ops::topology& t) {
  const auto plan = ops::plan_topology(t);
  json::object root;
  root["name"] = t.name;
  root["delivery"] = ops::to_string(t.delivery);
  root["commit_interval_ms"] = t.effective_commit_interval().count();
  json::array subs;
  for (const auto& sub : plan.sub_topologies) {
    json::object s;
    s["id"] = sub.id;
    json::array sources;
    for (const auto& source : sub.sources) {
      for (const auto& topic : source.topics) sources.push_back(json::string(topic));
    }
    s["sources"] = std::move(sources);
    add_chain_json(s, sub.steps, sub.aggregation, sub.table, {});
    if (!sub.branch.empty()) s["branch"] = sub.branch;
    json::array stores;
    for (const auto& store : sub.stores) {
      stores.push_back(json::object{
          {"name", store.name},
          {"kind", ops::to_string(store.kind)},
          {"changelog", store.changelog_topic},
          {"restored_from", store.changelogged() ? store.changelog_topic : store.source_topic},
          {"retention_ms", store.retention.count()}});
    }
    s["stores"] = std::move(stores);
    s["sinks"] = sinks_json(sub.sinks);
    if (!sub.branches.empty()) {
      json::array branches;
      for (const auto& b : sub.branches) {
        json::object entry{{"name", b.name}};
        json::array from;
        for (const auto& parent : b.from) from.emplace_back(parent);
        entry["from"] = std::move(from);
        add_chain_json(entry, b.steps, b.aggregation, b.table, b.sinks);
        branches.push_back(std::move(entry));
      }
      s["branches"] = std::move(branches);
    }
    subs.push_back(std::move(s));
  }
  root["sub_topologies"] = std::move(subs);

  const auto g = graph_of(t);
  json::object topics;
  for (const auto& n : g.nodes) {
    if (n.kind != "topic") continue;
    auto& list = topics[n.role];
    if (!list.is_array()) list = json::array();
    list.as_array().push_back(json::string(n.label));
  }
  root["topics"] = std::move(topics);
  json::array nodes;
  for (const auto& n : g.nodes) {
    json::object node{{"id", n.id}, {"kind", n.kind}, {"label", n.label}};
    if (!n.role.empty()) node["role"] = n.role;
    if (n.sub_topology >= 0) node["sub_topology"] = n.sub_topology;
    nodes.push_back(std::move(node));
  }
  json::array edges;
  for (const auto& e : g.edges) edges.push_back(json::object{{"from", e.from}, {"to", e.to}});
  root["graph"] = json::object{{"nodes", std::move(nodes)}, {"edges", std::move(edges)}};
  return json::serialize(root) + "\n";
}

std::string describe_as(const ops::topology& t, describe_format format) {
  switch (format) {
    case describe_format::dot:
      return to_dot(t);
    case describe_format::mermaid:
      return to_mermaid(t);
    case describe_format::json:
      return to_json(t);
    case describe_format::text:
      break;
  }
  return describe_topology(t);
}

}  // namespace sluice::pipelines
