#pragma once

// The Kafka consumer: aiokafka's AIOKafkaConsumer in C++20 coroutines.
//
// Two ways to get partitions, never mixed (IllegalState, as in every Kafka client):
//   assign(partitions)            manual assignment; positions from seek or auto_offset_reset
//   subscribe(topics | pattern)   a consumer group assigns them: the classic protocol (JoinGroup /
//                                 SyncGroup, client-side assignors) by default, or KIP-848's
//                                 `consumer` protocol (group_protocol = consumer: heartbeats only,
//                                 the coordinator assigns, incremental reconciliation)
//
// Fetching: a scheduler coroutine groups the fetchable partitions by their leader and keeps one
// Fetch in flight per leader broker, covering all that broker's partitions. Responses are decoded
// at once into chunks (records whose key/value point into the response bytes; compressed batches
// are copied out of the decompression buffer once per batch) and queued per partition. A
// partition is fetched again only while it has fewer than two chunks queued, which bounds memory.
// Each broker's fetches run in an incremental fetch session (KIP-227): requests name only the
// partitions whose offsets moved, and responses carry only partitions with news. getmany() takes
// records from the queues round-robin over partitions. Leader moves
// (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, ...) refresh metadata and fetching follows the new
// leader; OFFSET_OUT_OF_RANGE resets by auto_offset_reset (`none` makes getmany throw, naming the
// partitions, until the application seeks).
//
// read_committed (KIP-98): the broker returns data up to the last stable offset and lists the
// aborted transactions whose data the response may contain; batches of those producers are dropped
// from each aborted transaction's first offset up to its abort marker. Control batches are never
// handed out.
//
// Threading: a consumer and its background tasks live on the single-threaded executor given to the
// constructor (an io_context run by one thread, or a strand); call every method from it. Lifetime:
// `co_await stop()` before destroying it. Destroying it without stop() neither commits nor leaves
// the group (the coordinator notices at session_timeout); it closes the connections and the
// background tasks end on the executor shortly after.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "kafka/client/cluster.hpp"
#include "kafka/client/consumer_group_metadata.hpp"
#include "kafka/client/identifiers.hpp"
#include "kafka/consumer/consumer_config.hpp"
#include "kafka/consumer/consumer_record.hpp"
#include "kafka/consumer/rebalance_listener.hpp"
#include "kafka/consumer/topic_partition.hpp"

namespace sluice::kafka {

// A topic regex the group coordinator evaluates (KIP-848 server-side regex, RE2/J syntax): only
// with group_protocol = consumer. Topics created later join the subscription without a metadata
// refresh on the client.
struct subscription_pattern {
  std::string regex;
};

// When the group last rebalanced, for benchmarks and health checks. A rebalance starts when the
// member (re)joins or learns of a new assignment and ends when the new assignment is in place,
// the rebalance listener's callbacks done (steady_clock time points).
struct group_statistics {
  std::uint64_t rebalances = 0;  // completed
  bool in_rebalance = false;
  std::optional<std::chrono::steady_clock::time_point> last_rebalance_start;
  std::optional<std::chrono::steady_clock::time_point> last_rebalance_end;
  generation_id generation{-1};  // or member epoch (KIP-848)
};

class consumer {
 public:
  // Validates the config (throws kafka_error(bad_configuration) naming the setting).
  consumer(asio::any_io_executor executor, consumer_config config);
  ~consumer();
  consumer(const consumer&) = delete;
  consumer& operator=(const consumer&) = delete;

  // Connects (bootstrap and broker metadata) and starts the fetch scheduler.
  asio::awaitable<void> start();
  // Commits consumed offsets when auto commit is on, leaves the group, stops the background tasks
  // and closes the connections. Bounded: it never waits longer than the request timeout per step,
  // also with brokers down.
  asio::awaitable<void> stop();

  // ---- manual assignment -------------------------------------------------------------------
  // Replaces the assignment. Partitions kept from the old assignment keep their position.
  // Throws kafka_error(illegal_state) if the consumer is subscribed.
  void assign(const std::vector<topic_partition>& partitions);
  std::set<topic_partition> assignment() const;

  // ---- group membership (classic or KIP-848 protocol) ----------------------------------------
  // Joins the group (group_id) for these topics; the listener (may be null) is awaited on every
  // revocation and assignment before fetching goes on. An exception a callback throws is logged
  // and rethrown by the next getmany()/getone() (Java's poll() does the same). Throws
  // illegal_state after assign().
  void subscribe(std::vector<std::string> topics,
                 std::shared_ptr<rebalance_listener> listener = nullptr);
  // Subscribes to every topic whose whole name matches the pattern, re-checked with each metadata
  // refresh (metadata_max_age), so topics created later join the subscription.
  void subscribe(std::regex pattern, std::shared_ptr<rebalance_listener> listener = nullptr);
  // The coordinator matches the topics (group_protocol = consumer only; illegal_state otherwise).
  void subscribe(subscription_pattern pattern,
                 std::shared_ptr<rebalance_listener> listener = nullptr);
  // Leaves the group (after revoking through the listener) and drops the assignment.
  asio::awaitable<void> unsubscribe();
  // Classic protocol: rejoins at the next poll, so the leader assigns again with this member's
  // new subscription user data (Java's enforceRebalance; a warmed-up standby asks for its task
  // this way). Partitions kept are not revoked under a cooperative assignor. The `consumer`
  // protocol's coordinator assigns by itself: nothing to do there.
  void request_rejoin();
  std::set<std::string> subscription() const;
  // The group's current generation, for a transactional producer (KIP-447). Throws illegal_state
  // without a group id.
  consumer_group_metadata group_metadata() const;
  // Rebalance counts and times; empty without a group id.
  group_statistics group_stats() const;

