#include "runtime/stream_app.hpp"

#include "kafka/admin/admin_client.hpp"
#include "kafka/consumer/consumer.hpp"
#include "kafka/producer/producer.hpp"
#include "operators/topology_validation.hpp"
#include "runtime/changelog_restorer.hpp"
#include "runtime/task.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <fstream>
#include <random>
#include <set>

namespace sluice::runtime {
namespace {

using clock = std::chrono::steady_clock;
using kafka::topic_partition;

std::string random_instance_id() {
  std::random_device entropy;
  std::mt19937_64 generator(entropy());
  static constexpr char digits[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 16; ++i) id += digits[generator() % 16];
  return id;
}

// The instance id survives restarts in the state directory: a restarted process then uses the
// same transactional id and fences its own zombie at once (InitProducerId bumps the epoch).
std::string persistent_instance_id(const std::filesystem::path& app_dir) {
  std::filesystem::create_directories(app_dir);
  auto file = app_dir / "instance-id";
  std::string id;
  if (std::ifstream in(file); in && std::getline(in, id) && !id.empty()) return id;
  id = random_instance_id();
  std::ofstream(file) << id << '\n';
  return id;
}

std::optional<kafka::protocol::bytes> to_kafka_bytes(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return kafka::protocol::to_bytes(*text);
}

std::vector<kafka::records::record_header> to_kafka_headers(const std::vector<operators::header>& headers) {
  std::vector<kafka::records::record_header> out;
  out.reserve(headers.size());
  for (const auto& h : headers) out.push_back({h.key, to_kafka_bytes(h.value)});
  return out;
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
  class listener;

  impl(stream_app& owner, asio::any_io_executor executor, operators::topology topology, runtime_config config,
       const operators::function_registry& registry)
      : owner(owner), executor(executor), topology(std::move(topology)), config(std::move(config)),
        registry(registry) {
    auto problems = operators::validate_topology(this->topology, registry);
    if (!problems.empty()) {
      std::string message = "pipeline '" + this->topology.name + "' is not valid:";
      for (const auto& problem : problems) message += "\n  " + problem.path + ": " + problem.message;
      throw std::invalid_argument(message);
    }
    plan = operators::plan_topology(this->topology);
    for (const auto& sub : plan.sub_topologies) {
      for (const auto& source : sub.sources) {
        for (const auto& topic : source.topics) sub_topology_of[topic] = sub.id;
      }
    }
    if (this->config.dead_letter_topic.empty()) this->config.dead_letter_topic = this->topology.name + "-dead-letter";
    app_dir = this->config.state_dir / this->topology.name;
  }

  bool exactly_once() const { return topology.delivery == operators::delivery_guarantee::exactly_once; }

  asio::awaitable<void> run();
  asio::awaitable<void> prepare_topics();
  asio::awaitable<void> process(std::vector<kafka::consumer_record> batch);
  asio::awaitable<void> handle_error(const operators::processing_error& error, const kafka::consumer_record& in);
  asio::awaitable<kafka::delivery> send(const operators::output_record& out);
  asio::awaitable<void> commit();
  asio::awaitable<void> commit_at_most_once(const std::vector<kafka::consumer_record>& batch);
  asio::awaitable<void> recover_from_abort(std::exception_ptr failure);
  asio::awaitable<void> open_tasks(std::vector<topic_partition> assigned);
  asio::awaitable<void> restore(task& t);
  std::set<task_id> task_ids_of(const std::vector<topic_partition>& partitions) const;
  void close_tasks(const std::set<task_id>& ids, bool clean);
  task* task_for(std::string_view topic, std::int32_t partition);
  std::map<topic_partition, std::int64_t> consumed_offsets() const;

  stream_app& owner;
  asio::any_io_executor executor;
  operators::topology topology;
  runtime_config config;
  const operators::function_registry& registry;
  operators::topology_plan plan;
  std::map<std::string, int, std::less<>> sub_topology_of;
  std::filesystem::path app_dir;
  std::string instance_id;

  std::shared_ptr<state::rocksdb::memory_budget> memory;
  std::unique_ptr<kafka::cluster> admin_cluster;
  std::unique_ptr<kafka::consumer> consumer;
  std::unique_ptr<kafka::consumer> restore_consumer;
  std::unique_ptr<kafka::producer> producer;
  std::shared_ptr<listener> rebalance;
  std::map<task_id, std::unique_ptr<task>> tasks;

  bool in_transaction = false;
  bool dirty = false;  // processed something since the last commit
  std::vector<kafka::delivery> unconfirmed;  // at-least-once: outputs to check before committing
  std::vector<operators::output_record> outputs;
  clock::time_point next_commit = clock::now();
};

// Forwards the consumer's rebalance callbacks to the app (Kafka Streams' StreamsRebalanceListener).
class stream_app::impl::listener final : public kafka::rebalance_listener {
 public:
  explicit listener(impl& app) : app_(app) {}

