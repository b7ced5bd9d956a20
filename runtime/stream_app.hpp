#pragma once

// stream_app: runs one pipeline (an operators::topology) against a Kafka cluster: Kafka Streams'
// KafkaStreams + StreamThread, on one Asio thread.
//
//   consumer (group = application id) ──records──▶ task per input partition ──outputs──▶ collector
//        │ rebalance callbacks                      │ stores (RocksDB, changelogged)     ▲
//        ▼                                          └──changes at commit────────────────┘
//   rebalance_handoff ──events──▶ the loop          (record_collector ──▶ producer)
//
// The loop (run()) is the only code that processes, commits, or opens and closes tasks; it does
// each at a safe point between records, in this order per turn: rebalance events
// (rebalance_handoff), a slice of restoring (task_manager/changelog_reader, other tasks keep
// processing), a poll, the records, and the commit when the interval is over (checkpoint). So
// commits and rebalances never overlap, by construction.
//
// Scaling out is running more processes with the same pipeline: they join the same consumer group
// and share the partitions. A process is a static member by default (KIP-345, its id kept in the
// state directory): a restart after kill -9 gets its partitions back at once, without waiting for
// the session timeout; a clean stop leaves the group so that others take over at once. A task's
// stores restore only the gap since their last commit: RocksDB's WAL (unsynced; a process crash
// cannot lose it) keeps every commit.
//
// Delivery guarantees (evkafka's names):
//   at_most_once   input offsets are committed as soon as records are fetched, before processing.
//   at_least_once  every record of the interval is confirmed delivered, then stores and input
//                  offsets are committed, every commit interval (30 s by default).
//   exactly_once   one transactional producer (EOS v2, KIP-447) writes outputs, changelog records
//                  and the input offsets (send_offsets_to_transaction with the consumer's group
//                  metadata, so a zombie of an older generation is fenced) in one transaction per
//                  commit interval (100 ms by default), read_committed input. Stores apply their
//                  writes only after the transaction committed; an aborted transaction rewinds
//                  the input to the committed offsets and drops the stores' writes.
//
// Threading: every member runs on the single-threaded executor given to the constructor (the
// consumer, the producer and the stores share it, so no locks). Lifetime: run() returns after
// request_stop() (or a fatal error, rethrown) once it has committed and left the group.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "kafka/client/client_config.hpp"
#include "kafka/consumer/consumer_config.hpp"
#include "operators/function_registry.hpp"
#include "operators/topology.hpp"
#include "runtime/changelog_restorer.hpp"
#include "runtime/metrics_exposition.hpp"
#include "runtime/runtime_metrics.hpp"
#include "state/rocksdb/memory_budget.hpp"

