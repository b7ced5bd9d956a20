#pragma once

// topology: a pipeline graph as plain data. The YAML loader (pipelines/spec) and the C++ builder
// both produce one, and a test checks they produce the SAME one (operator==), so everything here
// is comparable data: expressions are kept as source text, user C++ functions by their name in a
// function_registry.
//
// Shape (one linear pipeline, like a Kafka Streams DSL chain):
//
//   sources ──steps──▶ [windowed or table aggregation ──after steps──▶] sinks (each: when ▶ steps)
//
// A source read as a table (source_spec::as_table) is joined with a table from `tables` by its
// first step: a table-table join (Kafka Streams' KTable#join / leftJoin / outerJoin) whose
// results, a changelog of the joined table (a null value deletes the key), go on through the
// later steps to the sinks; and/or the main chain's table aggregation regroups the table's
// updates, each taking the key's previous value out of its group (table_changes_step).
//
// A table aggregation groups by key with no window (Kafka Streams' groupByKey().aggregate()):
// one running result per key, kept in a key-value store, a KTable whose every update is emitted.
//
// plan_topology() splits it into sub-topologies: when a step before a key-dependent node (a join
// step, the aggregation) may change the key (select_key, flat_map with a key, a user function
// declaring changes_key), records must be regrouped by the new key first, so the sub-topology
// before it writes to the internal topic `<app>-<step>-repartition` (named after the last step
// that changed the key) and the next one reads it, as Kafka Streams does; a pipeline that
// re-keys before a join and again before its aggregation has three sub-topologies. Aggregate state
// lives in stores whose changelog topics are `<app>-<store>-changelog`.
//
// Branches make the pipeline a graph (a DAG of named chains, `branches`): a branch runs in the
// sub-topology of its parents, after them, unless records reach one of its key-dependent nodes
// keyed otherwise than they are partitioned (a key change upstream: in a parent after its last
// repartition, or in the branch's own steps before that node), or its parents (a merge) run in
// different sub-topologies. Then the steps before that node run in each parent's sub-topology
// and write `<app>-<branch>-repartition`, and the rest of the branch, with the branches that
// descend from it, is a sub-topology of its own reading that topic (its root chain).

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "operators/data_format.hpp"

namespace sluice::operators {

using duration = std::chrono::milliseconds;

enum class delivery_guarantee : std::uint8_t { at_most_once, at_least_once, exactly_once };
std::string_view to_string(delivery_guarantee guarantee);
std::optional<delivery_guarantee> parse_delivery_guarantee(std::string_view name);

struct source_spec {
  std::vector<std::string> topics;
  data_format key_format = data_format::string;
  data_format value_format = data_format::json;
  std::string cluster;  // a name from topology::clusters; empty: the default cluster
  // Read as a table (one topic: the latest value per key, a null value deletes it): the left side
  // of a table-table join in the first step, or the input of a table aggregation, or both.
  bool as_table = false;
  bool operator==(const source_spec&) const = default;
};

// Where a table's store is restored from after a restart or a move. `changelog`: its own
// changelog topic `<app>-<name>-table-changelog`, every row written a second time (Kafka
// Streams' default). `source`: the table's topic itself, read from the start up to the group's
// committed offset of that partition, with no changelog (Kafka Streams' source-topic
// optimisation, topology.optimization=all): the topic should then be compacted, or rows that
// retention deleted are gone from the restored table too.
enum class table_restore : std::uint8_t { changelog, source };
std::string_view to_string(table_restore restore);
std::optional<table_restore> parse_table_restore(std::string_view name);

// A topic read as a table: the latest value per key (a null value deletes the key), kept in the
// key-value store "<name>-table" and looked up by `join` steps. The stream and the table must be
// co-partitioned (the same partition count, keys partitioned alike), which the runtime checks.
struct table_source_spec {
  std::string name;  // what join steps refer to
  std::string topic;
  data_format key_format = data_format::string;
  data_format value_format = data_format::json;
  std::string cluster;  // like source_spec::cluster: every source and table is on one cluster
  table_restore restore_from = table_restore::changelog;
  bool operator==(const table_source_spec&) const = default;

