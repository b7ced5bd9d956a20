#include "pipelines/cli/pipeline_commands.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_future.hpp>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <set>
#include <thread>
#include <utility>

#include "kafka/admin/admin_client.hpp"
#include "pipelines/spec/commands.hpp"
#include "pipelines/spec/yaml_loader.hpp"
#include "runtime/app_endpoint.hpp"
#include "runtime/stream_app.hpp"
#include "state/rocksdb/memory_budget.hpp"

namespace sluice::cli {

namespace asio = boost::asio;

namespace {

int status(bool ok) {
  return static_cast<int>(ok ? exit_status::ok : exit_status::failed);
}

// Loads and validates the file; prints the errors (file:line:column) and returns nullopt if bad.
std::optional<pipelines::pipeline_definition> load_or_report(const std::string& file,
                                                             std::ostream& err) {
  operators::function_registry registry;
  auto loaded = pipelines::load_pipeline_file(file, registry);
  if (!loaded.pipeline) {
    for (const auto& error : loaded.errors) err << error.to_string() << '\n';
    return std::nullopt;
  }
  return std::move(*loaded.pipeline);
}

runtime::error_policy to_error_policy(const std::string& name) {
  if (name == "stop") return runtime::error_policy::stop;
  if (name == "skip") return runtime::error_policy::skip;
  if (name == "dead-letter" || name == "dead_letter") return runtime::error_policy::dead_letter;
  throw usage_error("--on-error: '" + name + "' is not stop, skip or dead-letter");
}

// An offline command's result: its text to stdout when it passed, to stderr when not.
template <typename Result>
int print_result(const Result& result, std::ostream& out, std::ostream& err) {
  (result.ok ? out : err) << result.text << (result.text.ends_with('\n') ? "" : "\n");
  return status(result.ok);
}

}  // namespace

int run_validate_pipeline(const command_line& command, std::ostream& out, std::ostream& err) {
  const auto& args = std::get<pipeline_file_args>(command.args);
  return print_result(pipelines::validate_pipeline_file(args.file), out, err);
}

int run_describe_pipeline(const command_line& command, std::ostream& out, std::ostream& err) {
  const auto& args = std::get<pipeline_file_args>(command.args);
  return print_result(pipelines::describe_pipeline(args.file, {}, args.format), out, err);
}

int run_pipeline_file_tests(const command_line& command, std::ostream& out, std::ostream& err) {
  const auto& args = std::get<pipeline_file_args>(command.args);
  return print_result(pipelines::run_pipeline_tests(args.file), out, err);
}

// A person at a terminal watches a restore on one line of stderr, redrawn every second: the
// stores left, offsets to go, rate and time left. The log lines say the same every 5 s otherwise.
class restore_progress_line {
 public:
  explicit restore_progress_line(bool enabled) : enabled_(enabled) {}

