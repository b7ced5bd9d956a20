#include "runtime/stream_app.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <set>

#include "kafka/client/clock.hpp"
#include "kafka/consumer/consumer.hpp"
#include "kafka/properties/client_properties.hpp"
#include "operators/topology_validation.hpp"
#include "runtime/app_endpoint.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/client_ports.hpp"
#include "runtime/group_settings.hpp"
#include "runtime/internal_topics.hpp"
#include "runtime/metrics_exposition.hpp"
#include "runtime/rebalance_handoff.hpp"
#include "runtime/record_collector.hpp"
#include "runtime/state_directory.hpp"
#include "runtime/task_assignor.hpp"
#include "runtime/task_manager.hpp"

namespace sluice::runtime {
namespace {

using clock = std::chrono::steady_clock;
using kafka::topic_partition;

// While a task restores, the loop polls its input without waiting and gives the restore this
// long per turn; the other tasks' records still come every turn.
constexpr std::chrono::milliseconds restore_slice{20};
// Kafka Streams' transaction.timeout.ms under exactly-once: a crashed instance's open transaction
// blocks the partitions it wrote (read_committed) at most this long if it does not come back.
constexpr std::chrono::milliseconds eos_transaction_timeout{10'000};
// The first pause between two asks for a rebalance by a member whose warm-ups caught up.
constexpr std::chrono::seconds first_warmup_pause{10};

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

operators::raw_record to_raw_record(const kafka::consumer_record& in) {
  operators::raw_record raw;
  raw.origin = {std::string(in.topic), in.partition, in.offset};
  if (in.key) raw.key = std::string(kafka::protocol::as_string_view(*in.key));
  if (in.value) raw.value = std::string(kafka::protocol::as_string_view(*in.value));
  raw.timestamp = in.timestamp;
  raw.headers.reserve(in.headers.size());
  for (const auto& h : in.headers) {
    std::optional<std::string> value;
    if (h.value) value = std::string(kafka::protocol::as_string_view(*h.value));
    raw.headers.push_back({std::string(h.key), std::move(value)});
  }
  return raw;
}

}  // namespace

struct stream_app::impl {
  impl(stream_app& owner, asio::any_io_executor executor, operators::topology topology,
       runtime_config config, const operators::function_registry& registry)
      : owner(owner),
        executor(executor),
        topology(std::move(topology)),
        config(std::move(config)),
        registry(registry) {
    auto problems = operators::validate_topology(this->topology, registry);
    if (!problems.empty()) {
      std::string message = "pipeline '" + this->topology.name + "' is not valid:";
      for (const auto& problem : problems)
        message += "\n  " + problem.path + ": " + problem.message;
      throw std::invalid_argument(message);
    }
    check_clusters();
    take_client_properties(connection_of(this->topology.home_cluster()).properties);
    choose_group_protocol();
    plan = operators::plan_topology(this->topology);
    if (this->config.dead_letter_topic.empty())
      this->config.dead_letter_topic = this->topology.name + "-dead-letter";
    app_dir = this->config.state_dir / this->topology.name;
  }

  // The connection of a cluster the topology names; "" is the default one (config.client).
  runtime_config::cluster_connection& connection_of(const std::string& cluster) {
    if (cluster.empty()) {
      if (!default_connection)
        default_connection = runtime_config::cluster_connection{config.client, config.properties};
      return *default_connection;
    }
    return config.clusters.at(cluster);
  }

  // Every cluster the sources, tables and sinks name has a connection, whose settings are checked.
  void check_clusters() {
    std::set<std::string> named;
    for (const auto& source : topology.sources) named.insert(source.cluster);
    for (const auto& table : topology.tables) named.insert(table.cluster);
    for (const auto& sink : topology.sinks) named.insert(sink.cluster);
    named.erase("");
    for (const auto& name : named) {
      auto found = config.clusters.find(name);
      if (found == config.clusters.end()) {
        throw std::invalid_argument("pipeline '" + topology.name + "': cluster '" + name +
                                    "' has no connection settings (runtime_config::clusters)");
      }
      check_client_properties(found->second.properties);
    }
    check_client_properties(config.properties);
  }

