#pragma once

// What the runtime's integration tests share: a windowed counting pipeline, producing keyed
// records to chosen partitions, reading the output and the changelogs back, reading a task's
// stores from its state directory, and a stream_app running on its own thread.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "kafka/admin/admin_client.hpp"
#include "kafka/consumer/consumer.hpp"
#include "kafka/producer/producer.hpp"
#include "runtime/stream_app.hpp"
#include "state/key_layout.hpp"
#include "state/rocksdb/task_database.hpp"
#include "tests/support/run_coroutine.hpp"
#include "tests/support/test_cluster.hpp"

namespace sluice::runtime::test_support {

namespace asio = boost::asio;
namespace json = boost::json;
using sluice::test::run_coroutine;

inline constexpr std::int64_t minute = 60'000;

// Event times near now (the broker's time-based retention would delete older records at once), at
// the start of a minute, so that every record of a test falls into one window.
inline std::int64_t base_time() {
  static const std::int64_t value = [] {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    return now.count() - now.count() % minute;
  }();
  return value;
}

inline kafka::client_config client() {
  kafka::client_config config;
  config.bootstrap_servers = kafka::parse_bootstrap_servers(test::bootstrap_servers());
  return config;
}

// A pipeline named `app` reading `input` (string keys, JSON values) under `delivery`, committing
// every `commit_interval`; the caller adds its nodes and sinks.
inline operators::topology json_source_pipeline(
    const std::string& app, const std::string& input, operators::delivery_guarantee delivery,
    std::chrono::milliseconds commit_interval = std::chrono::milliseconds(100)) {
  operators::topology t;
  t.name = app;
  t.delivery = delivery;
  t.commit_interval = commit_interval;
  t.sources.push_back({{input}, operators::data_format::string, operators::data_format::json});
  return t;
}

// Counts and sums `amount` per key in one-minute tumbling windows: one sub-topology, a window store
// and its meta store, each with a changelog.
inline operators::topology counting_pipeline(const std::string& app, const std::string& input,
                                             const std::string& output,
                                             operators::delivery_guarantee delivery) {
  auto t = json_source_pipeline(app, input, delivery, std::chrono::milliseconds(200));
  operators::windowed_aggregation_spec aggregation;
  aggregation.name = "per-minute";
  aggregation.window.kind = operators::window_kind::tumbling;
  aggregation.window.size = std::chrono::minutes(1);
  aggregation.aggregations.push_back({"count", operators::aggregate_function::count, "", ""});
  aggregation.aggregations.push_back(
      {"total", operators::aggregate_function::sum, "value.amount", ""});
  t.aggregation = aggregation;
  t.sinks = {{output, operators::data_format::string, operators::data_format::json}};
  return t;
}

// A pipeline whose only source is `topic` read as a table (string keys, JSON values), committing
// every 100 ms, writing JSON to `output`; the caller adds its steps and aggregation.
inline operators::topology table_source_pipeline(const std::string& app, const std::string& topic,
                                                 const std::string& output,
                                                 operators::delivery_guarantee delivery) {
  auto t = json_source_pipeline(app, topic, delivery);
  t.sources.back().as_table = true;
  t.sinks = {{output, operators::data_format::string, operators::data_format::json}};
  return t;
}

// The same count and sum per key as a table aggregation (no window): one key-value store.
inline operators::topology table_counting_pipeline(const std::string& app, const std::string& input,
                                                   const std::string& output,
                                                   operators::delivery_guarantee delivery) {
  auto t = counting_pipeline(app, input, output, delivery);
  operators::table_aggregation_spec table;
  table.name = "per-user";
  table.aggregations = t.aggregation->aggregations;
  t.aggregation.reset();
  t.table = table;
  return t;
}

inline asio::awaitable<void> create_topic(asio::any_io_executor executor, std::string name,
                                          std::int32_t partitions) {
  kafka::cluster cluster(executor, client());
  co_await cluster.start();
  kafka::admin_client admin(cluster);
  std::vector<kafka::new_topic> topics(1);
  topics[0].name = name;
  topics[0].partitions = partitions;
  topics[0].replication_factor = 1;
  auto results = co_await admin.create_topics(topics);
  results.at(0).error.throw_if_failed("creating " + name);
  cluster.close();
}

// `count` records with key `key` to `partition`, amount = index, timestamps in the first minute.
inline asio::awaitable<void> produce_orders(asio::any_io_executor executor, std::string topic,
                                            std::int32_t partition, std::string key, int first,
                                            int count) {
  kafka::producer_config config;
  static_cast<kafka::client_config&>(config) = client();
  kafka::producer producer(executor, config);
  co_await producer.start();
  for (int i = first; i < first + count; ++i) {
    std::string value = json::serialize(json::object{{"amount", i}});
    co_await producer.send(topic, kafka::protocol::to_bytes(value), kafka::protocol::to_bytes(key),
                           kafka::partition_id{partition}, kafka::timestamp_ms{base_time() + i});
  }
  co_await producer.flush();
  co_await producer.stop();
}

// A record to produce with its own timestamp: `at` milliseconds after base_time(); a value of
// nullopt is a tombstone.
struct timed_record {
  std::string key;
  std::optional<std::string> value;
  std::int64_t at = 0;
};

inline asio::awaitable<void> produce_timed(asio::any_io_executor executor, std::string topic,
                                           std::int32_t partition,
                                           std::vector<timed_record> records) {
  kafka::producer_config config;
  static_cast<kafka::client_config&>(config) = client();
  kafka::producer producer(executor, config);
  co_await producer.start();
  for (const auto& r : records) {
    std::optional<kafka::protocol::bytes> value;
    if (r.value) value = kafka::protocol::to_bytes(*r.value);
    co_await producer.send(topic, std::move(value), kafka::protocol::to_bytes(r.key),
                           kafka::partition_id{partition}, kafka::timestamp_ms{base_time() + r.at});
  }
  co_await producer.flush();
  co_await producer.stop();
}

// What the two-process tests share: the input topic (a join's two: `left` and `right`), created
// with `partitions` each, the output, the application id, and two processes' configurations,
// each with a state directory of its own (removed with the fixture).
struct two_process_fixture {
  std::string left;   // the input; a join's left side
  std::string right;  // a join's right side; empty with one input
  std::string output;
  std::string app;
  runtime_config config;    // the first process
  runtime_config config_b;  // the second one

