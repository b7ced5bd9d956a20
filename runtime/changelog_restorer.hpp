#pragma once

// changelog_reader: brings stores up to the end of their changelog partitions, Kafka Streams'
// StoreChangelogReader. It reads with a group-less read_committed consumer (aborted transactions
// must not reach a store) from the offset each store recorded, or from the changelog's beginning
// when it recorded none, to the end offset looked up when the store was added, and applies every
// fetched batch together with the position reached in ONE atomic store write. So a restore that
// dies half way resumes where the last batch left off, a clean restart (the store at the end
// already) reads nothing, and a crash only the gap.
//
// Stores are restored in the background of the stream loop: add() registers a task's stores,
// poll() reads and applies one batch for all of them and says which tasks have finished, so the
// other tasks keep processing meanwhile (Kafka Streams' state updater, Quix Streams' recovery
// manager). The caller must have resolved the task's committed input offsets before add() (with
// require_stable, as the consumer's lookups do): then the previous owner's last transaction is
// decided, and its changelog records lie below the changelog's high watermark as add() finds it.
// The restore reads up to that high watermark, not to the last stable offset: the transaction
// coordinator writes a commit's markers partition by partition, so the committed offsets can be
// stable while a changelog's marker is still on its way, and its last stable offset still below
// the records the committed offsets cover (a chaos run lost 75 join results that way). Reading
// read_committed, the restore passes an open transaction only once it has ended: committed, its
// records are applied; aborted (a vanished owner's, fenced by the assignor or timed out by the
// broker), they are skipped.
//
// A reader in `follow` mode keeps its stores up to date instead (standby tasks, Kafka Streams'
// standby updates): no end offset, nobody ever finishes, and lag() says how far each owner is
// behind the changelogs' last stable offsets.
//
// A store may be restored from an input topic instead of a changelog (a table read from its own
// topic, operators::table_restore::source, Kafka Streams' source-topic optimisation): its target
// says how a record of that topic becomes a store change and where to stop, the group's committed
// offset of the partition (what the task processed), not the topic's end: records after it are
// the task's input, processed normally. A follower of such a store (a standby) reads up to a
// limit too, the group's committed offset as last looked up, which set_limit() moves on as the
// active task commits (see standby_limits); at the limit its partition is not fetched.
//
// restore_store() restores one store to the end at once (the benchmark's entry point; the same
// code path).
//
// Runs on the consumer's executor; the consumer must not be used for anything else (its
// assignment is the set of changelog partitions still restoring).

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kafka/client/client_config.hpp"
#include "kafka/client/topic_partition.hpp"
#include "kafka/consumer/consumer_config.hpp"
#include "kafka/consumer/consumer_record.hpp"
#include "state/state_store.hpp"

namespace sluice::kafka {
class consumer;
}

namespace sluice::runtime {

namespace asio = boost::asio;

// The restore consumer's settings: no group, read_committed, large batches.
kafka::consumer_config restore_consumer_config(const kafka::client_config& client);

struct restore_outcome {
  std::int64_t from = 0;      // the first changelog offset read
  std::int64_t to = 0;        // the end offset reached (from == to: nothing to restore)
  std::uint64_t records = 0;  // records applied (transaction markers take offsets but are none)
  std::chrono::duration<double> elapsed{0};
  std::chrono::duration<double> applying{0};  // of which in store.apply (RocksDB writes)
};

// One store to restore: the store and its changelog partition (or the input partition it is
// restored from).
struct restore_target {
  state::state_store* store = nullptr;
  kafka::topic_partition changelog;
  // Restored from an input topic: the change a record makes (nullopt: none), and the offset to
  // stop at (the group's committed one; in follow mode the first limit, moved by set_limit()).
  // Unset for a changelog: records are changes as they are, read to the end offset.
  std::function<std::optional<state::change>(const kafka::consumer_record&)> convert{};
  std::optional<std::int64_t> end{};
};

class changelog_reader {
 public:
  // Who a set of stores belongs to (the runtime's task id as a string, e.g. "0_3").
  using owner_id = std::string;
  struct finished {
    owner_id owner;
    std::vector<restore_outcome> stores;
  };

