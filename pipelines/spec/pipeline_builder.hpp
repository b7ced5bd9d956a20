#pragma once

// pipeline_builder: the C++ way to write a pipeline. It builds the same operators::topology the
// YAML loader builds from the equivalent file (same default step names "<kind>-<n>", same
// defaults), and build() runs the same validate_topology, so a graph is accepted or rejected
// identically whichever way it was written. Steps added after window() or table() go after the
// aggregation; aggregate() adds to whichever of the two was called.
//
//   auto t = pipeline_builder("page-views")
//                .delivery(delivery_guarantee::exactly_once)
//                .source({"views"})
//                .filter(R"(value.status == "ok")")
//                .select_key("value.page")
//                .window(tumbling(1min).grace(10s).emit(emit_mode::on_close))
//                .aggregate("views", aggregate_function::count)
//                .to("view-counts")
//                .build();
//
//   auto counts = pipeline_builder("visit-counter")        // a count per key, no window
//                     .source({"visits"})
//                     .table("visits")
//                     .aggregate("visits", aggregate_function::count)
//                     .to("visit-counts")
//                     .build();
//
//   auto regions = pipeline_builder("customers-per-region")  // a table regrouped
//                      .source_table("customers")
//                      .select_key("value.region")
//                      .table("per-region")
//                      .aggregate("customers", aggregate_function::count)
//                      .to("customers-per-region")
//                      .build();
//
//   auto accounts = pipeline_builder("account-owners")     // a table-table join
//                       .source_table("accounts")
//                       .table_source("owners", "owners")
//                       .join("owners", join_kind::left, "owner")
//                       .to("accounts-with-owners")
//                       .build();
//
//   auto orders = pipeline_builder("order-stats")        // one input, two aggregations
//                     .source({"orders"})
//                     .branch("per-customer", {"main"})
//                     .table()
//                     .aggregate("orders", aggregate_function::count)
//                     .to("orders-per-customer")
//                     .branch("per-region", {"main"})
//                     .select_key("value.region")
//                     .window(tumbling(1h))
//                     .aggregate("revenue", aggregate_function::sum, "value.amount")
//                     .to("revenue-per-region")
//                     .build();
//
//   auto migration = pipeline_builder("orders-migration")  // from one cluster to another
//                        .cluster("old")
//                        .cluster("new")
//                        .source(source_spec{.topics = {"orders"}, .cluster = "old"})
//                        .to(sink_spec{.topic = "orders", .cluster = "new"})
//                        .build();

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "operators/function_registry.hpp"
#include "operators/topology.hpp"
#include "operators/topology_validation.hpp"

namespace sluice::pipelines {

// build() failed: every validation error, each naming its field path.
class pipeline_error : public std::runtime_error {
 public:
  explicit pipeline_error(std::vector<operators::topology_error> errors);
  const std::vector<operators::topology_error>& errors() const { return errors_; }

 private:
  std::vector<operators::topology_error> errors_;
};

// A window and its options; make one with tumbling(), hopping() or session().
class window_builder {
 public:
  window_builder& grace(operators::duration d);
  window_builder& time(std::string expression);
  window_builder& emit(operators::emit_mode mode);
  window_builder& late_to(std::string topic);
  window_builder& name(std::string name);

 private:
  friend class pipeline_builder;
  friend window_builder tumbling(operators::duration size);
  friend window_builder hopping(operators::duration size, operators::duration advance);
  friend window_builder session(operators::duration gap);
  operators::windowed_aggregation_spec spec_;
  bool named_ = false;  // name() was called (else a branch's window takes the branch's name)
};

window_builder tumbling(operators::duration size);
window_builder hopping(operators::duration size, operators::duration advance);
window_builder session(operators::duration gap);

class pipeline_builder {
 public:
  explicit pipeline_builder(std::string name);

  pipeline_builder& delivery(operators::delivery_guarantee guarantee);
  pipeline_builder& commit_interval(operators::duration interval);
  pipeline_builder& source(std::vector<std::string> topics,
                           operators::data_format key_format = operators::data_format::string,
                           operators::data_format value_format = operators::data_format::json);
  // A source with every field, e.g. on a named cluster:
  // source(source_spec{.topics = {"orders"}, .cluster = "old"}).
  pipeline_builder& source(operators::source_spec source);
  // The source read as a table (the latest value per key, a null value deletes it): the first
  // step joins it with a table_source() (join(): inner, left or outer), a table-table join whose
  // results are the joined table's changelog; and/or table() aggregates its updates, regrouped
  // by the steps between (select_key), a key's previous value leaving its group as its new one
  // joins (count, sum, avg, user aggregates with a subtract).
  pipeline_builder& source_table(
      std::string topic, operators::data_format key_format = operators::data_format::string,
      operators::data_format value_format = operators::data_format::json);
  // Declares a named cluster that sources, tables and sinks may name (the YAML file's `clusters:`
  // keys). Where it is and how to reach it goes to the runtime (runtime_config::clusters).
  pipeline_builder& cluster(std::string name);