  void update(const std::vector<const runtime::stream_app*>& apps, std::ostream& err,
              bool last = false) {
    if (!enabled_ || (!last && std::chrono::steady_clock::now() < next_)) return;
    next_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    std::vector<runtime::changelog_reader::store_progress_view> stores;
    for (const auto& app : apps) {
      auto of_app = app->restore_progress();
      stores.insert(stores.end(), of_app.begin(), of_app.end());
    }
    std::int64_t left = 0;
    double rate = 0;
    for (const auto& store : stores) {
      left += store.remaining();
      rate += store.rate();
    }
    if (stores.empty() || last) {
      if (shown_) err << "\r\033[K" << std::flush;
      shown_ = false;
      return;
    }
    err << "\r\033[Krestoring " << stores.size() << " store(s): " << left
        << " changelog offsets to go";
    if (rate > 0)
      err << ", " << static_cast<std::int64_t>(rate) << "/s, about "
          << static_cast<std::int64_t>(static_cast<double>(left) / rate) << " s left";
    err << std::flush;
    shown_ = true;
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point next_{};
};

namespace {

runtime::runtime_config runtime_config_of(const command_line& command,
                                          const pipelines::pipeline_definition& definition) {
  const auto& args = std::get<run_args>(command.args);
  runtime::runtime_config config;
  config.client = command.connection.client;
  config.state_dir = args.state_dir;
  config.on_error = to_error_policy(args.on_error);
  if (!args.instance_id.empty()) config.instance_id = args.instance_id;
  config.static_membership = !args.dynamic_membership;
  config.replication_factor = args.replication_factor;
  if (args.session_timeout_ms > 0)
    config.session_timeout = std::chrono::milliseconds(args.session_timeout_ms);
  if (args.heartbeat_interval_ms > 0)
    config.heartbeat_interval = std::chrono::milliseconds(args.heartbeat_interval_ms);
  config.acceptable_recovery_lag = args.acceptable_recovery_lag;
  config.standby_replicas =
      args.standby_replicas >= 0 ? args.standby_replicas : definition.standby_replicas.value_or(0);
  config.leave_group_on_stop = !args.stay_in_group_on_stop;
  config.decode_ahead = args.decode_thread;
  config.group_protocol = *kafka::parse_group_protocol(args.group_protocol);
  config.properties.all = command.connection.properties;
  config.properties.consumer = definition.kafka.consumer;
  config.properties.producer = definition.kafka.producer;
  config.properties.admin = definition.kafka.admin;
  config.memory.total_bytes = static_cast<std::size_t>(args.memory_mb) << 20;
  config.memory.memtable_bytes =
      std::min(config.memory.memtable_bytes, config.memory.total_bytes / 2);
  config.memory.store_cache_bytes = config.memory.total_bytes / 8;
  // The command's --timeout-ms bounds admin calls of one-shot commands; a pipeline runs until it
  // is stopped, with the clients' own defaults.
  config.client.request_timeout = kafka::client_config{}.request_timeout;
  config.client.connect_timeout = kafka::client_config{}.connect_timeout;
  // Named clusters: their own connection from the file; the pipeline's kafka: section applies to
  // their clients too, the cluster's own kafka: over it. The command line's settings (-X,
  // --command-config, the connection flags) are the default cluster's only.
  for (const auto& [name, cluster] : definition.clusters) {
    runtime::runtime_config::cluster_connection connection;
    connection.client.client_id = config.client.client_id;
    apply_properties(cluster.connection, connection.client, definition.file + ": clusters." + name);
    auto merged = [](std::map<std::string, std::string> pipeline,
                     const std::map<std::string, std::string>& own) {
      for (const auto& [key, value] : own) pipeline.insert_or_assign(key, value);
      return pipeline;
    };
    connection.properties.consumer = merged(definition.kafka.consumer, cluster.kafka.consumer);
    connection.properties.producer = merged(definition.kafka.producer, cluster.kafka.producer);
    connection.properties.admin = merged(definition.kafka.admin, cluster.kafka.admin);
    config.clusters.emplace(name, std::move(connection));
  }
  return config;
}

// SIGINT and SIGTERM held (blocked, so pending) from the start of `sluice run` until the
// signal_set that stops the apps gracefully is in place: a stop that arrives while the pipelines
// load and the apps are built is then taken as soon as it can be, not by the default action,
// which ends the process at once.
class held_stop_signals {
 public:
  held_stop_signals() {
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stops, &before_);
  }
  held_stop_signals(const held_stop_signals&) = delete;
  held_stop_signals& operator=(const held_stop_signals&) = delete;
  ~held_stop_signals() { release(); }
  // A pending stop signal is delivered now, to the handler installed meanwhile.
  void release() {
    if (std::exchange(released_, true)) return;
    pthread_sigmask(SIG_SETMASK, &before_, nullptr);
  }