  std::string store_name() const { return name + "-table"; }
};

// A second stream, joined by a stream-stream join step (`join: {stream, within}`): its records
// go straight into that join (no steps before it) and what the join emits continues with the
// steps after it. Co-partitioned with the main stream, like a table.
struct stream_source_spec {
  std::string name;  // what the join step refers to
  std::string topic;
  data_format key_format = data_format::string;
  data_format value_format = data_format::json;
  std::string cluster;  // like source_spec::cluster: every source, table and stream on one cluster
  bool operator==(const stream_source_spec&) const = default;
};

enum class step_kind : std::uint8_t {
  filter,
  map,
  select_key,
  flat_map,
  set_timestamp,
  user,
  join,
  processor,
  // Put by plan_topology only, never in a topology: where a table's updates enter a chain that
  // aggregates them (table_changes_step).
  table_changes
};
std::string_view to_string(step_kind kind);

enum class store_kind : std::uint8_t { key_value, window, session };
std::string_view to_string(store_kind kind);
std::optional<store_kind> parse_store_kind(std::string_view name);

// A store a processor step declares (`stores:`), planned as "<step>-<name>" with a changelog:
// a key-value store (a plain name declares one), a window store (values per key and window start;
// `window` is the size of the processor's windows, `retention` how long past stream time a window
// stays, at least `window`), or a session store (values per key and [start, end], kept
// `retention` past stream time). Kafka Streams' Stores.keyValueStoreBuilder /
// persistentWindowStore / persistentSessionStore.
struct store_spec {
  std::string name;
  store_kind kind = store_kind::key_value;
  duration retention{0};  // window, session
  duration window{0};     // window
  store_spec() = default;
  // A key-value store by name, so that `{"seen", "counts"}` declares key-value stores.
  store_spec(std::string store_name) : name(std::move(store_name)) {}
  store_spec(const char* store_name) : name(store_name) {}
  bool operator==(const store_spec&) const = default;
};
store_spec window_store_spec(std::string name, duration retention, duration window);
store_spec session_store_spec(std::string name, duration retention);

// A stream-table join: inner drops a record whose key the table lacks, left keeps it with null.
// A stream-stream join also has outer (both sides kept, each with null for a missing other).
enum class join_kind : std::uint8_t { inner, left, outer };
std::string_view to_string(join_kind kind);
std::optional<join_kind> parse_join_kind(std::string_view name);

// `map` builds the new value either from one expression or, when `fields` is not empty, as an
// object with one member per field.
struct field_expression {
  std::string name;
  std::string expression;
  bool operator==(const field_expression&) const = default;
};

struct step {
  step_kind kind = step_kind::filter;
  std::string name;        // unique in the pipeline; the loader/builder default is "<kind>-<n>"
  std::string expression;  // filter: predicate; map: new value; select_key: new key;
                           // flat_map: an array, one record per element; set_timestamp: millis
  std::vector<field_expression> fields;  // map only
  std::string key_expression;            // flat_map only: the key of each element (re-keys)
  std::string function;                  // user, processor: name in the function_registry
  bool changes_key = false;              // user, processor: it may change the key
  std::vector<store_spec> stores;        // processor only: its stores, each planned as
                                         // "<step>-<store>" with a changelog
  std::string table;                     // join only: the table_source_spec's name;
                                         // table_changes: the table aggregation's name
  std::string stream;                    // join only: the stream_source_spec's name (instead of
                                         // a table: a stream-stream join)
  duration within{0};                    // stream join: how far apart the two timestamps may be
  duration grace{0};                     // stream join: how late a record may still join
  join_kind join = join_kind::inner;     // join only
  std::string into;                      // join only: the value's member that gets the table's
                                         // (or the other stream's) value (default: its name)
  bool operator==(const step&) const = default;