  asio::awaitable<void> on_partitions_revoked(std::vector<topic_partition> revoked) override {
    // Commit what was processed while the partitions are still ours, then close their tasks.
    co_await app_.commit();
    app_.close_tasks(app_.task_ids_of(revoked), true);
  }
  asio::awaitable<void> on_partitions_assigned(std::vector<topic_partition> assigned) override {
    co_await app_.open_tasks(std::move(assigned));
  }
  asio::awaitable<void> on_partitions_lost(std::vector<topic_partition> lost) override {
    // Someone else may own them already: nothing of theirs may be committed.
    if (app_.in_transaction) {
      try {
        co_await app_.producer->abort_transaction();
      } catch (const std::exception& e) {
        spdlog::warn("{}: aborting the transaction of lost partitions failed: {}", app_.topology.name, e.what());
      }
      app_.in_transaction = false;
    }
    app_.close_tasks(app_.task_ids_of(lost), false);
  }

 private:
  impl& app_;
};

stream_app::stream_app(asio::any_io_executor executor, operators::topology topology, runtime_config config,
                       const operators::function_registry& registry)
    : impl_(std::make_unique<impl>(*this, executor, std::move(topology), std::move(config), registry)) {}

stream_app::~stream_app() = default;

const operators::topology& stream_app::topology() const { return impl_->topology; }

asio::awaitable<void> stream_app::run() { co_await impl_->run(); }

asio::awaitable<void> stream_app::impl::run() {
  instance_id = config.instance_id ? *config.instance_id : persistent_instance_id(app_dir);
  memory = std::make_shared<state::rocksdb::memory_budget>(config.memory);

  admin_cluster = std::make_unique<kafka::cluster>(executor, config.client);
  co_await admin_cluster->start();
  co_await prepare_topics();

  kafka::consumer_config consumer_config;
  static_cast<kafka::client_config&>(consumer_config) = config.client;
  consumer_config.group_id = topology.name;
  if (config.static_membership) consumer_config.group_instance_id = topology.name + "-" + instance_id;
  consumer_config.enable_auto_commit = false;
  consumer_config.offset_reset = kafka::auto_offset_reset::earliest;
  if (exactly_once()) consumer_config.isolation = kafka::isolation_level::read_committed;
  consumer = std::make_unique<kafka::consumer>(executor, consumer_config);

  restore_consumer = std::make_unique<kafka::consumer>(executor, restore_consumer_config(config.client));

  kafka::producer_config producer_config;
  static_cast<kafka::client_config&>(producer_config) = config.client;
  if (exactly_once()) producer_config.transactional_id = topology.name + "-" + instance_id;
  producer = std::make_unique<kafka::producer>(executor, producer_config);

  co_await producer->start();
  co_await restore_consumer->start();
  co_await consumer->start();
  rebalance = std::make_shared<listener>(*this);
  std::vector<std::string> inputs;
  for (const auto& [topic, sub] : sub_topology_of) inputs.push_back(topic);
  consumer->subscribe(inputs, rebalance);
  spdlog::info("{}: running ({} sub-topologies, delivery {}, instance {})", topology.name, plan.sub_topologies.size(),
               operators::to_string(topology.delivery), instance_id);

  std::exception_ptr failure;
  try {
    next_commit = clock::now() + topology.effective_commit_interval();
    while (!owner.stop_requested_) {
      auto batch = co_await consumer->getmany(config.poll_timeout);
      if (topology.delivery == operators::delivery_guarantee::at_most_once && !batch.empty()) {
        co_await commit_at_most_once(batch);
      }
      co_await process(std::move(batch));
      if (clock::now() >= next_commit) {
        co_await commit();
        next_commit = clock::now() + topology.effective_commit_interval();
      }
    }
    co_await commit();
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure && in_transaction) {
    try {
      co_await producer->abort_transaction();
    } catch (const std::exception& e) {
      spdlog::warn("{}: aborting the open transaction failed: {}", topology.name, e.what());
    }
    in_transaction = false;
  }
  // Tasks close before the group is left: leaving would otherwise revoke (and commit) them again.
  std::set<task_id> all;
  for (const auto& [id, t] : tasks) all.insert(id);
  close_tasks(all, !failure);
  // Nothing of a closed task may be committed. Leaving the group revokes its partitions, and the
  // listener commits on revocation: after a failure (commit() threw half way, dirty still set)
  // that would commit again, outside any task, what the failure was meant to stop.
  dirty = false;
  unconfirmed.clear();
  co_await consumer->stop();
  co_await restore_consumer->stop();
  co_await producer->stop();
  admin_cluster->close();
  spdlog::info("{}: stopped", topology.name);
  if (failure) std::rethrow_exception(failure);
}

asio::awaitable<void> stream_app::impl::prepare_topics() {
  kafka::admin_client admin(*admin_cluster);
  std::vector<std::string> sources;
  for (const auto& source : topology.sources) sources.insert(sources.end(), source.topics.begin(), source.topics.end());
  auto described = co_await admin.describe_topics(sources);
  std::int32_t partitions = 0;
  std::vector<std::string> missing;
  for (const auto& topic : described) {
    if (!topic.error.ok()) {
      missing.push_back(topic.name + " (" + topic.error.message + ")");
      continue;
    }
    partitions = std::max<std::int32_t>(partitions, static_cast<std::int32_t>(topic.partitions.size()));
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    throw std::runtime_error("pipeline '" + topology.name + "': source topic(s) missing: " + list +
                             "; create them first (sluice topics create)");
  }

  // Internal topics get the source's partition count: task N of every sub-topology reads
  // partition N of its input and writes partition N of its changelogs.
  std::vector<kafka::new_topic> wanted;
  for (const auto& topic : plan.repartition_topics) wanted.push_back({topic, partitions, config.replication_factor, {}, {}});
  for (const auto& sub : plan.sub_topologies) {
    for (const auto& store : sub.stores) {
      std::map<std::string, std::string> configs{{"cleanup.policy", "compact"}};
      if (store.kind != operators::store_kind::key_value) {
        // Windows older than the retention are useless after a restore; delete them with it.
        configs["cleanup.policy"] = "compact,delete";
        configs["retention.ms"] = std::to_string((store.retention + std::chrono::hours(24)).count());
      }
      wanted.push_back({store.changelog_topic, partitions, config.replication_factor, configs, {}});
    }
  }
  // Output topics are created when missing, like the internal ones, with the input's partitions.
  std::set<std::string> outputs{topology.sink.topic};
  if (topology.aggregation && topology.aggregation->late == operators::late_policy::side_topic) {
    outputs.insert(topology.aggregation->late_topic);
  }
  if (config.on_error == error_policy::dead_letter) outputs.insert(config.dead_letter_topic);
  for (const auto& topic : outputs) wanted.push_back({topic, partitions, config.replication_factor, {}, {}});

  std::vector<std::string> names;
  for (const auto& t : wanted) names.push_back(t.name);
  auto existing = co_await admin.describe_topics(names);
  std::vector<kafka::new_topic> to_create;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    const auto& found = existing[i];
    if (!found.error.ok()) {
      to_create.push_back(wanted[i]);
      continue;
    }
    const bool internal = i < wanted.size() - outputs.size();
    if (internal && static_cast<std::int32_t>(found.partitions.size()) != partitions) {
      throw std::runtime_error("pipeline '" + topology.name + "': internal topic '" + found.name + "' has " +
                               std::to_string(found.partitions.size()) + " partitions but the input has " +
                               std::to_string(partitions) +
                               "; delete it (sluice reset) or give the input the same partition count");
    }
  }
  if (to_create.empty()) co_return;
  auto created = co_await admin.create_topics(to_create);
  for (const auto& result : created) {
    if (!result.error.ok() && result.error.code != kafka::error_code::topic_already_exists) {
      throw std::runtime_error("pipeline '" + topology.name + "': creating topic '" + result.name +
                               "' failed: " + result.error.message);
    }
    spdlog::info("{}: created topic {} ({} partitions)", topology.name, result.name, partitions);
  }
}

task* stream_app::impl::task_for(std::string_view topic, std::int32_t partition) {
  auto sub = sub_topology_of.find(topic);
  if (sub == sub_topology_of.end()) return nullptr;
  auto it = tasks.find({sub->second, partition});
  return it == tasks.end() ? nullptr : it->second.get();
}

asio::awaitable<void> stream_app::impl::process(std::vector<kafka::consumer_record> batch) {
  for (const auto& in : batch) {
    task* t = task_for(in.topic, in.partition);
    if (t == nullptr || !t->processing()) continue;  // revoked since it was fetched
    if (exactly_once() && !in_transaction) {
      producer->begin_transaction();
      in_transaction = true;
    }
    owner.metrics_.records_in.fetch_add(1, std::memory_order_relaxed);
    outputs.clear();
    if (auto error = t->processor().process(to_raw_record(in), outputs)) {
      co_await handle_error(*error, in);
    }
    for (const auto& out : outputs) {
      auto delivered = co_await send(out);
      if (!exactly_once()) unconfirmed.push_back(std::move(delivered));
    }
    owner.metrics_.records_out.fetch_add(outputs.size(), std::memory_order_relaxed);
    t->mark_consumed({std::string(in.topic), in.partition}, in.offset + 1);
    dirty = true;
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
      dead.headers.push_back({"sluice.source", raw.origin.topic + "/" + std::to_string(raw.origin.partition) + "/" +
                                                   std::to_string(raw.origin.offset)});
      auto delivered = co_await send(dead);
      if (!exactly_once()) unconfirmed.push_back(std::move(delivered));
      owner.metrics_.dead_lettered.fetch_add(1, std::memory_order_relaxed);
      co_return;
    }
  }
}