  static void check_client_properties(const runtime_config::client_properties& p) {
    static const std::set<std::string> owned = {"group.id", "group.instance.id",
                                                "enable.auto.commit", "isolation.level",
                                                "transactional.id"};
    for (const auto* part : {&p.all, &p.consumer, &p.producer, &p.admin}) {
      for (const auto& [name, value] : *part) {
        if (owned.contains(name)) {
          throw std::invalid_argument(
              "client property '" + name +
              "' is set by the runtime (the group is the pipeline's name; the "
              "instance id and the delivery guarantee decide the rest); remove it");
        }
        kafka::check_property_name(name);
      }
    }
  }

  // Standbys need the runtime's task assignor, which only the classic protocol lets a client run.
  void choose_group_protocol() {
    if (config.standby_replicas < 0) {
      throw std::invalid_argument("pipeline '" + topology.name +
                                  "': standby replicas must be 0 or more, not " +
                                  std::to_string(config.standby_replicas));
    }
    if (config.standby_replicas > 0 &&
        config.group_protocol == kafka::group_protocol_type::consumer) {
      spdlog::info(
          "{}: {} standby replica(s): using the classic group protocol, whose assignment the "
          "runtime's "
          "task assignor decides (the consumer protocol's coordinator assigns by itself)",
          topology.name, config.standby_replicas);
      config.group_protocol = kafka::group_protocol_type::classic;
    }
  }

  // Moves the two settings the runtime itself acts on from the home cluster's properties into
  // config.
  void take_client_properties(runtime_config::client_properties& p) {
    kafka::consumer_config probe;
    for (auto* part : {&p.all, &p.consumer}) {
      for (const auto* name : {"group.protocol", "session.timeout.ms"}) {
        auto it = part->find(name);
        if (it == part->end()) continue;
        kafka::apply_property({.consumer = &probe}, it->first, it->second);
        if (it->first == "group.protocol") config.group_protocol = probe.group_protocol;
        if (it->first == "session.timeout.ms") config.session_timeout = probe.session_timeout;
        part->erase(it);
      }
    }
  }