namespace sluice::runtime {

namespace asio = boost::asio;

// What happens to a record the operators cannot process (bad JSON, a failing expression).
enum class error_policy : std::uint8_t {
  stop,         // stop the application with the error (nothing is committed past the record)
  skip,         // log it, count it, go on
  dead_letter,  // write the input record unchanged to the dead-letter topic, with headers saying
                // why
};

// Failure injection for tests: called on the app's thread at points of the commit path where a
// crash or a failed transaction cannot be provoked from outside. A hook that throws fails the
// commit right there, as a crash or a broker error at that point would.
struct commit_hooks {
  // Exactly-once: the records and the input offsets are in the transaction, commit_transaction is
  // next. A retriable kafka_error thrown here takes the abort path (the transaction is aborted).
  std::function<void()> before_transaction_commit;
  // Kafka has the commit (the transaction committed, or the at-least-once flush succeeded); the
  // stores have not applied their buffered writes yet. Throwing here stops the app with RocksDB
  // one commit behind its changelogs: the next start restores exactly that gap.
  std::function<void()> after_kafka_commit;
};

struct runtime_config {
  kafka::client_config client;  // bootstrap servers, security, client id
  std::filesystem::path state_dir = "/tmp/sluice-state";
  state::rocksdb::memory_budget_config memory;
  error_policy on_error = error_policy::stop;
  std::string dead_letter_topic;  // default "<application>-dead-letter"
  // Identifies this process among the application's instances: the transactional id suffix under
  // exactly-once and the static membership id (KIP-345). Default: a random id kept in the state
  // directory, so a restarted process fences its own zombie and gets its partitions back.
  std::optional<std::string> instance_id;
  bool static_membership = true;
  // A clean stop leaves the group even as a static member, so its partitions move at once; false
  // keeps them for this member until the session timeout (a restart without a rebalance).
  bool leave_group_on_stop = true;
  // The group protocol. `consumer` (KIP-848, the default) has no group-wide barrier: a member
  // that restarts gets its partitions back while others come and go, and a move revokes only the
  // partitions that move; the coordinator assigns (range), knowing nothing of local state.
  // `classic` (JoinGroup/SyncGroup) uses the runtime's own cooperative task assignor: tasks stay
  // where their state is, standbys and warm-ups; a restart that meets a rebalance waits for
  // every member to rejoin.
  kafka::group_protocol_type group_protocol = kafka::group_protocol_type::consumer;
  // How long the group waits for a silent member. Classic: the member's session timeout (default
  // 45 s). Consumer protocol: set as the group's config consumer.session.timeout.ms (default the
  // broker's group.consumer.session.timeout.ms, 45 s).
  std::optional<std::chrono::milliseconds> session_timeout;
  // Classic protocol only: how often the member tells the coordinator it is alive. Default a
  // fifth of the session timeout, at most 3 s, so that survivors hear of a dead member's
  // rebalance soon after the session timeout found it.
  std::optional<std::chrono::milliseconds> heartbeat_interval;
  // Standby replicas of every stateful task on other instances (Kafka Streams'
  // num.standby.replicas): kept up to date from the changelogs, so a task whose instance dies
  // moves to an up-to-date standby and restores only the last changes. Standbys, warm-ups and
  // state-aware placement are decided by the runtime's task assignor (task_assignment.hpp),
  // which works with the classic protocol: more than 0 selects it.
  int standby_replicas = 0;
  // A copy of a task at most this many changelog offsets behind the freshest counts as caught
  // up: the task may move there (Kafka Streams' acceptable.recovery.lag).
  std::int64_t acceptable_recovery_lag = 10'000;
  // How often a member with warm-up tasks that have not caught up asks for a rebalance anyway
  // (Kafka Streams' probing.rebalance.interval.ms); it asks at once when they have.
  std::chrono::milliseconds probing_rebalance_interval{std::chrono::minutes(5)};
  // With the task assignor: the local state of a task neither active nor standby here for this
  // long is deleted (Kafka Streams' state.cleanup.delay.ms); until then a task that comes back
  // restores only what changed.
  std::chrono::milliseconds state_cleanup_delay{std::chrono::minutes(10)};
  // Names the process to the assignor (standbys go to another process than the active's):
  // empty is host name and process id; the stream threads of one process share it.
  std::string process_id;
  std::chrono::milliseconds poll_timeout{100};
  // Decode the input (the key and value by the source's formats, the copies out of the fetch
  // buffer) on a helper thread ahead of the loop (input_decoder.hpp): the loop then mostly only
  // processes. false: the loop decodes every record itself, one thread fewer.
  bool decode_ahead = true;
  // A task reading several partitions (a stream and a joined table) takes their records in
  // timestamp order; a partition with nothing fetched but records on the broker holds it back
  // at most this long (Kafka Streams' max.task.idle.ms).
  std::chrono::milliseconds max_task_idle{2000};
  // Replication factor of the topics the application creates (-1: the broker's default).
  std::int16_t replication_factor = -1;
  // Client settings by their Java names (kafka/properties: -X, a properties file, the pipeline's
  // `kafka:` section), applied over the runtime's defaults: the per-client parts first, then
  // `all` (the command line's, which wins) to every client. group.protocol and session.timeout.ms
  // set the fields above. The names the runtime owns (group.id, group.instance.id,
  // enable.auto.commit, isolation.level, transactional.id) are refused by the constructor.
  struct client_properties {
    std::map<std::string, std::string> all, consumer, producer, admin;
  } properties;
  // Several clusters: the topology's named clusters (topology::clusters), each with its own
  // connection (bootstrap servers, security, client id) and client settings, applied like
  // `properties` (which, with `client`, is the default cluster's only). Every name the topology's
  // sources, tables and sinks use must be here. The consumer group, its offsets, the internal
  // topics, the restore consumer and the (transactional) producer are on the home cluster, the
  // sources'; each other cluster a sink is on gets an idempotent producer of its own.
  struct cluster_connection {
    kafka::client_config client;
    client_properties properties;
  };
  std::map<std::string, cluster_connection> clusters;
  // An HTTP endpoint on the app's executor: /metrics (Prometheus text, docs/operations.md lists
  // every metric), /health (200 while the loop turns; 503 once it has not for `stalled_after`)
  // and /ready (200 once joined and every assigned task restored, so an orchestrator can wait for
  // restores). nullopt: none.
  struct http_endpoint_config {
    std::string address = "0.0.0.0";
    std::uint16_t port = 0;  // 0: any free port (stream_app::endpoint_port says which)
    std::chrono::seconds stalled_after{60};
  };
  std::optional<http_endpoint_config> endpoint;
  // The RocksDB memory budget to share with other apps of the process (several pipelines in one
  // `sluice run`); null: one of `memory`'s size for this app alone.
  std::shared_ptr<state::rocksdb::memory_budget> shared_memory;
  // The `thread` label of this app's metrics when a process runs a pipeline on several stream
  // threads (sluice run --threads); empty: no such label.
  std::string thread_label;
  commit_hooks hooks;  // tests only
};

class stream_app {
 public:
  // Throws std::invalid_argument for a topology that validate_topology rejects, and for a client
  // property that is unknown, malformed or owned by the runtime.
  stream_app(asio::any_io_executor executor, operators::topology topology, runtime_config config,
             const operators::function_registry& registry);
  ~stream_app();
  stream_app(const stream_app&) = delete;
  stream_app& operator=(const stream_app&) = delete;