asio::awaitable<kafka::delivery> stream_app::impl::send(const operators::output_record& out) {
  std::optional<kafka::protocol::bytes_view> key, value;
  if (out.key) key = kafka::protocol::as_bytes_view(*out.key);
  if (out.value) value = kafka::protocol::as_bytes_view(*out.value);
  if (out.headers.empty()) {
    if (auto queued = producer->try_send(out.topic, value, key, std::nullopt, out.timestamp)) co_return *queued;
  }
  co_return co_await producer->send(out.topic, to_kafka_bytes(out.value), to_kafka_bytes(out.key), std::nullopt,
                                    out.timestamp, to_kafka_headers(out.headers));
}

std::map<topic_partition, std::int64_t> stream_app::impl::consumed_offsets() const {
  std::map<topic_partition, std::int64_t> offsets;
  for (const auto& [id, t] : tasks) offsets.insert(t->consumed().begin(), t->consumed().end());
  return offsets;
}

asio::awaitable<void> stream_app::impl::commit_at_most_once(const std::vector<kafka::consumer_record>& batch) {
  std::map<topic_partition, kafka::offset_and_metadata> offsets;
  for (const auto& in : batch) offsets[{std::string(in.topic), in.partition}].offset = in.offset + 1;
  co_await consumer->commit(std::move(offsets));
}

