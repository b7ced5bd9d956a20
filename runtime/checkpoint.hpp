#pragma once

// checkpoint: the commit of one interval of the stream loop, in numbered steps (Quix Streams'
// Checkpoint). commit() runs:
//   1. every task's operators write what they keep in memory between commits (stream times:
//      sub_topology_processor::before_commit), and every store's captured changes go to its
//      changelog partition (in the transaction under exactly-once), through the record
//      collector; at-least-once first confirms the interval's outputs
//      (record_collector::confirm), so that a changelog, and the state restored from it, is
//      never ahead of what was emitted: a crash then repeats updates, it never skips one;
//   2. exactly-once: the input offsets the tasks processed go into the transaction
//      (send_offsets_to_transaction with the consumer's group metadata, KIP-447);
//   3. every record of the interval (outputs, changelog records, dead letters) is confirmed
//      delivered (record_collector::confirm; under exactly-once while step 2's request is in
//      flight); then, under exactly-once, commit_transaction;
//   4. the stores apply their buffered writes, recording the changelog offset they reached;
//   5. at-least-once: the input offsets are committed to the group, last, so a crash before it
//      reprocesses records whose effects are stored (allowed) instead of losing them.
// A failure in steps 1-3 takes the abort path: the transaction is aborted (exactly-once), every
// task drops its uncommitted store writes and is rewound to the committed offsets, and the
// interval starts over; nothing of it was committed. A fenced producer (its transaction timed out)
// is replaced by a new session first. The same failure five commits in a row stops the app.
//
// The loop calls commit() only between records, and handles rebalance events only between
// commits, so no two commits and no commit and a rebalance ever overlap.
//
// One thread: the stream loop's.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>

#include "operators/topology.hpp"
#include "runtime/client_ports.hpp"
#include "runtime/record_collector.hpp"
#include "runtime/runtime_metrics.hpp"
#include "runtime/task_manager.hpp"

namespace sluice::runtime {

namespace asio = boost::asio;

struct commit_hooks;

class checkpoint {
 public:
  checkpoint(const operators::topology& topology, task_manager& tasks, record_collector& collector,
             input_port& consumer, output_port& producer, const commit_hooks& hooks,
             runtime_metrics& metrics);

  // Before a record is processed: opens the interval's transaction under exactly-once.
  void begin_record();
  // After it was processed: the interval has something to commit.
  void record_done() { dirty_ = true; }
  bool dirty() const { return dirty_; }

  // Commits the interval (see above). Throws only what must stop the app.
  asio::awaitable<void> commit();
  // Partitions were lost (another member may own them): drops the interval's work, the lost
  // tasks with it, and rewinds the rest.
  asio::awaitable<void> drop_interval(std::set<task_id> lost, std::string reason);
  // The app is failing: aborts the open transaction (best effort); nothing is committed after.
  asio::awaitable<void> abandon();

 private:
  struct store_commit {
    state::state_store* store;
    kafka::delivery last;  // the store's last changelog record of the interval
    // A table restored from its own topic: no changelog record, the task's next offset in that
    // topic instead.
    std::optional<std::int64_t> source_offset;
    std::int64_t next_offset() { return source_offset ? *source_offset : last.result().offset + 1; }
  };

  bool exactly_once() const;
  // Steps 1-3: what can still be undone (aborted) when it fails.
  // Returns each store's last changelog delivery, for step 4.
  asio::awaitable<std::vector<store_commit>> commit_to_kafka(
      std::map<kafka::topic_partition, std::int64_t> offsets);
  // Exactly-once, step 2 and the wait of step 3, side by side.
  asio::awaitable<void> send_offsets_and_confirm(
      std::map<kafka::topic_partition, kafka::offset_and_metadata> offsets);
  asio::awaitable<void> abort_and_rewind(std::exception_ptr failure);
  asio::awaitable<void> rewind();
  // Aborts the open transaction, or replaces the producer session when that fails.
  asio::awaitable<void> abort_open_transaction();

  const operators::topology& topology_;
  task_manager& tasks_;
  record_collector& collector_;
  input_port& consumer_;
  output_port& producer_;
  const commit_hooks& hooks_;
  runtime_metrics& metrics_;
  bool in_transaction_ = false;
  bool dirty_ = false;
  int failures_in_a_row_ = 0;
};

}  // namespace sluice::runtime
