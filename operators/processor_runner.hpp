#pragma once

// processor_runner: the node of a `processor` step: it runs the user's processor (processor.hpp)
// registered under the step's function name, as a processor of the graph like any built-in one.
// What it adds to the user's class: what the user's process() forwards is kept until process()
// returned and then checked (a key change needs the step's changes_key: the planner could not have
// repartitioned for it) before it goes to the children, so a processor that throws or re-keys
// leaves the rest of the graph untouched; and an exception from the user's init(), process() or
// punctuate() becomes a processing_exception naming the processor (error_kind::user_function).
// The stores, stream time, metadata and schedules are the node's (processor_node.hpp).
//
// Built per task with the graph (rebuilt after an abort); one task's thread.

#include <memory>
#include <vector>

#include "operators/processor.hpp"
#include "operators/topology.hpp"

namespace sluice::operators {

class processor_runner final : public processor {
 public:
  // Throws std::invalid_argument when the factory gives nothing.
  processor_runner(const step& s, const registered_processor& registration);

  void init(processor_context& context) override;
  void process(const record& in, processor_context& context) override;
  void punctuate(punctuation_type type, std::int64_t time, processor_context& context) override;
  void close() override;

 private:
  class buffering_context;
  // The kept records to the children, after the key check when `in` is given.
  void forward_kept(const record* in, processor_context& context);

  step step_;
  std::unique_ptr<processor> processor_;
  std::vector<record> kept_;
};

}  // namespace sluice::operators