asio::awaitable<void> stream_app::impl::commit() {
  if (!dirty) co_return;
  // 1. The stores' changes go to their changelogs (inside the transaction under exactly-once).
  struct store_commit {
    state::state_store* store;
    kafka::delivery last;
  };
  std::vector<store_commit> store_commits;
  for (auto& [id, t] : tasks) {
    for (auto& entry : t->stores()) {
      auto changes = entry.store->changes().drain();
      if (changes.empty()) continue;
      kafka::delivery last;
      for (auto& [key, value] : changes) {
        std::optional<kafka::protocol::bytes_view> value_view;
        if (value) value_view = kafka::protocol::as_bytes_view(*value);
        auto key_view = kafka::protocol::as_bytes_view(key);
        if (auto queued = producer->try_send(entry.changelog.topic, value_view, key_view, entry.changelog.partition)) {
          last = *queued;
        } else {
          last = co_await producer->send(entry.changelog.topic, to_kafka_bytes(value), kafka::protocol::to_bytes(key),
                                         entry.changelog.partition);
        }
      }
      owner.metrics_.changelog_records.fetch_add(changes.size(), std::memory_order_relaxed);
      store_commits.push_back({&entry.store->store(), std::move(last)});
    }
  }
  auto offsets = consumed_offsets();

  // 2. Outputs, changelog records and input offsets become durable together (or not at all).
  if (exactly_once()) {
    std::exception_ptr failure;
    try {
      if (!in_transaction) {
        producer->begin_transaction();
        in_transaction = true;
      }
      std::map<topic_partition, kafka::offset_and_metadata> txn_offsets;
      for (const auto& [input, offset] : offsets) txn_offsets[input].offset = offset;
      co_await producer->send_offsets_to_transaction(std::move(txn_offsets), consumer->group_metadata());
      if (config.hooks.before_transaction_commit) config.hooks.before_transaction_commit();
      co_await producer->commit_transaction();
      in_transaction = false;
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      co_await recover_from_abort(failure);
      co_return;
    }
  } else {
    co_await producer->flush();
    for (const auto& delivered : unconfirmed) delivered.result();  // throws the first failure
    unconfirmed.clear();
  }
  if (config.hooks.after_kafka_commit) config.hooks.after_kafka_commit();
  // 3. Only now do the stores apply their writes, recording how far their changelog got.
  for (auto& pending : store_commits) pending.store->commit({pending.last.result().offset + 1});
  // 4. At-least-once commits the input offsets last: a crash before this reprocesses records
  // whose effects are already stored, which at-least-once allows; the other order could lose them.
  if (topology.delivery == operators::delivery_guarantee::at_least_once) {
    std::map<topic_partition, kafka::offset_and_metadata> commit_offsets;
    for (const auto& [input, offset] : offsets) commit_offsets[input].offset = offset;
    co_await consumer->commit(std::move(commit_offsets));
  }
  dirty = false;
  owner.metrics_.commits.fetch_add(1, std::memory_order_relaxed);
}