  // One input topic.
  two_process_fixture(const char* input_name, const char* output_name, const char* app_name,
                      std::int32_t partitions)
      : two_process_fixture(input_name, nullptr, output_name, app_name, partitions) {}
  // Two (right_name null: one).
  two_process_fixture(const char* left_name, const char* right_name, const char* output_name,
                      const char* app_name, std::int32_t partitions)
      : left(test::unique_topic(left_name)),
        right(right_name != nullptr ? test::unique_topic(right_name) : std::string()),
        output(test::unique_topic(output_name)),
        app(test::unique_topic(app_name)) {
    for (const auto& topic : {left, right}) {
      if (topic.empty()) continue;
      run_coroutine([&](asio::any_io_executor executor) {
        return create_topic(executor, topic, partitions);
      });
    }
    config.client = client();
    config.state_dir = std::filesystem::temp_directory_path() / ("sluice-it-" + app);
    config_b = config;
    config_b.state_dir = std::filesystem::temp_directory_path() / ("sluice-it-" + app + "-b");
  }
  ~two_process_fixture() {
    for (const auto& dir : {config.state_dir, config_b.state_dir}) std::filesystem::remove_all(dir);
  }
  two_process_fixture(const two_process_fixture&) = delete;
  two_process_fixture& operator=(const two_process_fixture&) = delete;

  const std::string& input() const { return left; }

