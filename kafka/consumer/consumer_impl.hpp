#pragma once

// The consumer's private state, shared by its translation units (consumer.cpp: assignment,
// positions and the public API; consumer_fetch.cpp: fetching, with fetch_session.cpp;
// consumer_group.cpp, group_offsets.cpp, classic_group.cpp and consumer_protocol_group.cpp: group
// membership and commits). Not a public header.

#include <chrono>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "kafka/client/task_group.hpp"
#include "kafka/client/wakeup.hpp"
#include "kafka/consumer/assignor.hpp"
#include "kafka/consumer/consumer.hpp"
#include "kafka/consumer/consumer_error.hpp"
#include "kafka/consumer/fetch_session.hpp"
#include "kafka/consumer/group_protocol.hpp"
#include "kafka/protocol/messages/fetch.hpp"
#include "kafka/records/record_batch_decoder.hpp"

namespace sluice::kafka {

namespace consumer_detail {
// Errors after which a partition's leader is looked up again before the next fetch or lookup.
bool needs_metadata(error_code code);
}  // namespace consumer_detail

// The records of one partition from one fetch response, decoded and filtered (records before the
// fetch offset, control batches and aborted transactions are gone). Records point into `data`
// (the response's bytes, moved here, never copied) or into `owned` (compressed batches, copied
// once out of the decoder's decompression buffer). Handed-out records share ownership of it.
struct fetched_chunk {
  std::string topic;
  std::int32_t partition = 0;
  std::uint64_t epoch = 0;       // the partition's seek epoch when the fetch was sent
  std::int64_t next_offset = 0;  // where the next fetch starts: after the last batch looked at
  protocol::bytes data;
  std::vector<protocol::bytes> owned;
  std::vector<records::header_view> headers;
  std::vector<consumer_record> records;  // `owner` is empty here; set when handed out
  std::size_t consumed = 0;
  std::size_t bytes = 0;
};

// What a partition needs before it can be fetched.
enum class position_lookup : std::uint8_t {
  none,       // position known
  committed,  // the group's committed offset, else auto_offset_reset
  policy,     // auto_offset_reset
  earliest,
  latest,
};

struct partition_state {
  std::optional<std::int64_t> position;  // next offset getmany returns
  std::int64_t fetch_offset = 0;         // next offset to fetch (after the queued chunks)
  std::int32_t last_leader_epoch = -1;   // of the last record handed out (committed with it)
  std::uint64_t epoch = 0;               // bumped by every seek; older fetch results are dropped
  position_lookup lookup = position_lookup::policy;
  bool paused = false;
  std::uint64_t in_flight = 0;  // id of the fetch that covers it, 0 if none
  std::deque<std::shared_ptr<fetched_chunk>> queued;
  std::optional<std::int64_t> highwater;
  std::optional<std::int64_t> last_stable_offset;
  std::optional<std::int64_t> log_start_offset;
  std::optional<std::int64_t> last_fetch_ms;
  // KIP-392: the replica the leader told us to fetch from (a follower in client_rack), used until
  // `preferred_until` (metadata_max_age after the leader said so, as in the Java consumer) or the
  // first error from it; -1: fetch from the leader.
  std::int32_t preferred_read_replica = -1;
  std::chrono::steady_clock::time_point preferred_until{};
  // KIP-320: the leader epoch of the last batch fetched (sent as last_fetched_epoch, so that the
  // leader reports a diverging epoch when its log differs); -1 after a seek: not checked.
  std::int32_t fetched_epoch = -1;
  // KIP-320 through OffsetForLeaderEpoch (Fetch below v12, which has no diverging epoch): the
  // leader epoch in the metadata when the partition was last fetched or its position checked (-1:
  // not fetched since its position was set), and whether the position must be checked before the
  // next fetch (a committed offset with its epoch). See needs_position_validation.
  std::int32_t validated_leader_epoch = -1;
  bool awaiting_validation = false;
  // A failure getmany raises until the application seeks (OFFSET_OUT_OF_RANGE with reset none,
  // authorization, corrupt data).
  std::optional<std::error_code> error;
  std::string error_text;
};

enum class subscription_mode : std::uint8_t { none, manual, topics, pattern };

// The coordinator connections of a group member (group_detail::coordinator): JoinGroup and
// SyncGroup park on the broker up to the rebalance timeout, so they get a connection of their own
// with a long request timeout; heartbeats, commits and offset fetches use the other one, never
// queued behind a parked JoinGroup.
struct coordinator_connections {
  std::shared_ptr<connection> join;
  std::shared_ptr<connection> other;
  // Closes both (requests on them fail at once) and forgets them: the next request finds the
  // coordinator again.
  void close();
};

// Rebalance timing for consumer::group_stats(): a rebalance starts when the member (re)joins or
// learns of a new assignment, and ends when the new assignment is in place (listeners done).
struct rebalance_statistics {
  bool in_rebalance = false;
  std::uint64_t rebalances = 0;
  std::optional<std::chrono::steady_clock::time_point> started;
  std::optional<std::chrono::steady_clock::time_point> ended;

