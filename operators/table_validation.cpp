// validate_table_source: the rules of a pipeline whose source is read as a table
// (topology_validation.hpp); the chain's own fields are checked by validate_topology like any
// other chain's.

#include <fmt/format.h>

#include "operators/aggregation.hpp"
#include "operators/topology_validation.hpp"

namespace sluice::operators {

namespace {

// A source read as a table feeds a table-table join, its first step, or a table aggregation of
// the main chain (`table:`) that regroups its updates, or both, in that order. Its records are
// updates, not events: each replaces the key's previous value (a null value deletes it).
class table_source_validator {
 public:
  table_source_validator(const topology& t, const function_registry& registry)
      : t_(t), registry_(registry) {}

  std::vector<topology_error> run() {
    check_sources();
    if (!t_.reads_table()) return std::move(errors_);
    check_join();
    if (t_.aggregation) {
      add("window",
          "the updates of a table are not windowed (a window would count updates, not rows; "
          "aggregate the table with table: instead)");
    }
    if (t_.aggregates_table()) {
      check_steps_before_table();
      check_inverses();
    }
    return std::move(errors_);
  }

 private:
  void add(std::string path, std::string message) {
    errors_.push_back(topology_error{std::move(path), std::move(message), std::nullopt});
  }

  void check_sources() {
    for (std::size_t i = 0; i < t_.sources.size(); ++i) {
      const auto& source = t_.sources[i];
      if (!source.as_table) continue;
      const auto path = fmt::format("sources[{}]", i);
      if (t_.sources.size() != 1) {
        add(path + ".as", "a source read as a table is the pipeline's only source");
      }
      if (source.topics.size() > 1) {
        add(path + ".topics", "a table is read from one topic");
      }
    }
  }

  // One join at most, a table-table join, first: its two-sided state is keyed like the source.
  // Without one, the updates go to the table aggregation.
  void check_join() {
    const bool joined = !t_.steps.empty() && t_.joins_tables(t_.steps.front());
    if (!joined && !t_.aggregates_table()) {
      add(t_.steps.empty() ? "steps" : step_path("steps", 0, t_.steps.front()),
          "a source read as a table is joined with a table by the first step (join: {table: "
          "NAME, type: inner|left|outer}) or aggregated (table:)");
    }
    for (std::size_t i = joined ? 1 : 0; i < t_.steps.size(); ++i) {
      const auto& s = t_.steps[i];
      if (s.kind != step_kind::join) continue;
      if (i > 0) {
        add(step_path("steps", i, s),
            "a pipeline whose source is a table joins once, in its first step");
      } else if (t_.aggregates_table()) {  // else reported above
        add(step_path("steps", i, s),
            "a source read as a table joins a table (join: {table: NAME}), not a stream");
      }
    }
  }

  // Each update reaches the aggregation as two records, the key's previous value to subtract
  // (marked by a header) and its new value to add, through the steps between them one by one:
  // the stateless built-in steps keep the mark and treat both alike, so the old value reaches the
  // group it was added to. A user function or a processor may drop the mark or keep state of
  // records that are not events.
  void check_steps_before_table() {
    for (std::size_t i = 0; i < t_.steps.size(); ++i) {
      const auto& s = t_.steps[i];
      if (s.kind == step_kind::user || s.kind == step_kind::processor) {
        add(step_path("steps", i, s),
            "between a table and its aggregation only filter, map, select_key, flat_map and "
            "set_timestamp steps run: each update goes through as its old value (to subtract) and "
            "its new one (to add), and a user function or processor could not tell them apart");
      }
    }
  }

  // Taking a key's old value out of its group needs an inverse of each aggregation.
  void check_inverses() {
    const auto& list = t_.table->aggregations;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto& g = list[i];
      const auto path = fmt::format("table.aggregate[{}].function", i);
      switch (g.function) {
        case aggregate_function::count:
        case aggregate_function::sum:
        case aggregate_function::avg:
          break;
        case aggregate_function::user: {
          const auto registered = registry_.find_aggregate(g.user_function);
          if (registered != nullptr && !registered->subtracts()) {
            add(path, fmt::format("user aggregate '{}' has no subtract (user_aggregate::subtract, "
                                  "aggregation::subtract): aggregating a table takes each key's "
                                  "previous value back out of its group",
                                  g.user_function));
          }
          break;
        }
        default:
          add(path, fmt::format("{} cannot aggregate a table: when a key's value changes or is "
                                "deleted, its old value leaves its group, and {} has no inverse "
                                "to take it back out (it would need every value of the group; "
                                "Kafka Streams asks for a subtractor too); count, sum, avg and "
                                "user aggregates with a subtract can",
                                to_string(g.function), to_string(g.function)));
          break;
      }
    }
  }

  const topology& t_;
  const function_registry& registry_;
  std::vector<topology_error> errors_;
};

}  // namespace

std::vector<topology_error> validate_table_source(const topology& t,
                                                  const function_registry& registry) {
  return table_source_validator(t, registry).run();
}

}  // namespace sluice::operators