  void produce(const std::string& topic, std::int32_t partition,
               std::vector<timed_record> records) const {
    run_coroutine([&](asio::any_io_executor executor) {
      return produce_timed(executor, topic, partition, records);
    });
  }
};

// Every record of the partitions from the beginning to the end (the last stable offset under
// read_committed), handed to `visit`.
inline asio::awaitable<void> read_to_end(asio::any_io_executor executor,
                                         std::vector<kafka::topic_partition> all,
                                         kafka::isolation_level isolation,
                                         std::function<void(const kafka::consumer_record&)> visit) {
  kafka::consumer_config config;
  static_cast<kafka::client_config&>(config) = client();
  config.isolation = isolation;
  config.offset_reset = kafka::auto_offset_reset::earliest;
  kafka::consumer consumer(executor, config);
  co_await consumer.start();
  consumer.assign(all);
  co_await consumer.seek_to_beginning(all);
  auto ends = co_await consumer.end_offsets(all);
  for (int idle = 0; idle < 20;) {
    bool done = true;
    for (const auto& tp : all) done = done && co_await consumer.position(tp) >= ends[tp];
    if (done) break;
    auto batch = co_await consumer.getmany(std::chrono::milliseconds(500));
    if (batch.empty()) ++idle;
    for (const auto& record : batch) visit(record);
  }
  co_await consumer.stop();
}

// Every committed record of the topic's partitions 0..partitions-1, in log order per partition,
// handed to `visit` (an independent reader: its own read_committed consumer).
inline void read_committed_topic(const std::string& topic, std::int32_t partitions,
                                 const std::function<void(const kafka::consumer_record&)>& visit) {
  std::vector<kafka::topic_partition> all;
  all.reserve(partitions);
  for (std::int32_t p = 0; p < partitions; ++p) all.push_back({topic, p});
  run_coroutine([&](asio::any_io_executor executor) {
    return read_to_end(executor, all, kafka::isolation_level::read_committed, visit);
  });
}

// The latest output value per key, reading the whole topic (read_committed).
inline std::map<std::string, json::object> latest_outputs(const std::string& topic,
                                                          std::int32_t partitions) {
  std::map<std::string, json::object> latest;
  read_committed_topic(topic, partitions, [&](const kafka::consumer_record& r) {
    latest[std::string(r.key_string())] = json::parse(r.value_string()).as_object();
  });
  return latest;
}

// Per key, its records' values in log order as "value @at" ("null" for a tombstone, `at` relative
// to base_time()), reading every partition of the topic (read_committed): a table's updates.
inline std::map<std::string, std::vector<std::string>> values_at_by_key(const std::string& topic,
                                                                        std::int32_t partitions) {
  std::map<std::string, std::vector<std::string>> out;
  read_committed_topic(topic, partitions, [&](const kafka::consumer_record& r) {
    const std::string value = r.value ? std::string(r.value_string()) : "null";
    out[std::string(r.key_string())].push_back(value + " @" +
                                               std::to_string(r.timestamp - base_time()));
  });
  return out;
}

// A store's content: changelog-layout key → value.
using store_content = std::map<std::string, std::string>;

struct changelog_read {
  store_content latest;     // latest value per key, tombstones applied
  std::size_t records = 0;  // data records seen (transaction markers are not records)
};

inline changelog_read read_changelog(const kafka::topic_partition& changelog,
                                     kafka::isolation_level isolation) {
  changelog_read result;
  const std::vector<kafka::topic_partition> only(1, changelog);
  run_coroutine([&](asio::any_io_executor executor) {
    return read_to_end(executor, only, isolation, [&](const kafka::consumer_record& r) {
      ++result.records;
      std::string key(r.key_string());
      if (r.value) {
        result.latest[key] = std::string(r.value_string());
      } else {
        result.latest.erase(key);
      }
    });
  });
  return result;
}

struct store_snapshot {
  store_content content;
  std::optional<std::int64_t> committed_offset;
};

// Opens task `task` of the app's state directory (the app must not be running) and reads every
// store of the plan, in changelog layout, with the changelog offset it recorded.
inline std::map<std::string, store_snapshot> read_task_stores(
    const std::filesystem::path& state_dir, const operators::topology& topology,
    const std::string& task) {
  auto plan = operators::plan_topology(topology);
  auto memory =
      std::make_shared<state::rocksdb::memory_budget>(state::rocksdb::memory_budget_config{});
  auto database = state::rocksdb::task_database::open(
      {state_dir / topology.name / task, topology.name, task, memory});
  std::map<std::string, store_snapshot> stores;
  for (const auto& store : plan.sub_topologies.at(0).stores) {
    store_snapshot snapshot;
    if (store.kind == operators::store_kind::key_value) {
      auto kv = database.open_kv_store(store.name);
      kv->all([&](state::bytes_view key, state::bytes_view value) {
        snapshot.content[std::string(key)] = std::string(value);
        return true;
      });
      if (auto offset = kv->committed_offset()) snapshot.committed_offset = offset->value;
    } else if (store.kind == operators::store_kind::window) {
      auto windows =
          database.open_window_store(store.name, state::window_store_options{store.retention});
      windows->all([&](state::bytes_view key, std::int64_t start, state::bytes_view value) {
        snapshot.content[state::key_layout::window_key(key, start)] = std::string(value);
        return true;
      });
      if (auto offset = windows->committed_offset()) snapshot.committed_offset = offset->value;
    } else {
      ADD_FAILURE() << "read_task_stores reads key-value and window stores only";
    }
    stores[store.name] = std::move(snapshot);
  }
  return stores;
}

// The changelog topic of every store of the (single) sub-topology, by store name.
inline std::map<std::string, std::string> changelog_topics(const operators::topology& topology) {
  std::map<std::string, std::string> topics;
  const auto plan = operators::plan_topology(topology);
  for (const auto& store : plan.sub_topologies.at(0).stores) {
    topics[store.name] = store.changelog_topic;
  }
  return topics;
}

// Polls `condition` every 100 ms for up to `deadline`.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::seconds deadline = std::chrono::seconds(60)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

// A stream_app running on its own thread (its own io_context), as one process of the application.
class running_app {
 public:
  running_app(operators::topology topology, runtime_config config,
              operators::function_registry registry = {})
      : registry_(std::move(registry)),
        app_(context_.get_executor(), std::move(topology), std::move(config), registry_) {}
  ~running_app() {
    if (!runner_.joinable()) return;
    app_.request_stop();
    finished_.wait();
    context_.stop();
    runner_.join();
  }
  running_app(const running_app&) = delete;
  running_app& operator=(const running_app&) = delete;

