#pragma once

// chain_processor: one chain of a sub-topology (its root chain, or a branch that runs there):
// decoded records through the chain's steps, its windowed or table aggregation and the steps
// after it, then to each of its sinks whose `when` holds (after that sink's own steps, encoded
// with its formats), then to each child chain (the branches whose `from` names this one) in
// declaration order. Late records of its window go to the side topic, keyed with its first sink's
// key format (string without sinks) and JSON values.
//
// Built by sub_topology_processor, which owns it, the steps (their stores opened), the task's
// stream clock and the metrics; one task's thread.

#include <chrono>
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

class chain_processor {
 public:
  // `chain`'s steps are given built (`steps`); the rest is built here. The plan's stores, the
  // provider, the registry, the clock and the metrics must outlive it.
  // Throws std::invalid_argument for a chain that does not pass validate_topology.
  chain_processor(branch_spec chain, std::vector<step_processor> steps,
                  const std::vector<store_plan>& plans, store_provider& stores,
                  const function_registry& registry, stream_clock& clock,
                  operator_metrics& metrics);

  const std::string& name() const { return chain_.name; }
  const branch_spec& spec() const { return chain_; }
  // Each result of this chain then goes through `child` too (after this chain's sinks).
  void add_child(chain_processor& child) { children_.push_back(&child); }

  // Steps from `first_step` on, the aggregation, the steps after it, the sinks, the children.
  std::optional<processing_error> continue_from(std::size_t first_step, std::vector<record> records,
                                                std::vector<output_record>& produced);
  // A record of the joined stream or table of the two-sided join at `step`; what the join emits
  // goes on after it.
  std::optional<processing_error> process_other(std::size_t step, const record& r,
                                                std::vector<output_record>& produced);

  // With each input record of the task: processor steps keep stream time.
  void keep_stream_time() const;
  // Every processor step in order: a due stream-time punctuation, what it forwards on through the
  // rest of the chain.
  std::optional<processing_error> punctuate_stream_time(std::vector<output_record>& produced);
  // Whether a wall-clock punctuation is due (a table's emit_every, a processor's
  // punctuate_every; the first one an interval after the first call).
  bool punctuation_due(std::int64_t wall_clock_ms);
  std::optional<processing_error> punctuate(std::int64_t wall_clock_ms,
                                            std::vector<output_record>& produced);
  // Stream time of the windowed aggregation, -1 without one or before the first record.
  std::int64_t stream_time() const;

 private:
  struct sink_runtime {
    const sink_spec* spec = nullptr;
    std::optional<bound_expression> when;
    std::string when_label;  // names the predicate in its errors
    std::optional<bound_expression> topic_from;
    std::string topic_from_label;
    std::vector<step_processor> steps;
  };

  std::optional<processing_error> run_steps(const std::vector<step_processor>& steps,
                                            std::vector<record>& records, std::size_t first = 0);
  // The steps after the aggregation, the sinks, then the children.
  std::optional<processing_error> emit(std::vector<record> results,
                                       std::vector<output_record>& produced);
  std::optional<processing_error> aggregate(const std::vector<record>& records,
                                            std::vector<record>& results,
                                            std::vector<output_record>& produced);
  // Each result to every sink whose `when` holds, through the sink's steps.
  std::optional<processing_error> write_sinks(const std::vector<record>& results,
                                              std::vector<output_record>& produced);
  // Each record to the topic the sink's topic_from gives for it.
  std::optional<processing_error> encode_routed(const sink_runtime& sink,
                                                const std::vector<record>& records,
                                                std::vector<output_record>& produced) const;
  std::optional<processing_error> encode_all(const std::vector<record>& records,
                                             const std::string& topic, data_format key_format,
                                             data_format value_format,
                                             std::vector<output_record>& out) const;
  // Whether the interval that ends at `due` (-1: not started) is over; starts or restarts it.
  static bool interval_over(std::int64_t& due, std::int64_t now, std::chrono::milliseconds every);

  branch_spec chain_;
  std::vector<step_processor> steps_;
  std::vector<step_processor> after_;
  std::vector<sink_runtime> sinks_;
  std::unique_ptr<windowed_aggregator> aggregator_;
  std::unique_ptr<table_aggregator> table_;
  std::vector<chain_processor*> children_;
  std::vector<std::int64_t>
      step_due_;  // per step: when its punctuation is next due (-1: not yet started)
  std::int64_t table_due_ = -1;
  operator_metrics& metrics_;
};

}  // namespace sluice::operators