  enum class reading_mode : std::uint8_t { restore, follow };

  // `label` starts the log lines ("app"); `on_batch` (optional) gets each applied batch's size.
  changelog_reader(kafka::consumer& consumer, std::string label,
                   std::function<void(std::size_t)> on_batch = {},
                   reading_mode mode = reading_mode::restore);

  // Registers the owner's stores; an owner with nothing to restore is finished at the next poll().
  asio::awaitable<void> add(owner_id owner, std::vector<restore_target> targets);
  // Stops restoring the owner's stores (its task was closed); what was applied stays applied.
  void remove(const owner_id& owner);
  // Follow mode: the store that follows input partition `partition` (a target with an end) may
  // now read up to `limit`, exclusive. A store that waited at its old limit is fetched again from
  // where it is.
  void set_limit(const kafka::topic_partition& partition, std::int64_t limit);
  // Reads what arrives within `timeout` and applies it; returns the owners now fully restored.
  asio::awaitable<std::vector<finished>> poll(std::chrono::milliseconds timeout);
  bool idle() const { return owners_.empty(); }
  bool restoring(const owner_id& owner) const { return owners_.contains(owner); }
  // Changelog records still to read, over every store being restored.
  std::int64_t remaining() const;
  // Follow mode: offsets the owner's stores are behind their changelogs' ends, as of the last
  // fetch (a store that follows an input topic: behind its limit); nullopt before every
  // changelog's end is known (nothing fetched yet).
  std::optional<std::int64_t> lag(const owner_id& owner) const;
  struct store_progress_view {
    owner_id owner;
    std::string store;
    kafka::topic_partition changelog;
    std::int64_t from = 0;                     // the first changelog offset to read
    std::int64_t position = 0;                 // the next changelog offset to read
    std::int64_t end = 0;                      // the end offset to reach
    std::uint64_t records = 0;                 // applied so far
    std::chrono::duration<double> elapsed{0};  // since the owner's restore began

    std::int64_t remaining() const { return std::max<std::int64_t>(0, end - position); }
    // Offsets per second so far; 0 before any progress.
    double rate() const {
      return elapsed.count() > 0 ? static_cast<double>(position - from) / elapsed.count() : 0;
    }
  };
  std::vector<store_progress_view> progress() const;

 private:
  struct store_progress {
    restore_target target;
    restore_outcome outcome;
    std::int64_t position = 0;
    bool follows = false;
    // Read up to outcome.to (an input topic's store), not to whatever end the changelog has.
    bool bounded() const { return target.end.has_value(); }
    bool done() const { return !follows && position >= outcome.to; }
    // A follower at its limit: nothing to read until set_limit() moves it.
    bool waiting() const { return follows && bounded() && position >= outcome.to; }
    bool fetching() const { return !done() && !waiting(); }
  };
  struct owner_progress {
    std::vector<store_progress> stores;
    std::chrono::steady_clock::time_point started;
  };

  void reassign();
  // What the progress report adds when a restoring store stands at an open transaction: the
  // fetches return nothing past a last stable offset below the store's end.
  std::string waiting_for_transaction(const store_progress_view& store) const;
  void log_done(const owner_id& owner, const store_progress& store) const;

  kafka::consumer& consumer_;
  std::string label_;
  std::function<void(std::size_t)> on_batch_;
  reading_mode mode_;
  std::map<owner_id, owner_progress> owners_;
  std::chrono::steady_clock::time_point last_report_;
};

// "task 0_3: store counts 1200000/4000000 offsets (1190000 records), 412000/s, about 7 s left".
std::string describe_progress(const changelog_reader::store_progress_view& store);

// Restores one store to the end of its changelog partition before it returns.
asio::awaitable<restore_outcome> restore_store(kafka::consumer& consumer, state::state_store& store,
                                               kafka::topic_partition changelog, std::string label,
                                               std::function<void(std::size_t)> on_batch = {});

}  // namespace sluice::runtime