  bool joins_stream() const { return kind == step_kind::join && !stream.empty(); }
};

// True when the step may give a record a different key (so a later aggregation must repartition).
bool changes_key(const step& s);
// The store plan name of a processor step's store.
std::string step_store_name(const step& s, const std::string& store);
// A processor step with stores keeps its task's stream time and its stream-time punctuation
// schedule in the key-value store "<step>-time" (like a stream join), so that a restarted task
// punctuates as an uninterrupted one would; empty for a step without stores. "time" is therefore
// no name for a declared store.
std::string step_time_store_name(const step& s);
inline constexpr std::string_view reserved_time_store = "time";

// The stores of a stream-stream join step: each side's records buffered in a window store
// (retention 2 * within + grace: a record must stay visible to every record of the other side
// that may still join it), and for left and outer joins the records still without a partner
// ("<step>-pending", key-value) plus the join's stream time ("<step>-time").
struct stream_join_stores {
  std::string left;
  std::string right;
  std::string pending;  // empty for an inner join
  std::string time;     // empty for an inner join
};
stream_join_stores stream_join_store_names(const step& s);
duration stream_join_retention(const step& s);

// The stores of a table-table join step: each side's latest value per key with its timestamp
// (Kafka Streams' timestamped key-value stores), "<step>-left" and "<step>-right", both
// changelogged. The join keeps its own copy of the right table rather than the table's
// "<name>-table" store, so the encoding with timestamps stays the join's business.
struct table_join_stores {
  std::string left;
  std::string right;
};
table_join_stores table_join_store_names(const step& s);

// Where results go. A pipeline has one or more sinks (branches): each result goes to every sink
// whose `when` predicate holds (no predicate: every result), through the sink's own stateless
// steps, encoded with the sink's formats.
struct sink_spec {
  std::string topic;  // empty when the topic comes from topic_from
  data_format key_format = data_format::string;
  data_format value_format = data_format::json;
  std::string when;  // a predicate on the result; empty: always
  std::vector<step>
      steps;  // stateless steps of this sink only (their default names: "<topic>-<kind>-<n>")
  // A name from topology::clusters; empty: the default cluster. A sink off the sources' cluster
  // (its "home") is written by a producer of its own, outside any transaction: refused under
  // exactly_once, whose transaction covers one cluster only.
  std::string cluster;
  // The topic per record: an expression over the result (e.g. concat('orders-', value.region))
  // that must give one of `topics`, which are created at start like a fixed sink's. A record
  // whose expression gives anything else is a processing error (on_error decides), never a
  // write to a topic nobody declared.
  std::string topic_from;
  std::vector<std::string> topics;
  bool operator==(const sink_spec&) const = default;
  // Every topic this sink may write: `topic`, or `topics` under topic_from.
  std::vector<std::string> written_topics() const {
    return topic_from.empty() ? std::vector<std::string>{topic} : topics;
  }
  // How messages name the sink: its topic, or its expression.
  std::string label() const { return topic_from.empty() ? topic : "topic_from " + topic_from; }
};

enum class window_kind : std::uint8_t { tumbling, hopping, session };
std::string_view to_string(window_kind kind);

struct window_spec {
  window_kind kind = window_kind::tumbling;
  duration size{0};     // tumbling, hopping
  duration advance{0};  // hopping
  duration gap{0};      // session: inactivity gap
  duration grace{0};    // how long after a window ends records are still accepted
  bool operator==(const window_spec&) const = default;
};

enum class aggregate_function : std::uint8_t {
  count,
  sum,
  min,
  max,
  avg,
  first,
  last,
  count_distinct,
  user
};
std::string_view to_string(aggregate_function function);
std::optional<aggregate_function> parse_aggregate_function(std::string_view name);

struct aggregation_spec {
  std::string output;  // member name in the output value
  aggregate_function function = aggregate_function::count;
  std::string expression;     // the aggregated input; empty: count counts records
  std::string user_function;  // function == user: name in the function_registry
  bool operator==(const aggregation_spec&) const = default;
};

enum class emit_mode : std::uint8_t { every_update, on_close };
std::string_view to_string(emit_mode mode);
enum class late_policy : std::uint8_t { drop, side_topic };
std::string_view to_string(late_policy policy);

struct windowed_aggregation_spec {
  std::string name = "window";  // names the stores: "<name>-store", "<name>-meta"
  window_spec window;
  std::string time_expression;  // event time in millis; empty: the record timestamp
  std::vector<aggregation_spec> aggregations;
  emit_mode emit = emit_mode::every_update;
  late_policy late = late_policy::drop;
  std::string late_topic;  // late == side_topic
  bool operator==(const windowed_aggregation_spec&) const = default;