  // Steps; `name` empty means the default "<kind>-<n>" ("after-<kind>-<n>" after the window).
  pipeline_builder& filter(std::string predicate, std::string name = {});
  pipeline_builder& map(std::string expression, std::string name = {});
  pipeline_builder& map_fields(std::vector<operators::field_expression> fields,
                               std::string name = {});
  pipeline_builder& select_key(std::string expression, std::string name = {});
  pipeline_builder& flat_map(std::string values, std::string key = {}, std::string name = {});
  pipeline_builder& set_timestamp(std::string expression, std::string name = {});
  pipeline_builder& user(std::string function, bool changes_key = false, std::string name = {});
  // A user processor (operators/processor.hpp) registered as `processor`, with its stores: a
  // name declares a key-value store, operators::window_store_spec and session_store_spec the
  // others (YAML `stores: [seen, {name: recent, kind: window, retention: 1h, window: 5m}]`).
  pipeline_builder& process(std::string processor, std::vector<operators::store_spec> stores = {},
                            bool changes_key = false, std::string name = {});
  // A stream-table join with a table from table_source() (after source_table(): a table-table
  // join); `into` empty: the table's name.
  pipeline_builder& join(std::string table, operators::join_kind kind = operators::join_kind::inner,
                         std::string into = {}, std::string name = {});

  // A stream-stream join with a stream from stream_source(): records of both with the same key
  // whose timestamps are at most `within` apart, accepted up to `grace` late; `into` empty: the
  // stream's name.
  pipeline_builder& join_stream(std::string stream, operators::duration within,
                                operators::join_kind kind = operators::join_kind::inner,
                                std::string into = {},
                                operators::duration grace = operators::duration{0},
                                std::string name = {});
  // A second stream, for join_stream(); `name` is what join_stream() uses.
  pipeline_builder& stream_source(
      std::string name, std::string topic,
      operators::data_format key_format = operators::data_format::string,
      operators::data_format value_format = operators::data_format::json);

  // A topic read as a table (the latest value per key), for join(); `name` is what join() uses.
  // `restore_from` source: its store is restored from `topic` itself, with no changelog (the YAML
  // entry's `restore_from: source`; the topic should be compacted).
  pipeline_builder& table_source(
      std::string name, std::string topic,
      operators::data_format key_format = operators::data_format::string,
      operators::data_format value_format = operators::data_format::json,
      operators::table_restore restore_from = operators::table_restore::changelog);
  pipeline_builder& table_source(operators::table_source_spec table);

  pipeline_builder& window(window_builder w);
  // Group by key with no window; `name` names the store ("<name>-store"); `emit_every` > 0: at
  // most one result per key per interval.
  // In a branch the default name is the branch's.
  pipeline_builder& table(std::string name = {},
                          operators::duration emit_every = operators::duration{0});
  pipeline_builder& aggregate(std::string output, operators::aggregate_function function,
                              std::string expression = {});
  pipeline_builder& aggregate_user(std::string output, std::string function,
                                   std::string expression = {});

  // A sink; call again for several (branches). With `when`, only results the predicate holds for
  // go there; `steps` are that sink's own stateless steps (their names default like the YAML
  // loader's: "sink-<kind>-<n>" with one sink, "sink<i>-<kind>-<n>" with several).
  pipeline_builder& to(std::string topic,
                       operators::data_format key_format = operators::data_format::string,
                       operators::data_format value_format = operators::data_format::json);
  pipeline_builder& to(operators::sink_spec sink);

  // Starts a branch (the YAML file's `branches:` entry): the calls after it (steps, window or
  // table, aggregate, steps after it, to) build the branch `name`, fed by the results of `from`:
  // "main" (the chain built before the first branch() call) or earlier branches, several for a
  // merge. Default names are the YAML loader's: steps "<name>-<kind>-<n>", the window's or
  // table's stores "<name>-store".
  pipeline_builder& branch(std::string name, std::vector<std::string> from);

  // Validates; throws pipeline_error listing every problem.
  operators::topology build(const operators::function_registry& registry = {}) const;
  // The topology as written, unvalidated.
  const operators::topology& peek() const { return topology_; }

 private:
  // The chain the calls build: the main chain, or the last branch() (`branch`: its name).
  struct chain_fields {
    std::vector<operators::step>& steps;
    std::optional<operators::windowed_aggregation_spec>& aggregation;
    std::optional<operators::table_aggregation_spec>& table;
    std::vector<operators::step>& after;
    std::vector<operators::sink_spec>& sinks;
    std::string branch;
  };
  chain_fields current();
  pipeline_builder& add(operators::step s, std::string name);
  std::vector<operators::aggregation_spec>& aggregations(const char* caller);

  operators::topology topology_;
};

}  // namespace sluice::pipelines
