#pragma once

// processor_runner: one user processor (processor.hpp) of one processor step in one task: the
// instance, the context it sees (the step's declared stores by kind, the task's stream time, the
// record being processed) and its punctuation schedules. Built when the task starts processing
// (init() runs in the constructor, close() in the destructor), rebuilt after an abort.
//
// Stream time comes from the task's stream_clock, which the task's sub_topology_processor
// advances with every input record. A step with stores has its "<step>-time" store: with each
// record the runner writes the clock's time there when it moved, and the next stream-time
// punctuation's due time when one ran; a new runner (a restart, a move, an abort) reads both back,
// so it goes on where the last committed state left off.
//
// One task's thread; the stores and the clock must outlive it.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "operators/processing_error.hpp"
#include "operators/processor.hpp"
#include "operators/topology.hpp"
#include "state/kv_store.hpp"
#include "state/session_store.hpp"
#include "state/window_store.hpp"

namespace sluice::operators {

// A task's stream time (Kafka Streams' PartitionGroup#streamTime): the largest timestamp of the
// records the task has read from its inputs, -1 before the first; it never goes back.
class stream_clock {
 public:
  std::int64_t now() const { return time_; }
  void advance(std::int64_t timestamp) {
    if (timestamp > time_) time_ = timestamp;
  }

 private:
  std::int64_t time_ = -1;
};

// A store a step uses, of one of the three kinds (the variant's order is store_kind's).
using store_ref = std::variant<state::kv_store*, state::window_store*, state::session_store*>;
store_kind kind_of(const store_ref& store);
// The stores a step uses, by the name the step knows them by.
using step_stores = std::map<std::string, store_ref, std::less<>>;

class processor_runner {
 public:
  // Throws std::invalid_argument when the step lacks one of the stores it declares, or the factory
  // gives nothing; what init() throws goes through. `time_store` is the step's "<step>-time" store
  // (null for a step without stores: stream time is then not kept, and there is no stream-time
  // punctuation, which registration refuses without a store).
  processor_runner(const step& s, const registered_processor& registration, step_stores stores,
                   stream_clock& clock, state::kv_store* time_store);
  ~processor_runner();
  processor_runner(const processor_runner&) = delete;
  processor_runner& operator=(const processor_runner&) = delete;

  // Runs process(); what it forwarded goes to `out` (nothing on error).
  std::optional<processing_error> process(const record& in, std::vector<record>& out);
  // Runs punctuate(); what it forwarded goes to `out` (nothing on error).
  std::optional<processing_error> punctuate(punctuation_type type, std::int64_t time,
                                            std::vector<record>& out);
  // When an input record of the task moved the clock (before the record is processed, so that a
  // record that fails moves stream time too, as in Kafka Streams): keeps it in the time store.
  void keep_stream_time();
  // After each input record of the task: the stream-time punctuation, when it is due.
  std::optional<processing_error> punctuate_if_due(std::vector<record>& out);

  std::chrono::milliseconds punctuate_every() const { return wall_clock_every_; }

 private:
  class context;
  void save_time(std::string_view key, std::int64_t value);

  step step_;  // a copy: the step_processor holding the runner may move
  step_stores stores_;
  stream_clock& clock_;
  state::kv_store* time_store_;
  std::chrono::milliseconds wall_clock_every_;
  std::chrono::milliseconds stream_time_every_;
  std::int64_t saved_stream_time_;
  // Kafka Streams aligns stream-time punctuations to 0: the first runs with the first record.
  std::int64_t next_stream_punctuation_;
  std::unique_ptr<processor> processor_;
};

}  // namespace sluice::operators