asio::awaitable<void> stream_app::impl::recover_from_abort(std::exception_ptr failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const kafka::kafka_error& e) {
    if (e.kafka_code() == kafka::error_code::producer_fenced ||
        e.kafka_code() == kafka::error_code::transactional_id_authorization_failed ||
        e.kafka_code() == kafka::error_code::invalid_producer_epoch) {
      throw;  // another instance took over: this one must stop
    }
    spdlog::warn("{}: transaction failed, aborting and reprocessing from the committed offsets: {}",
                 topology.name, e.what());
  }
  co_await producer->abort_transaction();
  in_transaction = false;
  owner.metrics_.aborted_transactions.fetch_add(1, std::memory_order_relaxed);
  std::vector<topic_partition> inputs;
  for (auto& [id, t] : tasks) {
    for (const auto& [input, offset] : t->consumed()) inputs.push_back(input);
    t->abort_stores();
    t->start_processing();
  }
  co_await consumer->seek_to_committed(inputs);
  dirty = false;
}

asio::awaitable<void> stream_app::impl::open_tasks(std::vector<topic_partition> assigned) {
  for (const auto& id : task_ids_of(assigned)) {
    if (tasks.contains(id)) continue;
    const auto& sub = plan.sub_topologies.at(static_cast<std::size_t>(id.sub_topology));
    auto database = state::rocksdb::task_database::open(
        {app_dir / id.to_string(), topology.name, id.to_string(), memory});
    if (database.result().outcome == state::rocksdb::open_outcome::wiped) {
      spdlog::warn("{}: task {}: state directory was wiped ({}); restoring it fully from the changelogs",
                   topology.name, id.to_string(), database.result().reason);
    }
    auto t = std::make_unique<task>(id, sub, std::move(database), registry);
    co_await restore(*t);
    t->start_processing();
    tasks.emplace(id, std::move(t));
    owner.metrics_.assigned_tasks.store(tasks.size(), std::memory_order_relaxed);
    spdlog::info("{}: task {} started", topology.name, id.to_string());
  }
}

asio::awaitable<void> stream_app::impl::restore(task& t) {
  const std::string label = topology.name + ": task " + t.id().to_string();
  auto& restored = owner.metrics_.restored_records;
  // A named callback, not a lambda temporary in the co_await expression (GCC 12 miscompiles those).
  const std::function<void(std::size_t)> count = [&restored](std::size_t records) {
    restored.fetch_add(records, std::memory_order_relaxed);
  };
  for (auto& entry : t.stores()) {
    co_await restore_store(*restore_consumer, entry.store->store(), entry.changelog, label, count);
  }
}

std::set<task_id> stream_app::impl::task_ids_of(const std::vector<topic_partition>& partitions) const {
  std::set<task_id> ids;
  for (const auto& input : partitions) {
    auto sub = sub_topology_of.find(input.topic);
    if (sub != sub_topology_of.end()) ids.insert({sub->second, input.partition});
  }
  return ids;
}

void stream_app::impl::close_tasks(const std::set<task_id>& ids, bool clean) {
  for (const auto& id : ids) {
    auto it = tasks.find(id);
    if (it == tasks.end()) continue;
    if (clean) {
      it->second->flush();
    } else {
      it->second->abort_stores();
    }
    tasks.erase(it);
    spdlog::info("{}: task {} closed{}", topology.name, id.to_string(), clean ? "" : " (lost: uncommitted work dropped)");
  }
  owner.metrics_.assigned_tasks.store(tasks.size(), std::memory_order_relaxed);
}

}  // namespace sluice::runtime