 private:
  sigset_t before_{};
  bool released_ = false;
};

}  // namespace

// Several files run as several apps on one thread (one io_context), with one RocksDB budget and
// one HTTP endpoint; each is its own consumer group (its name). With --threads N every pipeline
// runs N apps, one per thread, each a member of the pipeline's group. A failure of one stops all.
int run_pipeline(const command_line& command, std::ostream& out, std::ostream& err) {
  held_stop_signals held_signals;
  const auto& args = std::get<run_args>(command.args);
  std::vector<pipelines::pipeline_definition> definitions;
  std::set<std::string> names;
  for (const auto& file : args.files) {
    auto definition = load_or_report(file, err);
    if (!definition) return static_cast<int>(exit_status::usage);
    if (!names.insert(definition->topology.name).second) {
      err << "sluice run: " << file << ": a second pipeline named '" << definition->topology.name
          << "': each pipeline of a process needs its own name (its consumer group and state)\n";
      return static_cast<int>(exit_status::usage);
    }
    definitions.push_back(std::move(*definition));
  }

  operators::function_registry registry;
  // One io_context per stream thread: thread 0 is this one (signals, the endpoint, the progress
  // line); the others run on their own std::threads. Every pipeline gets one app per thread.
  const auto threads = static_cast<std::size_t>(args.threads);
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (std::size_t t = 0; t < threads; ++t)
    contexts.push_back(std::make_unique<asio::io_context>());
  auto& context = *contexts.front();
  struct running {
    std::size_t definition;
    std::size_t thread;
    std::unique_ptr<runtime::stream_app> app;
    std::future<void> finished;
  };
  std::vector<running> apps;
  std::shared_ptr<state::rocksdb::memory_budget> memory;
  for (std::size_t d = 0; d < definitions.size(); ++d) {
    for (std::size_t t = 0; t < threads; ++t) {
      auto config = runtime_config_of(command, definitions[d]);
      if (!memory) memory = std::make_shared<state::rocksdb::memory_budget>(config.memory);
      config.shared_memory = memory;
      if (threads > 1) {
        // Each thread is its own member of the group: its own state directory (and so its own
        // static instance id), or the id given with a thread suffix.
        config.state_dir = config.state_dir / ("thread-" + std::to_string(t));
        if (config.instance_id) *config.instance_id += "-" + std::to_string(t);
        config.thread_label = std::to_string(t);
      }
      if (args.metrics_port >= 0 && definitions.size() == 1 && threads == 1) {
        config.endpoint = runtime::runtime_config::http_endpoint_config{
            .address = args.metrics_address, .port = static_cast<std::uint16_t>(args.metrics_port)};
      }
      apps.push_back({d,
                      t,
                      std::make_unique<runtime::stream_app>(
                          contexts[t]->get_executor(), definitions[d].topology, config, registry),
                      {}});
    }
  }
  auto stop_all = [&apps] {
    for (auto& r : apps) r.app->request_stop();  // thread-safe
  };
  std::optional<runtime::app_endpoint> endpoint;
  if (args.metrics_port >= 0 && apps.size() > 1) {
    std::vector<const runtime::stream_app*> served;
    served.reserve(apps.size());
    for (const auto& r : apps) served.push_back(r.app.get());
    try {
      endpoint.emplace(context.get_executor(),
                       runtime::runtime_config::http_endpoint_config{
                           .address = args.metrics_address,
                           .port = static_cast<std::uint16_t>(args.metrics_port)},
                       std::move(served));
    } catch (const std::exception& e) {
      err << "sluice run: " << e.what() << '\n';
      return static_cast<int>(exit_status::failed);
    }
    spdlog::info("serving /metrics, /health and /ready of {} pipeline{} on {}:{}",
                 definitions.size(), definitions.size() == 1 ? "" : "s", args.metrics_address,
                 endpoint->port());
  }
  // SIGINT / SIGTERM: a graceful stop (final commit, leave the group), as Kafka Streams' close().
  asio::signal_set signals(context, SIGINT, SIGTERM);
  signals.async_wait([&stop_all](const boost::system::error_code& error, int signal) {
    if (error) return;
    spdlog::info("signal {} received: committing and stopping", signal);
    stop_all();
  });
  held_signals.release();
  for (auto& r : apps) {
    if (r.thread == 0) {
      out << "sluice: running pipeline '" << definitions[r.definition].topology.name << "' from "
          << args.files[r.definition]
          << (threads > 1 ? " on " + std::to_string(threads) + " threads" : std::string())
          << " (Ctrl-C or SIGTERM stops it after a final commit)" << std::endl;
    }
    r.finished = asio::co_spawn(*contexts[r.thread], r.app->run(), asio::use_future);
  }
  auto done = [](const running& r) {
    return r.finished.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  };
  auto all_done = [&](std::size_t thread) {
    return std::all_of(apps.begin(), apps.end(),
                       [&](const running& r) { return r.thread != thread || done(r); });
  };
  std::vector<std::thread> workers;
  for (std::size_t t = 1; t < threads; ++t) {
    workers.emplace_back([&, t] {
      while (!all_done(t)) contexts[t]->run_one_for(std::chrono::milliseconds(100));
    });
  }
  restore_progress_line progress(threads == 1 && &err == &std::cerr &&
                                 ::isatty(STDERR_FILENO) == 1 &&
                                 command.connection.logging.format == "text");
  std::vector<const runtime::stream_app*> shown;
  for (const auto& r : apps) {
    if (r.thread == 0) shown.push_back(r.app.get());
  }
  // run() returns after the final commit; what the clients leave behind must not keep us waiting.
  while (!std::all_of(apps.begin(), apps.end(), done)) {
    context.run_one_for(std::chrono::milliseconds(100));
    progress.update(shown, err);  // between handlers: thread 0's apps are ours to read
    if (std::any_of(apps.begin(), apps.end(), done)) stop_all();  // one stopped: all stop
  }
  progress.update(shown, err, true);
  for (auto& w : workers) w.join();
  signals.cancel();
  if (endpoint) endpoint->close();
  int status = static_cast<int>(exit_status::ok);
  for (auto& r : apps) {
    const auto& name = definitions[r.definition].topology.name;
    const auto thread = threads > 1 ? " (thread " + std::to_string(r.thread) + ")" : std::string();
    try {
      r.finished.get();
    } catch (const std::exception& e) {
      err << "sluice run: " << e.what() << '\n';
      status = static_cast<int>(exit_status::failed);
      continue;
    }
    const auto& metrics = r.app->metrics();
    out << "sluice: stopped " << name << thread << "; " << metrics.records_in.load()
        << " records in, " << metrics.records_out.load() << " out, " << metrics.commits.load()
        << " commits, " << metrics.processing_errors.load() << " errors, "
        << metrics.restored_records.load() << " records restored" << std::endl;
  }
  return status;
}

asio::awaitable<int> run_reset(kafka::admin_client* admin, reset_args args, printer print) {
  auto definition = load_or_report(args.file, *print.err);
  if (!definition) co_return static_cast<int>(exit_status::usage);
  const auto& topology = definition->topology;
  const auto plan = operators::plan_topology(topology);
  std::vector<std::string> internal = plan.repartition_topics;
  internal.insert(internal.end(), plan.changelog_topics.begin(), plan.changelog_topics.end());
  const auto state_dir = std::filesystem::path(args.state_dir) / topology.name;

  auto& out = *print.out;
  out << (args.execute ? "Resetting" : "Would reset (dry run; --execute to do it)") << " pipeline '"
      << topology.name << "':\n";
  out << "  consumer group " << topology.name
      << ": deleted (inputs are read again from the beginning)\n";
  for (const auto& topic : internal) out << "  internal topic " << topic << ": deleted\n";
  out << "  local state " << state_dir.string() << ": removed\n";
  if (!args.execute) co_return static_cast<int>(exit_status::ok);

  int result = static_cast<int>(exit_status::ok);
  std::vector<std::string> groups{topology.name};
  for (const auto& deleted : co_await admin->delete_groups(groups)) {
    if (!deleted.error.ok() && deleted.error.code != kafka::error_code::group_id_not_found) {
      *print.err << "error: group " << deleted.group_id << ": " << deleted.error.message
                 << (deleted.error.code == kafka::error_code::non_empty_group
                         ? " (stop every `sluice run` of this pipeline first)"
                         : "")
                 << '\n';
      result = static_cast<int>(exit_status::failed);
    }
  }
  if (result != 0) co_return result;
  for (const auto& deleted : co_await admin->delete_topics(internal)) {
    if (!deleted.error.ok() &&
        deleted.error.code != kafka::error_code::unknown_topic_or_partition) {
      *print.err << "error: topic " << deleted.name << ": " << deleted.error.message << '\n';
      result = static_cast<int>(exit_status::failed);
    }
  }
  std::error_code removed;
  std::filesystem::remove_all(state_dir, removed);
  if (removed) {
    *print.err << "error: removing " << state_dir.string() << ": " << removed.message() << '\n';
    result = static_cast<int>(exit_status::failed);
  }
  out << (result == 0 ? "done\n" : "incomplete, see the errors above\n");
  co_return result;
}

}  // namespace sluice::cli