  void start() {
    finished_ = asio::co_spawn(context_, app_.run(), asio::use_future);
    runner_ = std::thread([this] { context_.run(); });
  }
  const runtime_metrics& metrics() const { return app_.metrics(); }
  const stream_app& app() const { return app_; }
  bool finished() const {
    return finished_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }

  // Waits for run() to return on its own (a failure) and rethrows what stopped it.
  void join() {
    finished_.wait();
    finish();
  }
  // Asks the app to stop, waits for run() and rethrows what stopped it, if anything did.
  void stop() {
    app_.request_stop();
    join();
  }

 private:
  void finish() {
    // run() returned after committing and leaving the group; background work the clients leave (a
    // reconnect timer, say) must not keep the test waiting, so the context stops then.
    context_.stop();
    runner_.join();
    finished_.get();
  }

  operators::function_registry registry_;
  asio::io_context context_;
  stream_app app_;
  std::future<void> finished_;
  std::thread runner_;
};

// Polls `reached` every 500 ms for up to 45 s; false early when the app stopped. A read that
// throws counts as not reached (the app creates its output topic when it starts).
inline bool wait_until(const running_app& app, const std::function<bool()>& reached) {
  for (int attempt = 0; attempt < 90; ++attempt) {
    if (app.finished()) return false;
    try {
      if (reached()) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return false;
}

// Waits until the output shows `expected` counts per key (fails early when the app stopped).
inline bool wait_for_counts(const running_app& app, const std::string& output,
                            std::int32_t partitions,
                            const std::map<std::string, std::int64_t>& expected) {
  for (int attempt = 0; attempt < 90; ++attempt) {
    if (app.finished()) return false;
    std::map<std::string, json::object> latest;
    try {
      latest = latest_outputs(output, partitions);
    } catch (const std::exception&) {
      // The app creates the output topic when it starts: it may not exist (or lead) yet.
    }
    bool reached = true;
    for (const auto& [key, count] : expected) {
      reached = reached && latest.contains(key) && latest[key].at("count").as_int64() == count;
    }
    if (reached) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return false;
}

}  // namespace sluice::runtime::test_support
