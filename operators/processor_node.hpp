#pragma once

// processor_node: one node of a sub-topology's graph: a processor (processor.hpp; built-in or a
// user's) and the context it sees. The context forwards to the node's children (depth-first:
// each child's process() runs inside forward()), gives the stores the node declares, the task's
// stream time and the record being processed, and keeps the punctuation schedules the node asks
// for with schedule() (processor_graph runs them).
//
// Schedules. A wall-clock one is first due an interval after the graph first asks whether
// anything is due, then an interval after each run. A stream-time one is aligned to multiples of
// its interval from 0 (Kafka Streams' PunctuationSchedule): after each input record of the task,
// when stream time reached its due time, it runs once with that stream time (missed intervals
// are skipped). A node with a "<step>-time" store keeps stream time there (written when it moved,
// before the record is processed, so that a record that fails moves stream time too, as in Kafka
// Streams) and the stream-time schedule's next due time (written when one ran); a new node (a
// restart, a move, an abort) reads both back, so it goes on where the last committed state left
// off. A stream-time schedule needs that store.
//
// Built by processor_graph, which owns it and calls init() once the graph is wired; close() in
// the destructor. One task's thread; the stores, the clock and the children must outlive it.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

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

// A store a node uses, of one of the three kinds (the variant's order is store_kind's).
using store_ref = std::variant<state::kv_store*, state::window_store*, state::session_store*>;
store_kind kind_of(const store_ref& store);
// The stores a node declares, by the name the node knows them by.
using step_stores = std::map<std::string, store_ref, std::less<>>;

// Who a node is, for error messages: the step's name, and for a user processor the name it was
// registered under ("processor 'dedup' asked for ... step 'dedup-1' declares ...").
struct node_identity {
  std::string step;
  std::string function;
};

class processor_node final : public processor_context {
 public:
  // `time_store`: the step's "<step>-time" store, null when it has none.
  processor_node(node_identity identity, std::unique_ptr<processor> p, step_stores stores,
                 stream_clock& clock, state::kv_store* time_store);
  ~processor_node() override;
  processor_node(const processor_node&) = delete;
  processor_node& operator=(const processor_node&) = delete;

  // The schedules a user processor's registration asks for, before init() (where the processor
  // may replace them with schedule()); a stream-time one only for a node with a time store.
  void set_schedules(std::chrono::milliseconds wall_clock, std::chrono::milliseconds stream_time);
  // Runs the processor's init(); once, after the graph is wired.
  void init();
  void add_child(processor_node& child) { children_.push_back(&child); }
  const std::vector<processor_node*>& children() const { return children_; }
  const std::string& name() const { return identity_.step; }
  bool keeps_time() const { return time_store_ != nullptr; }
  bool has_wall_clock_schedule() const { return wall_clock_every_.count() > 0; }
  processor& node_processor() { return *processor_; }

  // A record from a parent (or the graph's source): the processor's process().
  void receive(const record& r) {
    // Restored on the way out, an exception's too: a punctuation after a failed record must not
    // see it as current.
    const current_scope scope(current_, &r);
    processor_->process(r, *this);
  }

  // With each input record of the task, after the clock moved: keeps stream time in the time
  // store.
  void keep_stream_time();
  // After each input record: the stream-time punctuation, when due.
  void punctuate_stream_time_if_due();
  // Whether the wall-clock punctuation is due (starting its interval at the first call).
  bool wall_clock_due(std::int64_t wall_clock_ms);
  // Runs the wall-clock punctuation when its interval is over (and starts the next one).
  void punctuate_wall_clock_if_due(std::int64_t wall_clock_ms);

  // processor_context
  void forward(const record& r) override {
    if (in_init_) refuse_forward_in_init();
    for (auto* child : children_) child->receive(r);
  }
  state::kv_store& store(std::string_view name) override;
  state::window_store& window_store(std::string_view name) override;
  state::session_store& session_store(std::string_view name) override;
  std::int64_t stream_time() const override { return clock_.now(); }
  std::optional<record_metadata> current_record() const override;
  void schedule(std::chrono::milliseconds interval, punctuation_type type) override;

 private:
  // Makes a record the current one for the scope's lifetime.
  class current_scope {
   public:
    current_scope(const record*& slot, const record* r) : slot_(slot), outer_(slot) { slot_ = r; }
    ~current_scope() { slot_ = outer_; }
    current_scope(const current_scope&) = delete;
    current_scope& operator=(const current_scope&) = delete;

   private:
    const record*& slot_;
    const record* outer_;
  };

  [[noreturn]] void refuse_forward_in_init() const;
  const store_ref& find(std::string_view name, store_kind kind) const;
  void save_time(std::string_view key, std::int64_t value);
  // "processor 'f'" for a user processor, "step 's'" for a built-in node.
  std::string who() const;

  node_identity identity_;
  std::unique_ptr<processor> processor_;
  std::vector<processor_node*> children_;
  step_stores stores_;
  stream_clock& clock_;
  state::kv_store* time_store_;
  bool in_init_ = false;
  const record* current_ = nullptr;
  std::chrono::milliseconds wall_clock_every_{0};
  std::int64_t wall_clock_due_ = -1;  // -1: the interval has not started
  std::chrono::milliseconds stream_time_every_{0};
  std::int64_t saved_stream_time_;
  // Kafka Streams aligns stream-time punctuations to 0: the first runs with the first record.
  std::int64_t next_stream_punctuation_;
};

}  // namespace sluice::operators