  // Creates the internal topics it lacks, joins the group and processes until request_stop().
  // Throws kafka_error / processing_failure for what it cannot recover from, after aborting what
  // was in flight.
  asio::awaitable<void> run();
  // Thread-safe: run() commits, leaves the group and returns within about one poll timeout.
  void request_stop() { stop_requested_ = true; }

  const runtime_metrics& metrics() const { return metrics_; }
  // The port the HTTP endpoint listens on, once run() has opened it (0 before, or with none).
  // Thread-safe.
  std::uint16_t endpoint_port() const { return endpoint_port_.load(); }
  const operators::topology& topology() const;
  // ---- on the app's executor only (an HTTP handler or a timer there) --------------------------
  // What a Prometheus scrape reads (metrics_exposition.hpp).
  metrics_sources scrape_sources() const;
  // The executor the app runs on (an endpoint serving apps of several threads reads each there).
  const asio::any_io_executor& executor() const;
  // Why the app is not ready (starting, joining the group, restoring state, stopping); nullopt
  // once joined with every assigned task restored.
  std::optional<std::string> not_ready_reason() const;
  // Since the loop last began a turn (or run() started): a stalled app stops answering /health.
  std::chrono::steady_clock::duration time_since_loop_turned() const;
  // Every store still restoring, with its progress. On the app's executor only (a timer there).
  std::vector<changelog_reader::store_progress_view> restore_progress() const;

  struct impl;

 private:
  std::atomic<bool> stop_requested_{false};
  std::atomic<std::uint16_t> endpoint_port_{0};
  runtime_metrics metrics_;
  std::unique_ptr<impl> impl_;
};

// A record the operators could not process, under error_policy::stop.
class processing_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace sluice::runtime
