#pragma once

// The built-in nodes of a sub-topology's graph that are not steps (step_processor.hpp): each is a
// processor (processor.hpp) like a user's, run by a processor_node, forwarding what it produces
// to its children at once and throwing processing_exception for a record it cannot process.
//
//   pass_through_node        the head of a chain (the root's, or a branch's): its parents, or
//                            the graph's source, forward to it, it forwards to the chain's first
//                            node (one place where a chain begins, however it continues)
//   join_side_node           one side of a two-sided join (stream_join, table_join): the left
//                            node is the step in its chain, the right one receives the joined
//                            stream's or table's records; both forward to the join's children
//                            (Kafka Streams' two processors of a KStream-KStream join)
//   window_aggregation_node  windowed_aggregator; late records of a window with a side topic are
//                            written there by the node itself (a side output, not a child)
//   table_aggregation_node   table_aggregator; with emit_every, a wall-clock punctuation
//                            forwards the pending results
//   sink_when_node           a sink's `when`: forwards the results it holds for
//   sink_writer_node         encodes each record with the sink's formats for its topic (or the
//                            topic its topic_from gives) into the task's output
//
// Sink nodes write to an output vector the graph's owner (sub_topology_processor) holds; it keeps
// a record's outputs only when the record succeeded as a whole. One task's thread.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "operators/bound_expression.hpp"
#include "operators/data_format.hpp"
#include "operators/processor.hpp"
#include "operators/table_aggregator.hpp"
#include "operators/topology.hpp"
#include "operators/two_sided_join.hpp"
#include "operators/windowed_aggregator.hpp"

namespace sluice::operators {

class pass_through_node final : public processor {
 public:
  void process(const record& in, processor_context& context) override { context.forward(in); }
};

class join_side_node final : public processor {
 public:
  join_side_node(std::shared_ptr<two_sided_join> join, join_side side)
      : join_(std::move(join)), side_(side) {}
  void process(const record& in, processor_context& context) override;

 private:
  std::shared_ptr<two_sided_join> join_;
  join_side side_;
  std::vector<record> results_;  // reused: no allocation per record
};

// Encodes records for one topic (or the topic an expression gives) into `out`.
class topic_writer {
 public:
  topic_writer(std::string topic, data_format key_format, data_format value_format,
               std::vector<output_record>& out)
      : topic_(std::move(topic)), key_format_(key_format), value_format_(value_format), out_(out) {}
  void write(const record& r) const { write_to(r, topic_); }
  void write_to(const record& r, const std::string& topic) const;

 private:
  std::string topic_;
  data_format key_format_;
  data_format value_format_;
  std::vector<output_record>& out_;
};

class window_aggregation_node final : public processor {
 public:
  // `late`: where late records go (a window with late: side_topic), null otherwise.
  window_aggregation_node(std::unique_ptr<windowed_aggregator> aggregator,
                          std::optional<topic_writer> late)
      : aggregator_(std::move(aggregator)), late_writer_(std::move(late)) {}
  void process(const record& in, processor_context& context) override;
  std::int64_t stream_time() const { return aggregator_->stream_time(); }

 private:
  std::unique_ptr<windowed_aggregator> aggregator_;
  std::optional<topic_writer> late_writer_;
  std::vector<record> results_;
  std::vector<record> late_;
};

class table_aggregation_node final : public processor {
 public:
  explicit table_aggregation_node(std::unique_ptr<table_aggregator> aggregator)
      : aggregator_(std::move(aggregator)) {}
  // Schedules the wall-clock punctuation of emit_every.
  void init(processor_context& context) override;
  void process(const record& in, processor_context& context) override;
  void punctuate(punctuation_type type, std::int64_t time, processor_context& context) override;

 private:
  std::unique_ptr<table_aggregator> aggregator_;
  std::vector<record> results_;
};

class sink_when_node final : public processor {
 public:
  // Throws std::invalid_argument when `when` does not compile.
  explicit sink_when_node(const sink_spec& sink);
  void process(const record& in, processor_context& context) override;

 private:
  bound_expression when_;
  std::string label_;  // names the predicate in its errors
};

class sink_writer_node final : public processor {
 public:
  // Throws std::invalid_argument when topic_from does not compile.
  sink_writer_node(const sink_spec& sink, std::vector<output_record>& out);
  void process(const record& in, processor_context& context) override;

 private:
  sink_spec spec_;
  topic_writer writer_;
  std::optional<bound_expression> topic_from_;
  std::string topic_from_label_;
};

}  // namespace sluice::operators
