#pragma once

// The processor interface for user C++ operators with state (Kafka Streams' Processor API): a
// `processor` step in a pipeline (YAML `processor: {function: NAME, stores: [...]}` or the
// builder's process()) runs an instance of a class the embedding program registers by name
// (function_registry::add_processor), one instance per task. It sees every record (and, if it
// asks, a wall-clock punctuation at a fixed interval, for timers and periodic output), forwards any
// number of records to the next step, and keeps what it needs in the key-value stores the step
// declares: RocksDB stores with changelog topics, committed with the task's transaction under
// exactly-once and restored after a crash or a rebalance like the built-in operators' stores.
//
//   class dedup : public sluice::operators::processor {
//     void process(const record& in, processor_context& context) override {
//       auto& seen = context.store("seen");
//       const auto id = boost::json::serialize(in.value.at("id"));
//       if (seen.get(id)) return;            // a repeat: nothing forwarded
//       seen.put(id, "");
//       context.forward(in);
//     }
//   };
//   registry.add_processor("dedup", [] { return std::make_unique<dedup>(); }, {"seen"});
//
// Stores are partitioned like the input: a record's store holds what records of the same
// partition wrote, so a processor whose state is per key needs its input keyed by that key (the
// planner repartitions before a processor with stores when an earlier step changed the key). A
// processor that changes keys must be placed with changes_key, as a user step. An exception from
// process() is the record's processing error (the runtime's on-error policy applies); records it
// forwarded before throwing are dropped, store writes it made stay in the open transaction, which
// the commit or abort settles. One task's thread; state::typed_stores.hpp gives typed views.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "operators/record.hpp"
#include "state/kv_store.hpp"

namespace sluice::operators {

class processor_context {
 public:
  virtual ~processor_context() = default;
  // Hands a record to the next step (or the aggregation, or the sink).
  virtual void forward(record r) = 0;
  // A store the step declares; throws std::invalid_argument naming the declared ones otherwise.
  virtual state::kv_store& store(std::string_view name) = 0;
};

class processor {
 public:
  virtual ~processor() = default;
  // Once, when the task starts processing (after its stores were restored). forward() may not be
  // called here.
  virtual void init(processor_context& context) { (void)context; }
  virtual void process(const record& in, processor_context& context) = 0;
  // Every `punctuate_every` of wall-clock time (the registration's; never when 0), between
  // records: what it forwards goes through the rest of the pipeline like process()'s output.
  virtual void punctuate(std::int64_t wall_clock_ms, processor_context& context) {
    (void)wall_clock_ms;
    (void)context;
  }
  // When the task closes (a rebalance, a stop, an abort that rebuilds the processors).
  virtual void close() {}
};

using processor_factory = std::function<std::unique_ptr<processor>()>;

struct registered_processor {
  processor_factory factory;
  std::vector<std::string> stores;  // the stores the step must declare
  std::chrono::milliseconds punctuate_every{0};
};

}  // namespace sluice::operators
