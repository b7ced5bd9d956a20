#pragma once

// sub_topology_processor: everything one task does to one input record of a sub-topology, without
// the runtime: decode the key and value with the source's formats, run the steps, the windowed
// or table aggregation and the steps after it, and encode the results for each sink whose `when`
// holds, after that sink's own steps (or for the repartition topic), plus late records for the
// side topic. The runtime feeds it records of one input
// partition and writes what it returns; tests and `sluice test` do the same in memory.
//
// A record either succeeds as a whole or returns a processing_error with nothing emitted (the
// runtime's error policy decides to skip it or stop). The stores are untouched too, except when
// a flat_map fanned the record out and a later element failed: the earlier elements' windows
// stay updated in the uncommitted stores, which the runtime's commit or abort settles; and the
// processor steps' time stores, since a record that fails still moves stream time.
// Late records on the side topic are keyed with the first sink's key format and carry JSON values.
//
// A record of a table's topic (plan.tables) updates that table's store (put, or remove for a
// null value; a record without a key is ignored) and emits nothing; join steps read the store.
// A record of a joined stream's topic (plan.streams) enters at its stream join step (the join's
// right side); what the join emits goes through the steps after it. So does a record of the table
// joined to a source read as a table (plan.joined_tables), at the table-table join step.
//
// Every decoded input record (tables' and joined streams' included) advances the task's stream
// clock, which each processor step keeps in its time store; after the record, each runs its
// stream-time punctuation when due (processor.hpp), whose output follows the record's.
//
// One task's thread. Holds references to the topology's parts, the provider and the registry:
// they must outlive it.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "operators/function_registry.hpp"
#include "operators/operator_metrics.hpp"
#include "operators/step_processor.hpp"
#include "operators/store_provider.hpp"
#include "operators/table_aggregator.hpp"
#include "operators/topology.hpp"
#include "operators/windowed_aggregator.hpp"

namespace sluice::operators {

class sub_topology_processor {
 public:
  // Throws std::invalid_argument for a topology that does not pass validate_topology.
  sub_topology_processor(const sub_topology& plan, store_provider& stores,
                         const function_registry& registry);

  // Appends the records to write to `out` (only when the record succeeded as a whole).
  std::optional<processing_error> process(const raw_record& in, std::vector<output_record>& out);

  // Whether a punctuation is due at `wall_clock_ms` (a table's emit_every, a processor's
  // punctuate_every; the first one an interval after the first call).
  bool punctuation_due(std::int64_t wall_clock_ms);
  // Runs what is due; what it emits goes through the rest of the pipeline into `out`.
  std::optional<processing_error> punctuate(std::int64_t wall_clock_ms,
                                            std::vector<output_record>& out);

  const sub_topology& plan() const { return plan_; }
  const operator_metrics& metrics() const { return metrics_; }
  // Stream time of the windowed aggregation, -1 without one or before the first record.
  std::int64_t stream_time() const;

 private:
  const source_spec* source_for(const std::string& topic) const;
  void update_table(state::kv_store& table, const record& r);
  std::optional<processing_error> run_steps(const std::vector<step_processor>& steps,
                                            std::vector<record>& records, std::size_t first = 0);
  // Steps from `first_step` on, the aggregation, then emit().
  std::optional<processing_error> continue_from(std::size_t first_step, std::vector<record> records,
                                                std::vector<output_record>& produced);
  // The steps after the aggregation, then the sinks.
  std::optional<processing_error> emit(std::vector<record> results,
                                       std::vector<output_record>& produced);
  // Whether the interval that ends at `due` (-1: not started) is over; starts or restarts it.
  static bool interval_over(std::int64_t& due, std::int64_t now, std::chrono::milliseconds every);
  std::optional<processing_error> encode_all(const std::vector<record>& records,
                                             const std::string& topic, data_format key_format,
                                             data_format value_format,
                                             std::vector<output_record>& out) const;

  sub_topology plan_;
  // The task's stream time, read by its processor steps; declared before them, which hold it.
  std::unique_ptr<stream_clock> clock_ = std::make_unique<stream_clock>();
  std::vector<step_processor> steps_;
  std::vector<step_processor> after_;
  // Each result to every sink whose `when` holds, through the sink's steps.
  std::optional<processing_error> write_sinks(const std::vector<record>& results,
                                              std::vector<output_record>& produced);
  std::optional<processing_error> punctuate_stream_time(std::vector<output_record>& produced);
  std::optional<processing_error> aggregate(const std::vector<record>& records,
                                            std::vector<record>& results,
                                            std::vector<output_record>& produced);

  struct sink_runtime {
    const sink_spec* spec = nullptr;
    std::optional<bound_expression> when;
    std::string when_label;  // names the predicate in its errors
    std::optional<bound_expression> topic_from;
    std::string topic_from_label;
    std::vector<step_processor> steps;
  };

  // Each record to the topic the sink's topic_from gives for it.
  std::optional<processing_error> encode_routed(const sink_runtime& sink,
                                                const std::vector<record>& records,
                                                std::vector<output_record>& produced) const;

  std::vector<sink_runtime> sinks_;
  std::unique_ptr<windowed_aggregator> aggregator_;
  std::unique_ptr<table_aggregator> table_;
  std::map<std::string, state::kv_store*> tables_by_topic_;
  // The topic of a joined stream, or of the right table of a table-table join: its join step.
  std::map<std::string, std::size_t> others_by_topic_;
  std::vector<std::int64_t>
      step_due_;  // per step: when its punctuation is next due (-1: not yet started)
  std::int64_t table_due_ = -1;
  operator_metrics metrics_;
};

}  // namespace sluice::operators