  void start() {
    if (in_rebalance) return;
    in_rebalance = true;
    started = std::chrono::steady_clock::now();
  }
  void end() {
    if (!in_rebalance) return;
    in_rebalance = false;
    ended = std::chrono::steady_clock::now();
    ++rebalances;
  }
};

// A group member's state: what both group protocols share. Each protocol's own state machine is
// `member` (group_protocol.hpp: classic_group or consumer_protocol_group). Lives as long as the
// consumer's state; used on the consumer's executor only.
struct group_state {
  explicit group_state(asio::any_io_executor executor) : heartbeat_wake(std::move(executor)) {}

  // ---- the subscription
  std::shared_ptr<rebalance_listener> listener;
  std::set<std::string> topics;  // explicit, what the pattern matched, or (KIP-848 regex) assigned
  std::optional<std::regex> pattern;
  std::optional<std::string> server_regex;  // subscribe(subscription_pattern): the coordinator's
  std::chrono::steady_clock::time_point last_metadata_check{};

  // ---- the membership, carried by commits (OffsetCommit v9+ checks the KIP-848 member epoch) and
  // by group_metadata() (TxnOffsetCommit, KIP-447)
  std::string member_id;
  std::int32_t generation = -1;  // the classic generation, or the KIP-848 member epoch
  std::unique_ptr<group_detail::group_protocol> member;  // the protocol's state machine

  // ---- conditions both protocols act on
  // The partitions may already be someone else's (fenced, left after max_poll_interval, a commit
  // refused): on_partitions_lost comes before the next join; nothing is fetched meanwhile.
  bool partitions_lost = false;
  // No poll for longer than max_poll_interval (KIP-62): the member left; the next poll rejoins.
  bool poll_timed_out = false;
  // An error that ends the membership; getmany() raises it until the next subscribe.
  std::optional<std::pair<std::error_code, std::string>> fatal;
  int listeners_running = 0;  // rebalance listener callbacks in progress
  // The first exception a listener callback threw since the last poll: getmany() rethrows it
  // (Java's poll() does the same), so a failed restore or commit is never only a log line.
  std::exception_ptr listener_failure;

  std::chrono::steady_clock::time_point last_poll = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point next_auto_commit{};
  bool auto_commit_running = false;
  wakeup heartbeat_wake;  // wakes the heartbeat (or KIP-848 member) loop
  coordinator_connections coordinator;
  rebalance_statistics statistics;
};

struct consumer::impl : std::enable_shared_from_this<consumer::impl> {
  impl(const asio::any_io_executor& executor, consumer_config config);
  ~impl();

  asio::any_io_executor executor;
  consumer_config config;
  kafka::cluster cluster;
  task_group tasks;
  wakeup data_ready;    // records queued, or an error to raise
  wakeup fetch_wanted;  // a partition became fetchable, or the assignment changed
  bool started = false;
  bool stopping = false;
  bool woken = false;  // wake_getmany() was called: the next getmany returns without waiting
  // Set while stop() commits and leaves: every retry loop gives up by then, so that stop() is
  // bounded (one request timeout) even with the brokers down.
  std::optional<std::chrono::steady_clock::time_point> closing_deadline;

  std::chrono::steady_clock::time_point api_deadline() const {
    auto deadline = std::chrono::steady_clock::now() + config.default_api_timeout;
    return closing_deadline ? std::min(deadline, *closing_deadline) : deadline;
  }

  subscription_mode mode = subscription_mode::none;
  std::map<topic_partition, partition_state> partitions;  // the assignment
  std::size_t next_drain = 0;                             // round-robin start for getmany

  // Metadata refreshes asked for by fetch errors, rate-limited by retry_backoff.
  bool metadata_stale = false;
  std::chrono::steady_clock::time_point last_metadata_refresh{};
  // Between refreshes while an assigned partition has no leader: grows from retry_backoff to
  // max_metadata_backoff (KIP-580's exponential backoff), back to retry_backoff once all are found.
  std::chrono::milliseconds missing_backoff{0};
  std::set<std::int32_t> nodes_fetching;
  std::map<std::int32_t, fetch_session> sessions;  // by broker