  // The user's settings over the runtime's defaults; one that no client of its part uses is logged.
  void apply_client_properties(const runtime_config::client_properties& p,
                               kafka::consumer_config& consumer_config,
                               kafka::producer_config& producer_config) {
    for (const auto& [name, value] : p.consumer)
      kafka::apply_property({.consumer = &consumer_config}, name, value);
    for (const auto& [name, value] : p.producer)
      kafka::apply_property({.producer = &producer_config}, name, value);
    for (const auto& [name, value] : p.all) {  // last: the command line wins over the pipeline file
      const bool consumer_took = kafka::apply_property({.consumer = &consumer_config}, name, value);
      const bool producer_took = kafka::apply_property({.producer = &producer_config}, name, value);
      if (!consumer_took && !producer_took)
        spdlog::warn("{}: client property '{}' is not used; ignored", topology.name, name);
    }
  }

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
  asio::awaitable<void> process_record(task& t, const kafka::consumer_record& in);
  asio::awaitable<void> process_ordered_inputs();
  asio::awaitable<void> punctuate();
  void use_task_assignor(kafka::consumer_config& consumer_config,
                         const kafka::client_config& client, const std::string& instance_id);
  asio::awaitable<void> follow_assignor_orders();
  asio::awaitable<void> fence_vanished_owners();
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

stream_app::stream_app(asio::any_io_executor executor, operators::topology topology,
                       runtime_config config, const operators::function_registry& registry)
    : impl_(std::make_unique<impl>(*this, executor, std::move(topology), std::move(config),
                                   registry)) {}

stream_app::~stream_app() = default;

const operators::topology& stream_app::topology() const {
  return impl_->topology;
}

metrics_sources stream_app::scrape_sources() const {
  const auto& i = *impl_;
  metrics_sources sources{i.topology.name,  i.config.thread_label, &metrics_,
                          i.tasks.get(),    i.consumer.get(),      i.exactly_once(),
                          i.producer.get(), i.memory.get(),        !i.not_ready_reason()};
  for (const auto& [cluster, producer] : i.other_cluster_producers)
    sources.other_producers.push_back(producer.get());
  return sources;
}

const asio::any_io_executor& stream_app::executor() const {
  return impl_->executor;
}

std::optional<std::string> stream_app::not_ready_reason() const {
  return impl_->not_ready_reason();
}

std::chrono::steady_clock::duration stream_app::time_since_loop_turned() const {
  return clock::now() - impl_->last_turn;
}

std::vector<changelog_reader::store_progress_view> stream_app::restore_progress() const {
  return impl_->tasks ? impl_->tasks->restore_progress()
                      : std::vector<changelog_reader::store_progress_view>{};
}

asio::awaitable<void> stream_app::run() {
  co_await impl_->run();
}

asio::awaitable<void> stream_app::impl::run() {
  started = clock::now();
  last_turn = started;
  state_directory locked_directory(app_dir);  // locked until run() returns
  directory = &locked_directory;
  if (config.endpoint) open_endpoint();
  const auto instance_id = config.instance_id ? *config.instance_id : directory->instance_id();
  co_await start_clients(instance_id);
  spdlog::info("{}: running ({} sub-topologies, delivery {}, instance {}, {} membership)",
               topology.name, plan.sub_topologies.size(), operators::to_string(topology.delivery),
               instance_id, config.static_membership ? "static" : "dynamic");
  std::exception_ptr failure;
  try {
    co_await loop();
  } catch (...) {
    failure = std::current_exception();
  }
  co_await shut_down(!failure);
  if (failure) std::rethrow_exception(failure);
}

void stream_app::impl::open_endpoint() {
  const auto& settings = *config.endpoint;
  endpoint =
      std::make_unique<app_endpoint>(executor, settings, std::vector<const stream_app*>{&owner});
  owner.endpoint_port_ = endpoint->port();
  spdlog::info("{}: serving /metrics, /health and /ready on {}:{}", topology.name, settings.address,
               endpoint->port());
}

std::optional<std::string> stream_app::impl::not_ready_reason() const {
  if (stopping) return "stopping";
  if (!consumer || !tasks || !rebalance) return "starting: connecting to the cluster";
  if (tasks->restoring()) return "restoring state";
  const auto group = consumer->group_stats();
  if (group.generation.value() <= 0 || group.in_rebalance || rebalance->pending())
    return "joining the group";
  return std::nullopt;
}

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

