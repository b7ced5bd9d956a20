#pragma once

// sub_topology_processor: everything one task does to one input record of a sub-topology, without
// the runtime: decode the key and value with the source's formats, then hand the record to the
// sub-topology's graph of processors (processor_graph.hpp: the root chain's steps, its windowed or
// table aggregation and the steps after it, the results encoded for each sink whose `when` holds,
// after that sink's own steps, or for the repartition topic, plus late records for the side
// topic; then the branches that run in this sub-topology, each after the chains it is `from`, in
// declaration order, so a merge gets each parent's results). The runtime feeds it records of one
// input partition and writes what it returns; tests and `sluice test` do the same in memory.
//
// A record either succeeds as a whole or returns a processing_error with nothing emitted (the
// runtime's error policy decides to skip it or stop): the graph's nodes throw processing_exception
// (processor.hpp says why), caught here, and the outputs the record's processing wrote so far are
// dropped. The stores are untouched too, except when
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
#include "operators/processor_graph.hpp"
#include "operators/processor_node.hpp"
#include "operators/store_provider.hpp"
#include "operators/topology.hpp"

namespace sluice::operators {

class sub_topology_processor {
 public:
  // Throws std::invalid_argument for a topology that does not pass validate_topology.
  sub_topology_processor(const sub_topology& plan, store_provider& stores,
                         const function_registry& registry);

  // Appends the records to write to `out` (only when the record succeeded as a whole). Takes the
  // record by value: its origin and headers move into the decoded record, not copied per record.
  // `decoded`: its key and value already decoded by the source's formats (then `in` needs no key
  // and value bytes).
  std::optional<processing_error> process(raw_record in, std::vector<output_record>& out,
                                          std::optional<decoded_input> decoded = std::nullopt);

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
  // Before each commit of the stores (the runtime's, a test's restart): the windowed
  // aggregations and stream joins write the stream times they keep in memory between commits.
  void before_commit() { graph_->before_commit(); }

 private:
  const source_spec* source_for(const std::string& topic) const;
  void update_table(state::kv_store& table, const record& r);
  // Runs `work` on the graph; its outputs go to `out` when it succeeds.
  template <class Work>
  std::optional<processing_error> run(Work work, std::vector<output_record>& out);

  sub_topology plan_;
  // The task's stream time, read by its processor steps; declared before the graph, which holds
  // it.
  std::unique_ptr<stream_clock> clock_ = std::make_unique<stream_clock>();
  operator_metrics metrics_;
  std::map<std::string, state::kv_store*> tables_by_topic_;
  // What the sinks of the graph write while it processes a record or a punctuation.
  std::vector<output_record> produced_;
  std::unique_ptr<processor_graph> graph_;
};

}  // namespace sluice::operators
