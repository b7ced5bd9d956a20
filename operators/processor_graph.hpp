#pragma once

// processor_graph: one task's graph of processor nodes (processor_node.hpp) for one sub-topology,
// built from its plan. Every chain (the root chain, and each branch that runs here) is a head
// node (pass_through_node), the nodes of its steps, its windowed or table aggregation, the steps
// after it; the last of these forwards to each of the chain's sinks (its `when`, its own steps,
// its writer) and then to the heads of the branches whose `from` names the chain, in declaration
// order (so a merge gets each parent's results). A two-sided join is two nodes sharing its state:
// the left one in its chain, the right one where the joined stream's or table's records enter;
// both forward to the same children. Records go through depth-first: the root's head receives a
// record and every node forwards what it makes to its children before returning (Kafka Streams'
// order), so no batch is built between nodes.
//
// The graph also runs the nodes' schedules: stream time kept by the nodes with a time store with
// each input record, their stream-time punctuations after it, and the wall-clock punctuations
// (user processors' punctuate_every, a table's emit_every), in the order the nodes were built.
//
// A processing error is a processing_exception out of any of these calls (processor.hpp). One
// task's thread; the plan, the stores, the registry, the clock, the metrics and the output vector
// must outlive it.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "operators/function_registry.hpp"
#include "operators/operator_metrics.hpp"
#include "operators/processor_node.hpp"
#include "operators/store_provider.hpp"
#include "operators/topology.hpp"

namespace sluice::operators {

class window_aggregation_node;

class processor_graph {
 public:
  // `tables`: the store of each table the plan's join steps read, by table name; `out`: where
  // the sinks write. Throws std::invalid_argument for a plan that does not pass
  // validate_topology; what a processor's init() throws goes through.
  processor_graph(const sub_topology& plan, store_provider& stores,
                  const function_registry& registry,
                  const std::map<std::string, state::kv_store*>& tables, stream_clock& clock,
                  operator_metrics& metrics, std::vector<output_record>& out);
  ~processor_graph();
  processor_graph(const processor_graph&) = delete;
  processor_graph& operator=(const processor_graph&) = delete;

  // A record of the sub-topology's source, into the root chain.
  void process(const record& r) { root_->receive(r); }
  // The node where a joined stream's or joined table's records enter (the right side of its
  // join), null for any other topic.
  processor_node* joined_input(const std::string& topic) const;

  // With each input record, after the clock moved and before the record.
  void keep_stream_time();
  // After each input record: the stream-time punctuations that are due.
  void punctuate_stream_time();
  // Whether a wall-clock punctuation is due (each schedule's interval starts at the first call).
  bool punctuation_due(std::int64_t wall_clock_ms);
  void punctuate(std::int64_t wall_clock_ms);
  // Stream time of the root chain's windowed aggregation, -1 without one or before the first
  // record.
  std::int64_t stream_time() const;
  // Before every commit of the stores: the windowed aggregations and stream joins write the
  // stream times they keep in memory between commits.
  void before_commit();

 private:
  class builder;

  std::vector<std::unique_ptr<processor_node>> nodes_;  // in the order they were built
  processor_node* root_ = nullptr;
  std::map<std::string, processor_node*, std::less<>> joined_inputs_;
  std::vector<processor_node*> timed_;             // nodes with a time store
  std::vector<processor_node*> wall_clock_timed_;  // nodes with a wall-clock schedule
  const window_aggregation_node* root_window_ = nullptr;
  std::vector<std::function<void()>> before_commit_;
};

}  // namespace sluice::operators