  kafka::producer_config producer_config;
  static_cast<kafka::client_config&>(producer_config) = home.client;
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
  if (standby_consumer) tasks->enable_standbys(*standby_consumer);
  collector = std::make_unique<record_collector>(*producer, std::move(routes));
  commits = std::make_unique<checkpoint>(topology, *tasks, *collector, *input, *producer,
                                         config.hooks, owner.metrics_);
  rebalance = std::make_shared<rebalance_handoff>(executor);
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

// A task taken over from an instance that vanished (kill -9, a machine gone) may have that
// instance's transaction still open: read_committed readers of every partition it wrote, and our
// lookup of the task's committed offsets, would wait for the broker to time it out (the
// transaction timeout, and up to as long again for the broker's scan). InitProducerId with the
// vanished instance's transactional id aborts it at once and fences the instance, should it be a
// zombie. Best effort: a failure leaves the wait to the broker.
asio::awaitable<void> stream_app::impl::fence_vanished_owners() {
  if (!assignor || !fencing_config || fenced_for == assignor->assignments()) co_return;
  fenced_for = assignor->assignments();
  for (const auto& transactional_id : assignor->orders().fence) {
    auto fencing = *fencing_config;
    fencing.transactional_id = transactional_id;
    fencing.client_id = fencing_config->client_id + "-fencing";
    kafka::producer fencer(executor, fencing);
    std::string failure;
    try {
      co_await fencer.start();
      co_await fencer.stop();
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (failure.empty()) {
      spdlog::info("{}: fenced vanished instance {} (its open transaction, if any, is aborted)",
                   topology.name, transactional_id);
    } else {
      spdlog::warn(
          "{}: fencing vanished instance {} failed, the broker will time its transaction out: {}",
          topology.name, transactional_id, failure);
    }
  }
}

// Standby orders of the last assignment, once its partitions are handled; warm-ups that have
// caught up ask for the rebalance that moves their tasks here.
asio::awaitable<void> stream_app::impl::follow_assignor_orders() {
  if (!assignor) co_return;
  auto& standbys = *tasks->standbys();
  if (assignor->assignments() != applied_assignment && !rebalance->pending()) {
    applied_assignment = assignor->assignments();
    co_await standbys.keep(assignor->orders().standbys, tasks->active_ids());
    warmup_rejoin_asked = false;
    next_probe = std::max(clock::now() + config.probing_rebalance_interval, next_probe);
  }
  co_await standbys.update();
  if (clock::now() >= next_state_cleanup) {
    next_state_cleanup = clock::now() + std::chrono::seconds(30);
    standbys.delete_unused_state(config.state_cleanup_delay, tasks->active_ids());
  }
  ask_for_warmed_up_tasks();
}

// A member whose warm-ups have caught up asks for the rebalance that moves their tasks here. It
// asks with a margin (half the acceptable lag: the active moves on while the group rebalances),
// at most once per pause, and when the same warm-ups come back (the leader still saw them behind:
// the active writes faster than the copy follows) the pause doubles up to the probing interval,
// so a busy active never meets a storm of rebalances.
void stream_app::impl::ask_for_warmed_up_tasks() {
  const auto& warmups = assignor->orders().warmups;
  if (warmups.empty() || warmup_rejoin_asked || applied_assignment != assignor->assignments())
    return;
  auto& standbys = *tasks->standbys();
  bool caught_up = true;
  for (const auto& id : warmups) {
    const auto lag = standbys.lag(id);
    caught_up = caught_up && lag && *lag <= config.acceptable_recovery_lag / 2;
  }
  const auto now = clock::now();
  if (!(caught_up && now >= next_warmup_ask) && now < next_probe) return;
  warmup_pause =
      warmups == warmups_asked_for
          ? std::min<clock::duration>(warmup_pause * 2, config.probing_rebalance_interval)
          : clock::duration(first_warmup_pause);
  warmups_asked_for = warmups;
  spdlog::info("{}: {} warm-up task(s) {}: asking for a rebalance", topology.name, warmups.size(),
               caught_up ? "caught up" : "still behind after the probing interval");
  warmup_rejoin_asked = true;
  next_warmup_ask = now + warmup_pause;
  next_probe = now + config.probing_rebalance_interval;
  consumer->request_rejoin();
}

kafka::client_config stream_app::impl::admin_config_of(
    const runtime_config::cluster_connection& connection) const {
  auto admin_config = connection.client;
  for (const auto* part : {&connection.properties.admin, &connection.properties.all}) {
    for (const auto& [name, value] : *part)
      kafka::apply_property({.client = &admin_config}, name, value);
  }
  return admin_config;
}

// Each cluster other than the home one that a sink is on: its sink topics created there (with
// the input's partition count), and a producer of its own, idempotent (the Java default) and
// outside any transaction; validation refused such sinks under exactly-once.
asio::awaitable<record_collector::routes> stream_app::impl::start_other_cluster_producers(
    std::int32_t partitions) {
  record_collector::routes routes;
  for (const auto& sink : topology.sinks) {
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
      kafka::producer_config producer_config;
      static_cast<kafka::client_config&>(producer_config) = connection.client;
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

asio::awaitable<void> stream_app::impl::loop() {
  auto next_commit = clock::now() + topology.effective_commit_interval();
  while (!owner.stop_requested_) {
    last_turn = clock::now();
    co_await handle_rebalance_events();
    co_await follow_assignor_orders();
    if (tasks->restoring()) co_await tasks->restore(restore_slice);
    const auto wait = tasks->restoring() ? std::chrono::milliseconds(0) : config.poll_timeout;
    const auto poll_began = clock::now();
    auto batch = co_await consumer->getmany(wait);
    if (!batch.empty()) owner.metrics_.poll_time.observe(clock::now() - poll_began);
    // Events that arrived while polling go first: a revoked task's records are then skipped.
    co_await handle_rebalance_events();
    if (topology.delivery == operators::delivery_guarantee::at_most_once)
      co_await commit_at_most_once(batch);
    if (!batch.empty()) {
      const scoped_timer processing(owner.metrics_.processing_time);
      co_await process(std::move(batch));
    } else {
      co_await process_ordered_inputs();  // a task held back by an empty partition may go on now
    }
    co_await punctuate();
    if (clock::now() >= next_commit || collector->failed()) {
      co_await commits->commit();
      next_commit = clock::now() + topology.effective_commit_interval();
    }
  }
  co_await handle_rebalance_events();
  co_await commits->commit();
}

asio::awaitable<void> stream_app::impl::handle_rebalance_events() {
  while (auto event = rebalance->next()) {
    owner.metrics_.rebalance_events.fetch_add(1, std::memory_order_relaxed);
    const scoped_timer handling(owner.metrics_.rebalance_time);
    switch (event->kind) {
      case rebalance_kind::revoked:
        // Commit what was processed while the partitions are still ours, then close their tasks.
        co_await commits->commit();
        tasks->close(tasks->task_ids_of(event->partitions), true);
        break;
      case rebalance_kind::assigned:
        // Opening may wait for a previous owner's transaction to be decided (up to its timeout):
        // no transaction of ours may stay open meanwhile, or it would time out too.
        co_await commits->commit();
        co_await fence_vanished_owners();
        co_await tasks->open(std::move(event->partitions));
        break;
      case rebalance_kind::lost: {
        auto lost = tasks->task_ids_of(event->partitions);
        std::string reason = "partitions lost";
        co_await commits->drop_interval(std::move(lost), std::move(reason));
        break;
      }
    }
    rebalance->handled();
  }
}

asio::awaitable<void> stream_app::impl::process(std::vector<kafka::consumer_record> batch) {
  for (auto& in : batch) {
    task* t = tasks->running_task_for(in.topic, in.partition);
    if (t == nullptr) continue;  // revoked since it was fetched
    if (t->orders_input()) {
      t->input().add(std::move(in));
      continue;
    }
    co_await process_record(*t, in);
  }
  co_await process_ordered_inputs();
}

asio::awaitable<void> stream_app::impl::process_ordered_inputs() {
  for (auto& [id, t] : tasks->tasks()) {
    if (!t->processing() || !t->orders_input() || t->input().empty()) continue;
    auto lagging = co_await not_caught_up(t->input().empty_partitions());
    while (auto next = t->input().next(lagging, clock::now(), config.max_task_idle)) {
      const bool emptied = t->input().emptied_a_partition();
      co_await process_record(*t, *next);
      if (!t->processing()) break;  // an abort rewound the task (its buffers are gone)
      if (emptied) lagging = co_await not_caught_up(t->input().empty_partitions());
    }
  }
}

// Wall-clock punctuations that are due (a table's emit_every, a processor's punctuate_every),
// between records like a record: their outputs join the interval's transaction.
asio::awaitable<void> stream_app::impl::punctuate() {
  const auto now = kafka::wall_clock_ms();
  for (auto& [id, t] : tasks->tasks()) {
    if (!t->processing() || !t->processor().punctuation_due(now)) continue;
    commits->begin_record();
    outputs.clear();
    if (auto error = t->processor().punctuate(now, outputs)) {
      owner.metrics_.processing_errors.fetch_add(1, std::memory_order_relaxed);
      if (config.on_error == error_policy::stop) {
        throw processing_failure("pipeline '" + topology.name + "' stopped: task " +
                                 id.to_string() + ": punctuation failed: " + error->describe() +
                                 " (on_error: stop)");
      }
      spdlog::warn("{}: task {}: punctuation failed, its outputs dropped: {}", topology.name,
                   id.to_string(), error->describe());
      outputs.clear();
    }
    for (const auto& out : outputs) {
      co_await collector->send(out);
      count_output(out.topic);
    }
    owner.metrics_.records_out.fetch_add(outputs.size(), std::memory_order_relaxed);
    commits->record_done();
  }
}

// The empty partitions that still have records on the broker past the consumer's position.
asio::awaitable<std::vector<kafka::topic_partition>> stream_app::impl::not_caught_up(
    std::vector<kafka::topic_partition> empty) {
  std::vector<kafka::topic_partition> lagging;
  for (auto& tp : empty) {
    const auto end = exactly_once() ? consumer->last_stable_offset(tp) : consumer->highwater(tp);
    if (!end || co_await consumer->position(tp) < *end) lagging.push_back(std::move(tp));
  }
  co_return lagging;
}

asio::awaitable<void> stream_app::impl::process_record(task& t, const kafka::consumer_record& in) {
  commits->begin_record();
  owner.metrics_.records_in.fetch_add(1, std::memory_order_relaxed);
  if (in.partition != counted_partition || in.topic != counted_topic) {
    counted_topic = in.topic;
    counted_partition = in.partition;
    records_in_of_partition = &owner.metrics_.records_in_of({std::string(in.topic), in.partition});
  }
  ++*records_in_of_partition;
  outputs.clear();
  if (auto error = t.processor().process(to_raw_record(in), outputs))
    co_await handle_error(*error, in);
  for (const auto& out : outputs) {
    co_await collector->send(out);
    count_output(out.topic);
  }
  owner.metrics_.records_out.fetch_add(outputs.size(), std::memory_order_relaxed);
  t.mark_consumed({std::string(in.topic), in.partition}, in.offset + 1);
  commits->record_done();
  if (!processed_any) {
    processed_any = true;
    const std::chrono::duration<double> since_start = clock::now() - started;
    spdlog::info("{}: first record processed, {:.3f} s after start", topology.name,
                 since_start.count());
  }
}

asio::awaitable<void> stream_app::impl::handle_error(const operators::processing_error& error,
                                                     const kafka::consumer_record& in) {
  owner.metrics_.processing_errors.fetch_add(1, std::memory_order_relaxed);
  switch (config.on_error) {
    case error_policy::stop:
      throw processing_failure("pipeline '" + topology.name + "' stopped: " + error.describe() +
                               " (on_error: stop; use skip or dead_letter to go on)");
    case error_policy::skip:
      spdlog::warn("{}: skipped a record: {}", topology.name, error.describe());
      co_return;
    case error_policy::dead_letter: {
      operators::output_record dead;
      auto raw = to_raw_record(in);
      dead.topic = config.dead_letter_topic;
      dead.key = raw.key;
      dead.value = raw.value;
      dead.timestamp = raw.timestamp;
      dead.headers = raw.headers;
      dead.headers.push_back({"sluice.error", error.describe()});
      dead.headers.push_back({"sluice.error.kind", std::string(operators::to_string(error.kind))});
      dead.headers.push_back({"sluice.source", raw.origin.topic + "/" +
                                                   std::to_string(raw.origin.partition) + "/" +
                                                   std::to_string(raw.origin.offset)});
      co_await collector->send(dead);
      owner.metrics_.dead_lettered.fetch_add(1, std::memory_order_relaxed);
      co_return;
    }
  }
}

asio::awaitable<void> stream_app::impl::commit_at_most_once(
    const std::vector<kafka::consumer_record>& batch) {
  std::map<topic_partition, kafka::offset_and_metadata> offsets;
  for (const auto& in : batch) {
    if (tasks->running_task_for(in.topic, in.partition))
      offsets[{std::string(in.topic), in.partition}].offset = in.offset + 1;
  }
  if (!offsets.empty()) co_await consumer->commit(std::move(offsets));
}

asio::awaitable<void> stream_app::impl::shut_down(bool clean) {
  stopping = true;
  // Nothing of a failed interval may be committed: its transaction is aborted, and its tasks
  // close with their uncommitted writes dropped.
  if (!clean && commits) co_await commits->abandon();
  // Tasks close before the group is left; the callbacks leaving causes find no loop to wait for.
  if (tasks) tasks->close_all(clean);
  if (tasks && tasks->standbys()) tasks->standbys()->close_all();
  if (rebalance) rebalance->close();
  if (consumer) co_await consumer->stop();
  if (restore_consumer) co_await restore_consumer->stop();
  if (standby_consumer) co_await standby_consumer->stop();
  if (producer) co_await producer->stop();
  for (auto& [cluster, other] : other_cluster_producers) {
    if (other) co_await other->stop();
  }
  if (admin_cluster) admin_cluster->close();
  if (endpoint) endpoint->close();
  spdlog::info("{}: stopped", topology.name);
}

}  // namespace sluice::runtime