  // Commits the position of every assigned partition (the offsets consumed so far), or the given
  // offsets. Throws kafka_error: COMMIT_FAILED-like errors (illegal_generation, unknown_member_id,
  // rebalance_in_progress) when the group moved on and the partitions may belong to someone else.
  asio::awaitable<void> commit();
  asio::awaitable<void> commit(std::map<topic_partition, offset_and_metadata> offsets);
  // The group's committed offsets for these partitions (nullopt: none committed).
  asio::awaitable<std::map<topic_partition, std::optional<offset_and_metadata>>> committed(
      std::vector<topic_partition> partitions);
  // Seeks to the committed offsets (auto_offset_reset where none is committed).
  asio::awaitable<void> seek_to_committed(std::vector<topic_partition> partitions = {});

  // ---- positions -----------------------------------------------------------------------------
  // The next fetch returns `offset`. Throws illegal_state for a partition not assigned.
  void seek(const topic_partition& partition, log_offset offset);
  // Empty: every assigned partition. The new positions are looked up before these return.
  asio::awaitable<void> seek_to_beginning(std::vector<topic_partition> partitions = {});
  asio::awaitable<void> seek_to_end(std::vector<topic_partition> partitions = {});
  // The offset of the next record getmany would return; looked up first if unknown.
  asio::awaitable<log_offset> position(topic_partition partition);

  // ---- records -------------------------------------------------------------------------------
  // Up to max_records (0: max_poll_records) records from the given partitions (empty: all
  // assigned), waiting up to `timeout` for the first. Empty when nothing arrived in time.
  asio::awaitable<std::vector<consumer_record>> getmany(
      std::chrono::milliseconds timeout, std::size_t max_records = 0,
      std::vector<topic_partition> partitions = {});
  // A getmany() waiting now returns at once with what it has, possibly nothing; without one, the
  // next getmany() does (Java's wakeup(), without the exception). For a caller that waits in
  // getmany() and learns of other work elsewhere, e.g. from a rebalance listener.
  void wake_getmany();
  // One record, waiting up to `timeout`; nullopt when none arrived in time.
  asio::awaitable<std::optional<consumer_record>> getone(
      std::chrono::milliseconds timeout = std::chrono::milliseconds::max(),
      std::vector<topic_partition> partitions = {});

  // ---- what the last fetches said ------------------------------------------------------------
  // The high watermark / last stable offset of an assigned partition from its last fetch response.
  std::optional<log_offset> highwater(const topic_partition& partition) const;
  std::optional<log_offset> last_stable_offset(const topic_partition& partition) const;
  // When the last fetch response for the partition arrived (milliseconds since the epoch).
  std::optional<timestamp_ms> last_poll_timestamp(const topic_partition& partition) const;

  // ---- lookups -------------------------------------------------------------------------------
  asio::awaitable<std::map<topic_partition, log_offset>> beginning_offsets(
      std::vector<topic_partition> partitions);
  // The high watermark (read_uncommitted) or last stable offset (read_committed), as the
  // consumer's isolation level says, or as `isolation` says when given: a read_committed reader
  // may need the high watermark too, to know where the transactions still open end.
  asio::awaitable<std::map<topic_partition, log_offset>> end_offsets(
      std::vector<topic_partition> partitions, std::optional<isolation_level> isolation = {});
  // For each partition the earliest offset whose timestamp is >= the given one (nullopt: none).
  asio::awaitable<std::map<topic_partition, std::optional<offset_and_timestamp>>> offsets_for_times(
      std::map<topic_partition, timestamp_ms> timestamps);
  asio::awaitable<std::set<std::string>> topics();
  // nullopt when the topic does not exist.
  asio::awaitable<std::optional<std::set<partition_id>>> partitions_for_topic(std::string topic);

  // ---- flow control --------------------------------------------------------------------------
  void pause(const std::vector<topic_partition>& partitions);
  void resume(const std::vector<topic_partition>& partitions);
  std::set<topic_partition> paused() const;

  const consumer_config& config() const;
  kafka::cluster& cluster();
  // Testing hook: fetch at most at this Fetch version (4..18). Below 12 responses carry no
  // diverging epoch, so log truncation is detected with OffsetForLeaderEpoch instead (KIP-320),
  // as against brokers before 2.7.
  void limit_fetch_version_for_testing(int version);

  struct impl;

 private:
  // Shared with the background tasks, which keep the state alive until they have finished: a
  // consumer destroyed without stop() (an exception unwinding past it) tells them to stop, and
  // they may still be suspended on the executor when it is gone.
  std::shared_ptr<impl> impl_;
};

}  // namespace sluice::kafka
