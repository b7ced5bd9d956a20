#pragma once

// The processor interface (Kafka Streams' Processor API): every node of a sub-topology's graph
// implements it, the built-in ones (the steps, the aggregations, the joins, the sinks:
// step_processor.hpp, builtin_nodes.hpp) and the user's alike, and the graph (processor_node.hpp)
// drives them all the same way: init(context) once, process(record, context) for every record a
// parent forwards, punctuate(type, time, context) when a schedule the node asked for is due,
// close() at the end. context.forward() hands a record to each of the node's children at once,
// depth-first (Kafka Streams' order): the record goes through the whole rest of the graph before
// forward() returns, with no batch in between.
//
// Errors. A record that cannot be processed is reported by throwing processing_exception
// (processing_error.hpp) naming the step and the record; any other exception from a user
// processor becomes one (error_kind::user_function), naming the processor. The graph's edge
// (sub_topology_processor) returns it as a value to the runtime, whose on-error policy applies;
// the outputs of the record (what every sink received) are dropped with it.
//
// A user processor is a `processor` step in a pipeline (YAML `processor: {function: NAME, stores:
// [...]}` or the builder's process()) running an instance of a class the embedding program
// registers by name (function_registry::add_processor), one instance per task. It sees every
// record, forwards any number of records to the next step, and keeps what it needs in the stores
// the step declares (key-value, window or session stores: RocksDB stores with changelog topics,
// committed with the task's transaction under exactly-once and restored after a crash or a
// rebalance like the built-in operators' stores). If its registration asks, it is also
// punctuated: on wall-clock time (timers, periodic output whether records come or not) and on
// stream time (output driven by the data's own time, the same on every run of the same input); or
// the processor asks for it itself in init(), with context.schedule(interval, type) (Kafka
// Streams' schedule()).
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
// A worked example with a window store and stream-time punctuation:
// examples/runtime/recent_counts.hpp.
//
// Stream time (Kafka Streams' PunctuationType.STREAM_TIME) is the task's: the largest timestamp
// of the records the task has read from any of its inputs, -1 before the first; it never goes
// back. A stream-time punctuation every I runs after the record that moved stream time to or past
// its due time, once (missed intervals are skipped), with that stream time; the schedule is
// aligned to multiples of I from 0, so the first one runs after the task's first record. A
// processor step with stores keeps stream time and its schedule in its "<step>-time" store: a task
// restarted elsewhere, or rebuilt after an aborted transaction, punctuates exactly where an
// uninterrupted one would. What a punctuation forwards goes through the rest of the pipeline,
// after the outputs of the record that triggered it, as part of that record's processing (an
// exception from it is that record's processing error).
//
// What a user processor forwards from process() reaches its children once process() returned
// (processor_runner.hpp keeps it until then), so a processor that throws leaves the rest of the
// graph untouched; the built-in nodes forward at once.
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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operators/record.hpp"
#include "operators/topology.hpp"
#include "state/kv_store.hpp"
#include "state/session_store.hpp"
#include "state/window_store.hpp"

namespace sluice::operators {

enum class punctuation_type : std::uint8_t { wall_clock_time, stream_time };
std::string_view to_string(punctuation_type type);

// Where the record being processed was read, and its time and headers (Kafka Streams'
// RecordMetadata with the record's timestamp and headers). The timestamp and headers are those of
// the record process() receives, which steps before the processor may have changed.
struct record_metadata {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = -1;
  std::int64_t timestamp = 0;
  std::vector<header> headers;
  bool operator==(const record_metadata&) const = default;
};

class processor_context {
 public:
  virtual ~processor_context() = default;
  // Hands a record to each child of the node (the next step, the aggregation, the sinks, the
  // branches), which process it before forward() returns. The rvalue overload lets a context that
  // keeps the record (a user processor's) take it without a copy.
  virtual void forward(const record& r) = 0;
  virtual void forward(record&& r) { forward(static_cast<const record&>(r)); }
  // A store the step declares, of the kind asked for; throws std::invalid_argument naming the
  // declared stores and their kinds otherwise.
  virtual state::kv_store& store(std::string_view name) = 0;
  virtual state::window_store& window_store(std::string_view name) = 0;
  virtual state::session_store& session_store(std::string_view name) = 0;
  // The task's stream time (see above); -1 before the first record.
  virtual std::int64_t stream_time() const = 0;
  // The record process() is handling; nullopt in init() and punctuate().
  virtual std::optional<record_metadata> current_record() const = 0;
  // From init() only (Kafka Streams' ProcessorContext#schedule): punctuate every `interval` of
  // `type` time, in place of what the registration asked for that type; the schedule is the same
  // (a stream-time one aligned to multiples of the interval and kept in the step's time store,
  // so it needs a step with stores). init() runs again with every new instance (a restart, a
  // move, an abort), so the schedule is set again each time. Throws std::logic_error outside
  // init(), std::invalid_argument for an interval below 1 ms or a stream-time schedule in a step
  // without stores.
  virtual void schedule(std::chrono::milliseconds interval, punctuation_type type) = 0;
};

class processor {
 public:
  virtual ~processor() = default;
  // Once, when the task starts processing (after its stores were restored). forward() may not be
  // called here.
  virtual void init(processor_context& context) { (void)context; }
  virtual void process(const record& in, processor_context& context) = 0;
  // A punctuation the node's schedule asked for, between records: `time` is the wall-clock time
  // (milliseconds since the epoch) or the stream time that made it due. What it forwards goes
  // through the rest of the pipeline like process()'s output.
  virtual void punctuate(punctuation_type type, std::int64_t time, processor_context& context) {
    (void)type;
    (void)time;
    (void)context;
  }
  // When the task closes (a rebalance, a stop, an abort that rebuilds the processors).
  virtual void close() {}
};

using processor_factory = std::function<std::unique_ptr<processor>()>;

struct registered_processor {
  processor_factory factory;
  // The stores process() asks its context for; a step placing it must declare each with the same
  // kind and window size and at least this retention.
  std::vector<store_spec> stores;
  std::chrono::milliseconds punctuate_every{0};              // wall clock; 0: never
  std::chrono::milliseconds punctuate_every_stream_time{0};  // stream time; 0: never
};

}  // namespace sluice::operators
