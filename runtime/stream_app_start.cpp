#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>

#include "kafka/consumer/consumer.hpp"
#include "runtime/group_settings.hpp"
#include "runtime/internal_topics.hpp"
#include "runtime/stream_app_impl.hpp"

namespace sluice::runtime {
namespace {

using clock = std::chrono::steady_clock;

// Kafka Streams' transaction.timeout.ms under exactly-once: a crashed instance's open transaction
// blocks the partitions it wrote (read_committed) at most this long if it does not come back.
constexpr std::chrono::milliseconds eos_transaction_timeout{10'000};

// The runtime's producers batch up to 128 KiB per partition instead of the Java client's 16 KiB
// (Kafka Streams too picks its own producer defaults): a stream of small outputs then reaches the
// broker in fewer, larger batches, which halved the broker's CPU per record on the pipeline
// benchmark (docs/benchmarks.md) for a few MB of memory. `-X batch.size` still wins.
constexpr std::size_t runtime_batch_size = std::size_t{128} * 1024;

kafka::producer_config runtime_producer_config(const kafka::client_config& client) {
  kafka::producer_config config;
  static_cast<kafka::client_config&>(config) = client;
  config.batch_size = runtime_batch_size;
  return config;
}

// Logs a start-up step that took over a second, naming it: a step that needs a coordinator or a
// partition leader on a broker that just died waits until the controller fences that broker
// (broker.session.timeout.ms), and a slow restart should say which step it waited on.
class slow_start_steps {
 public:
  explicit slow_start_steps(const std::string& app) : app_(app) {}
  void done(std::string_view step) {
    const auto now = clock::now();
    if (now - last_ > std::chrono::seconds(1)) {
      spdlog::info("{}: start-up step '{}' took {:.2f} s", app_, step,
                   std::chrono::duration<double>(now - last_).count());
    }
    last_ = now;
  }

 private:
  const std::string& app_;
  clock::time_point last_ = clock::now();
};

// The assignor's process name: one per process, shared by its stream threads.
std::string default_process_id() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  return std::string(host.data()) + ":" + std::to_string(::getpid());
}

}  // namespace

asio::awaitable<void> stream_app::impl::start_clients(const std::string& instance_id) {
  memory = config.shared_memory ? config.shared_memory
                                : std::make_shared<state::rocksdb::memory_budget>(config.memory);
  // The group, its offsets, the internal topics and the transactional producer: the home cluster.
  const auto& home = connection_of(topology.home_cluster());
  slow_start_steps steps(topology.name);
  admin_cluster = std::make_unique<kafka::cluster>(executor, admin_config_of(home));
  co_await admin_cluster->start();
  steps.done("admin client: cluster metadata");
  internal_topic_options topic_options{
      config.replication_factor,
      config.on_error == error_policy::dead_letter ? config.dead_letter_topic : ""};
  const auto partitions =
      co_await prepare_internal_topics(*admin_cluster, topology, plan, std::move(topic_options));
  steps.done("internal topics");
  auto routes = co_await start_other_cluster_producers(partitions);
  steps.done("producers of other clusters");

  kafka::consumer_config consumer_config;
  static_cast<kafka::client_config&>(consumer_config) = home.client;
  consumer_config.group_id = topology.name;
  if (config.static_membership)
    consumer_config.group_instance_id = topology.name + "-" + instance_id;
  consumer_config.leave_group_on_close = config.leave_group_on_stop;
  consumer_config.group_protocol = config.group_protocol;
  if (config.group_protocol == kafka::group_protocol_type::consumer) {
    if (config.static_membership) {
      // The id goes to disk before the join: whenever this process dies, its successor knows it.
      consumer_config.previous_member_id = directory->member_id();
      consumer_config.member_id = kafka::new_group_member_id();
      directory->keep_member_id(*consumer_config.member_id);
    }
    // Range gives partition N of every input topic to one member: a task's inputs stay together.
    consumer_config.group_remote_assignor = std::string("range");
    if (config.session_timeout)
      co_await apply_group_session_timeout(*admin_cluster, topology.name, *config.session_timeout);
  } else {
    use_task_assignor(consumer_config, home.client, instance_id);
  }
  consumer_config.enable_auto_commit = false;
  consumer_config.offset_reset = kafka::auto_offset_reset::earliest;
  if (exactly_once()) consumer_config.isolation = kafka::isolation_level::read_committed;
  restore_consumer =
      std::make_unique<kafka::consumer>(executor, restore_consumer_config(home.client));

  auto producer_config = runtime_producer_config(home.client);
  if (exactly_once()) {
    producer_config.transactional_id = topology.name + "-" + instance_id;
    producer_config.transaction_timeout = eos_transaction_timeout;
  }
  apply_client_properties(home.properties, consumer_config, producer_config);
  if (assignor && exactly_once()) fencing_config = producer_config;
  consumer = std::make_unique<kafka::consumer>(executor, consumer_config);
  producer = std::make_unique<kafka_producer_port>(executor, producer_config);

  co_await producer->start();
  steps.done(exactly_once() ? "producer: transactional id initialised" : "producer");
  co_await restore_consumer->start();
  if (standby_consumer) co_await standby_consumer->start();
  co_await consumer->start();
  steps.done("consumers");
  input = make_input_port(*consumer);
  tasks = std::make_unique<task_manager>(topology, plan, registry, app_dir, memory, *input,
                                         *restore_consumer, owner.metrics_);
  if (standby_consumer) {
    tasks->enable_standbys(*standby_consumer,
                           [this](std::vector<kafka::topic_partition> partitions) {
                             return group_committed_offsets(std::move(partitions));
                           });
  }
  collector = std::make_unique<record_collector>(*producer, std::move(routes));
  if (config.decode_ahead) decoder = std::make_unique<input_decoder>(source_formats_of(plan));
  commits = std::make_unique<checkpoint>(topology, *tasks, *collector, *input, *producer,
                                         config.hooks, owner.metrics_);
  // The loop waits in getmany() between records; an event must not wait for its poll timeout
  // (100 ms more for every start and every rebalance step).
  rebalance = std::make_shared<rebalance_handoff>(executor, [this] { consumer->wake_getmany(); });
  consumer->subscribe(tasks->input_topics(), rebalance);
}

// The classic protocol: the runtime's cooperative task assignor, which needs a consumer of its
// own for standby and warm-up tasks, and the member's detection settings.
void stream_app::impl::use_task_assignor(kafka::consumer_config& consumer_config,
                                         const kafka::client_config& client,
                                         const std::string& instance_id) {
  if (config.session_timeout) consumer_config.session_timeout = *config.session_timeout;
  consumer_config.heartbeat_interval =
      config.heartbeat_interval ? *config.heartbeat_interval
                                : std::min<std::chrono::milliseconds>(
                                      std::chrono::seconds(3), consumer_config.session_timeout / 5);
  auto standby_config = restore_consumer_config(client);
  standby_config.client_id = client.client_id + "-standby";
  standby_consumer = std::make_unique<kafka::consumer>(executor, standby_config);
  task_assignment_settings settings{config.standby_replicas, config.acceptable_recovery_lag};
  std::string process = config.process_id.empty() ? default_process_id() : config.process_id;
  std::string transactional_id = exactly_once() ? topology.name + "-" + instance_id : std::string();
  assignor = std::make_shared<task_assignor>(
      task_manager::sub_topologies_by_topic(plan), settings, [this, process, transactional_id] {
        auto report = tasks->standbys()->report(process, tasks->tasks());
        report.transactional_id = transactional_id;
        return report;
      });
  consumer_config.assignment_strategies = {std::string(task_assignor_name)};
  consumer_config.custom_assignors = {assignor};
  spdlog::info(
      "{}: classic group protocol with the task assignor ({} standby replicas, process {}, "
      "instance {}, "
      "session timeout {} ms, heartbeat {} ms)",
      topology.name, config.standby_replicas, process, instance_id,
      consumer_config.session_timeout.count(), consumer_config.heartbeat_interval.count());
}

// Each cluster other than the home one that a sink is on: its sink topics created there (with
// the input's partition count), and a producer of its own, idempotent (the Java default) and
// outside any transaction; validation refused such sinks under exactly-once.
asio::awaitable<record_collector::routes> stream_app::impl::start_other_cluster_producers(
    std::int32_t partitions) {
  record_collector::routes routes;
  for (const auto* sink_ptr : topology.every_sink()) {
    const auto& sink = *sink_ptr;
    if (sink.cluster == topology.home_cluster()) continue;
    auto& producer_of_cluster = other_cluster_producers[sink.cluster];
    if (!producer_of_cluster) {
      const auto& connection = connection_of(sink.cluster);
      kafka::cluster admin(executor, admin_config_of(connection));
      co_await admin.start();
      std::exception_ptr failure;
      try {
        co_await prepare_sink_topics(admin, topology, sink.cluster, partitions,
                                     config.replication_factor);
      } catch (...) {
        failure = std::current_exception();
      }
      admin.close();
      if (failure) std::rethrow_exception(failure);
      auto producer_config = runtime_producer_config(connection.client);
      kafka::consumer_config unused;
      apply_client_properties(connection.properties, unused, producer_config);
      producer_of_cluster = std::make_unique<kafka_producer_port>(executor, producer_config);
      co_await producer_of_cluster->start();
      spdlog::info("{}: sinks on cluster '{}' have a producer of their own", topology.name,
                   sink.cluster);
    }
    for (const auto& topic : sink.written_topics()) routes[topic] = producer_of_cluster.get();
  }
  co_return routes;
}

void stream_app::impl::open_endpoint() {
  const auto& settings = *config.endpoint;
  endpoint =
      std::make_unique<app_endpoint>(executor, settings, std::vector<const stream_app*>{&owner});
  owner.endpoint_port_ = endpoint->port();
  spdlog::info("{}: serving /metrics, /health and /ready on {}:{}", topology.name, settings.address,
               endpoint->port());
}

}  // namespace sluice::runtime