  std::string store_name() const { return name + "-store"; }
  std::string meta_store_name() const { return name + "-meta"; }
};

// Group by key, no window: one state per key in the key-value store "<name>-store", emitted as
// {<aggregates>} after every record that updated it; the timestamp is the largest one folded in.
//
// With emit_every > 0 a key's result goes out at most once per interval (Kafka Streams'
// suppress): updated keys wait in the key-value store "<name>-pending" (changelogged, so a crash
// loses none of them) and each interval's punctuation emits their latest results.
struct table_aggregation_spec {
  std::string name = "table";
  std::vector<aggregation_spec> aggregations;
  duration emit_every{0};  // 0: every update
  bool operator==(const table_aggregation_spec&) const = default;

  std::string store_name() const { return name + "-store"; }
  std::string pending_store_name() const { return name + "-pending"; }
  // Aggregating a table's updates: each input key's previous value (table_changes_step).
  std::string previous_store_name() const { return name + "-previous"; }
};

// The step plan_topology puts where a table's updates come out (the first in a chain whose source
// is read as a table, or right after its table-table join) when the chain aggregates them
// (`table:`): "<table>-changes", which keeps each input key's previous value in the key-value
// store previous_store_name() (changelogged) and sends it to be subtracted from its old group
// before the new value is added to its new one (operators/table_changes.hpp, Kafka Streams'
// KTable#groupBy(...).aggregate(adder, subtractor)).
step table_changes_step(const table_aggregation_spec& table);
std::string table_changes_store_name(const step& s);

// The name `from` gives the main chain (sources → steps → aggregation → after), whose results
// are what its sinks get.
inline constexpr std::string_view main_chain = "main";

// A branch: a named chain of its own fed by the results of one or more earlier nodes (`from`:
// the main chain, or an earlier branch; several make a merge, which gets every parent's
// results), with its own steps, an optional windowed or table aggregation, steps after it, and
// sinks. A branch's results go to its sinks and to the branches that name it in their `from`.
// Kafka Streams' KStream#split / #merge and a DSL chain per branch; the planner below decides
// where each branch runs.
struct branch_spec {
  std::string name;
  std::vector<std::string> from;
  std::vector<step> steps;
  std::optional<windowed_aggregation_spec> aggregation;
  std::optional<table_aggregation_spec> table;
  std::vector<step> after;
  std::vector<sink_spec> sinks;
  bool operator==(const branch_spec&) const = default;

  bool aggregates() const { return aggregation || table; }
};

// Several clusters: sources, tables and sinks may name a cluster (`cluster`), one of the names
// the topology declares in `clusters`; an empty name is the default cluster (the command line's).
// The topology holds only the names: where each cluster is and how to reach it is the runtime's
// configuration (runtime_config::clusters), filled from the pipeline file's `clusters:` section.
// The consumer group, its offsets and the internal topics (repartition, changelogs) live on the
// home cluster, the one every source and table is on.
struct topology {
  std::string name;  // the application id: consumer group, transactional id prefix, topic names
  delivery_guarantee delivery = delivery_guarantee::at_least_once;
  std::optional<duration> commit_interval;  // nullopt: default_commit_interval(delivery)
  std::vector<source_spec> sources;
  std::vector<table_source_spec> tables;    // topics read as tables, for join steps
  std::vector<stream_source_spec> streams;  // second streams, for stream-stream join steps
  std::vector<step> steps;
  std::optional<windowed_aggregation_spec> aggregation;
  std::optional<table_aggregation_spec> table;  // at most one of aggregation and table
  std::vector<step> after;                      // steps after the aggregation
  std::vector<sink_spec> sinks;       // may be empty when branches take the main chain's results
  std::vector<branch_spec> branches;  // each `from` earlier nodes only: a DAG
  std::set<std::string> clusters;     // the named clusters sources, tables and sinks may refer to
  bool operator==(const topology&) const = default;