  records::record_batch_decoder decoder;
  std::unique_ptr<group_state> group;

  // When resolve_positions last warned about a partition whose topic the cluster lacks.
  std::chrono::steady_clock::time_point last_missing_warning{};

  // ---- consumer.cpp ----
  // Runs a background task in `tasks`, holding a reference to this state until it finishes, so
  // that a task resumed after the consumer was destroyed still finds its state (it sees
  // `stopping` and ends).
  void spawn(std::string name, asio::awaitable<void> task);
  // Tells the background tasks to end: no new work, loops woken, connections closed.
  void shut_down();
  partition_state& assigned(const topic_partition& partition, const char* operation);
  void set_assignment(const std::vector<topic_partition>& partitions, position_lookup lookup);
  void seek_to(partition_state& state, std::int64_t offset);
  void request_lookup(partition_state& state, position_lookup lookup);
  asio::awaitable<void> fetch_scheduler();
  asio::awaitable<void> fetch_from(std::int32_t node, std::vector<topic_partition> partitions);
  asio::awaitable<void> refresh_metadata_if_needed();
  // Looks up the positions of the given partitions (committed offset, then auto_offset_reset).
  // Partitions without a leader (a topic that does not exist yet, or one moving) are left pending
  // for the scheduler; `background` (the scheduler) leaves their metadata refresh to
  // refresh_metadata_if_needed, which backs off, instead of refreshing at once.
  asio::awaitable<void> resolve_positions(std::vector<topic_partition> partitions,
                                          bool background = false);
  asio::awaitable<std::map<topic_partition, offset_and_timestamp>> list_offsets(
      std::map<topic_partition, std::int64_t> timestamps, isolation_level isolation);
  std::optional<std::int32_t> leader_of(const topic_partition& partition) const;
  std::int32_t leader_epoch_of(const topic_partition& partition) const;
  void decode_into(
      fetched_chunk& chunk,
      const std::optional<std::vector<protocol::fetch_response::aborted_transaction>>& aborted,
      std::int64_t fetch_offset, std::error_code& error);
  // KIP-320: a Fetch response said the leader's log diverges from what was fetched.
  // `source`: what reported it (the Fetch response, or OffsetForLeaderEpoch).
  void on_diverging_epoch(const topic_partition& tp, partition_state& state,
                          std::int64_t fetch_offset, std::int32_t epoch, std::int64_t end_offset,
                          const char* source = "fetch");
  // KIP-320 for Fetch below v12: asks each leader (OffsetForLeaderEpoch, one request per leader)
  // where the epoch of each partition's position ends, and seeks back, resets or fails as for a
  // diverging epoch. Partitions whose broker fetches at v12+ (the fetch checks them) or has no
  // usable OffsetForLeaderEpoch are marked checked without a request.
  asio::awaitable<void> validate_positions(
      std::map<std::int32_t, std::vector<topic_partition>> by_leader);
  // The Fetch version used with a broker: the negotiated one, at most fetch_version_cap.
  std::int16_t fetch_version(const connection& conn) const;
  std::optional<std::int16_t> fetch_version_cap;  // limit_fetch_version_for_testing
  bool fetchable(const partition_state& state) const;
  std::vector<consumer_record> drain(std::size_t max_records,
                                     const std::vector<topic_partition>& only);
  void raise_errors(const std::vector<topic_partition>& only);

  // ---- consumer_group.cpp, group_offsets.cpp ----
  bool subscribed() const {
    return mode == subscription_mode::topics || mode == subscription_mode::pattern;
  }
  asio::awaitable<std::map<topic_partition, std::optional<offset_and_metadata>>> fetch_committed(
      std::vector<topic_partition> partitions);
  asio::awaitable<void> commit_offsets(std::map<topic_partition, offset_and_metadata> offsets);
  std::map<topic_partition, offset_and_metadata> consumed_offsets() const;
  // Group work the scheduler does before fetching (join, rejoin, pattern refresh, auto commit).
  asio::awaitable<void> group_tick();
  asio::awaitable<void> leave_group_on_stop();
  // True while the group forbids handing out or fetching records (eager rebalance, lost partitions,
  // left the group after max_poll_interval).
  bool group_blocks_fetching() const;
  // getmany's hook: notes the poll (max_poll_interval), raises a fatal group error.
  void on_poll();
};

}  // namespace sluice::kafka
