#pragma once

// stream_app's state, shared by the files that implement its jobs (private to runtime/):
// stream_app_settings.cpp checks and applies the configuration, stream_app_start.cpp starts the
// clients and joins the group, stream_app_assignor.cpp follows the task assignor's orders
// (standbys, warm-ups, fencing vanished owners), and stream_app.cpp runs the loop (poll,
// process, punctuate, commit) and shuts down.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kafka/client/cluster.hpp"
#include "kafka/consumer/consumer.hpp"
#include "runtime/app_endpoint.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/client_ports.hpp"
#include "runtime/input_decoder.hpp"
#include "runtime/rebalance_handoff.hpp"
#include "runtime/record_collector.hpp"
#include "runtime/state_directory.hpp"
#include "runtime/stream_app.hpp"
#include "runtime/task_assignor.hpp"
#include "runtime/task_manager.hpp"

namespace sluice::runtime {

// The first pause between two asks for a rebalance by a member whose warm-ups caught up.
inline constexpr std::chrono::seconds first_warmup_pause{10};
// How long a look-up of the group's committed offsets for the standbys may hold the loop.
inline constexpr std::chrono::seconds standby_limit_lookup_timeout{1};

struct stream_app::impl {
  using clock = std::chrono::steady_clock;

  impl(stream_app& owner, asio::any_io_executor executor, operators::topology topology,
       runtime_config config, const operators::function_registry& registry);

  // The connection of a cluster the topology names; "" is the default one (config.client).
  runtime_config::cluster_connection& connection_of(const std::string& cluster);

  // Every cluster the sources, tables and sinks name has a connection, whose settings are checked.
  void check_clusters();

  static void check_client_properties(const runtime_config::client_properties& p);

  // Standbys need the runtime's task assignor, which only the classic protocol lets a client run.
  void choose_group_protocol();

  // Moves the two settings the runtime itself acts on from the home cluster's properties into
  // config.
  void take_client_properties(runtime_config::client_properties& p);

  // The user's settings over the runtime's defaults; one that no client of its part uses is logged.
  void apply_client_properties(const runtime_config::client_properties& p,
                               kafka::consumer_config& consumer_config,
                               kafka::producer_config& producer_config);

  bool exactly_once() const {
    return topology.delivery == operators::delivery_guarantee::exactly_once;
  }

  asio::awaitable<void> run();
  asio::awaitable<void> start_clients(const std::string& instance_id);
  asio::awaitable<record_collector::routes> start_other_cluster_producers(std::int32_t partitions);
  kafka::client_config admin_config_of(const runtime_config::cluster_connection& connection) const;
  asio::awaitable<void> loop();
  asio::awaitable<void> handle_rebalance_events();
  asio::awaitable<void> process(std::vector<kafka::consumer_record> batch);
  // `decoded`: the record as the input_decoder decoded it ahead, if it did.
  asio::awaitable<void> process_record(task& t, const kafka::consumer_record& in,
                                       std::optional<decoded_record> decoded = std::nullopt);
  asio::awaitable<void> process_ordered_inputs();
  asio::awaitable<void> punctuate();
  void use_task_assignor(kafka::consumer_config& consumer_config,
                         const kafka::client_config& client, const std::string& instance_id);
  asio::awaitable<void> follow_assignor_orders();
  asio::awaitable<void> fence_vanished_owners();
  asio::awaitable<std::map<kafka::topic_partition, std::int64_t>> group_committed_offsets(
      std::vector<kafka::topic_partition> partitions);
  void ask_for_warmed_up_tasks();
  asio::awaitable<std::vector<kafka::topic_partition>> not_caught_up(
      std::vector<kafka::topic_partition> empty);
  asio::awaitable<void> handle_error(const operators::processing_error& error,
                                     const kafka::consumer_record& in);
  asio::awaitable<void> commit_at_most_once(const std::vector<kafka::consumer_record>& batch);
  asio::awaitable<void> shut_down(bool clean);
  void open_endpoint();
  std::optional<std::string> not_ready_reason() const;

  stream_app& owner;
  asio::any_io_executor executor;
  operators::topology topology;
  runtime_config config;
  const operators::function_registry& registry;
  operators::topology_plan plan;
  std::filesystem::path app_dir;
  state_directory* directory = nullptr;  // run()'s, locked while it runs

  std::unique_ptr<kafka::cluster> admin_cluster;
  std::unique_ptr<kafka::consumer> consumer;
  std::unique_ptr<kafka::consumer> restore_consumer;
  std::unique_ptr<kafka::consumer> standby_consumer;  // with the task assignor only
  std::shared_ptr<task_assignor> assignor;            // the classic protocol's
  std::uint64_t applied_assignment = 0;               // assignor->assignments() whose orders hold
  bool warmup_rejoin_asked = false;
  clock::time_point next_probe{};
  clock::time_point next_warmup_ask{};
  clock::duration warmup_pause{first_warmup_pause};
  std::set<task_id> warmups_asked_for;  // at the last ask
  clock::time_point next_state_cleanup{};
  std::optional<kafka::producer_config> fencing_config;  // exactly-once with the task assignor
  std::uint64_t fenced_for = 0;                          // assignor->assignments() fenced for
  std::unique_ptr<kafka_producer_port> producer;  // owns the producer, which a fence replaces
  // Cluster name -> the producer of the sinks on that cluster, when it is not the home cluster.
  std::map<std::string, std::unique_ptr<kafka_producer_port>> other_cluster_producers;
  std::optional<runtime_config::cluster_connection> default_connection;  // connection_of("")
  std::unique_ptr<input_port> input;  // the consumer, as the commit path sees it
  std::shared_ptr<rebalance_handoff> rebalance;
  std::unique_ptr<task_manager> tasks;
  std::unique_ptr<record_collector> collector;
  std::unique_ptr<input_decoder> decoder;  // with config.decode_ahead
  std::unique_ptr<checkpoint> commits;
  std::shared_ptr<state::rocksdb::memory_budget> memory;
  std::unique_ptr<app_endpoint> endpoint;
  clock::time_point last_turn = clock::now();  // of the loop, for /health
  bool stopping = false;

  std::vector<operators::output_record> outputs;  // reused per record
  // The per-partition and per-topic counters of the last record and output: most follow one
  // another.
  std::string counted_topic;
  std::int32_t counted_partition = -1;
  std::uint64_t* records_in_of_partition = nullptr;
  std::string last_output_topic;
  std::uint64_t* records_out_to_topic = nullptr;
  void count_output(const std::string& topic) {
    if (records_out_to_topic == nullptr || topic != last_output_topic) {
      last_output_topic = topic;
      records_out_to_topic = &owner.metrics_.records_out_to(topic);
    }
    ++*records_out_to_topic;
  }
  clock::time_point started = clock::now();
  bool processed_any = false;
};

}  // namespace sluice::runtime