  // The main chain's sinks, then each branch's.
  std::vector<const sink_spec*> every_sink() const;
  // The main chain's windowed aggregation (if any), then each branch's.
  std::vector<const windowed_aggregation_spec*> windowed_aggregations() const;

  bool aggregates() const { return aggregation || table; }
  // The source is read as a table: the first step is a table-table join.
  bool reads_table() const { return !sources.empty() && sources.front().as_table; }
  // The source is read as a table and the main chain aggregates its updates (`table:`), each
  // update subtracting the key's previous value from its group (table_changes_step).
  bool aggregates_table() const { return reads_table() && table.has_value(); }
  // Whether `s` (a step of `steps`) joins the source table with a table: a table-table join.
  bool joins_tables(const step& s) const {
    return reads_table() && s.kind == step_kind::join && !s.table.empty();
  }
  // The cluster of the sources (empty: the default one), where the group and internal topics live.
  const std::string& home_cluster() const;

  duration effective_commit_interval() const;
};

// Kafka Streams' defaults: 100 ms under exactly-once, 30 s otherwise.
duration default_commit_interval(delivery_guarantee guarantee);

// ---- planning ----

struct store_plan {
  std::string name;
  store_kind kind = store_kind::key_value;
  std::string changelog_topic;  // <app>-<store>-changelog; empty when restored from a source
  duration retention{0};        // window and session stores
  // A table restored from its own topic (table_restore::source): that topic, one of the
  // sub-topology's sources, instead of a changelog. The store is restored from it up to the
  // group's committed offset and commits with the task's position in it.
  std::string source_topic{};
  bool changelogged() const { return source_topic.empty(); }
  bool operator==(const store_plan&) const = default;
};

struct sub_topology {
  int id = 0;
  std::vector<source_spec> sources;         // the tables' topics too
  std::vector<table_source_spec> tables;    // read by this sub-topology's join steps
  std::vector<stream_source_spec> streams;  // joined by this sub-topology's stream join steps
  // Joined to the source table by this sub-topology's table-table join step (the right side):
  // its records enter at that step, which keeps them in its own store (table_join_stores).
  std::vector<table_source_spec> joined_tables;
  bool reads_internal = false;  // sources are the repartition topic
  std::vector<step> steps;
  std::optional<windowed_aggregation_spec> aggregation;
  std::optional<table_aggregation_spec> table;
  // The root chain's table aggregation folds a table's updates: records with the subtract
  // header are taken out of their group (table_changes.hpp).
  bool folds_table_changes = false;
  std::vector<step> after;
  std::vector<sink_spec> sinks;  // the pipeline's, or the one repartition topic
  bool writes_internal = false;  // the sink is the repartition topic (JSON key and value)
  std::vector<store_plan> stores;
  // The branch whose chain the fields above are (the sub-topology's root chain, which reads its
  // repartition topic); empty: the pipeline's main chain.
  std::string branch;
  // The branches (or their parts before a repartition) that run in this sub-topology, in
  // declaration order; each `from` names the root chain (by `branch`, or main_chain) or an
  // earlier one of them.
  std::vector<branch_spec> branches;
  bool operator==(const sub_topology&) const = default;

  // The name `from` gives the root chain: `branch`, or main_chain.
  std::string root_name() const { return branch.empty() ? std::string(main_chain) : branch; }

  // The right side of `s` when it is this sub-topology's table-table join step, else null.
  const table_source_spec* joined_table_of(const step& s) const;
};

struct topology_plan {
  std::vector<sub_topology> sub_topologies;
  std::vector<std::string> repartition_topics;
  std::vector<std::string> changelog_topics;  // only the stores that have one
  bool operator==(const topology_plan&) const = default;
};

// Splits a (valid) topology into sub-topologies, see the file comment.
topology_plan plan_topology(const topology& t);

// How long a window or session store keeps data: the time a window stays open (size or gap)
// plus grace, so that a window is always closed (and emitted) before it expires.
duration store_retention(const windowed_aggregation_spec& aggregation);

}  // namespace sluice::operators
