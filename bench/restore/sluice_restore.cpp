// Sluice's restore driver for bench/run.py's `restore` suite (bench/restore/README.md).
//
//   bench_sluice_restore fill    --bootstrap B --topic T --records N [--size S]
//   bench_sluice_restore restore --bootstrap B --topic T --records N --state-dir D
//
// fill: N records with distinct keys (16 hex digits of a 64-bit mix of the index) and the
// benchmark's payload of S bytes (default 100) to partition 0 of the changelog topic T; acks=all,
// idempotent (the producer's defaults).
//
// restore: opens task 0_0 of application "bench-restore" in state directory D (RocksDB, the
// runtime's options and memory budget) with one key-value store, "store", and brings it up to the
// end of T's partition 0 with runtime::restore_store, the code stream_app restores every store
// with (read_committed, group-less consumer, batches applied with their offset). With D empty this
// is a full restore; with D left by an earlier run it is a clean restart and reads nothing. Prints
// the usual one-line report, with "seconds" = the restore alone, and extra figures: "offsets"
// (end - start offset), "apply_s" (of "seconds", the time spent writing to the store), "open_s"
// (opening the database) and "close_s" (flushing and closing it).
// --records is what a full restore must bring: the driver exits 1 when a restore from an empty
// directory applied fewer.
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "bench/driver_common.hpp"
#include "kafka/client/run_to_completion.hpp"
#include "kafka/consumer/consumer.hpp"
#include "kafka/net/broker_address.hpp"
#include "kafka/producer/producer.hpp"
#include "runtime/changelog_restorer.hpp"
#include "state/rocksdb/task_database.hpp"

namespace asio = boost::asio;
using namespace sluice;

namespace {

struct options {
  std::string mode;
  std::string bootstrap;
  std::string topic;
  std::int64_t records = 0;
  std::size_t size = 100;
  std::filesystem::path state_dir;
};

options parse(int argc, char** argv) {
  if (argc < 2)
    throw std::invalid_argument(
        "usage: bench_sluice_restore fill|restore --bootstrap B --topic T ...");
  options o;
  o.mode = argv[1];
  if (o.mode != "fill" && o.mode != "restore") {
    throw std::invalid_argument("mode must be fill or restore, not '" + o.mode + "'");
  }
  for (int i = 2; i < argc; i += 2) {
    const std::string option = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(option + " needs a value");
    const std::string value = argv[i + 1];
    if (option == "--bootstrap")
      o.bootstrap = value;
    else if (option == "--topic")
      o.topic = value;
    else if (option == "--records")
      o.records = bench::parse_count(option, value);
    else if (option == "--size")
      o.size = static_cast<std::size_t>(bench::parse_count(option, value));
    else if (option == "--state-dir")
      o.state_dir = value;
    else
      throw std::invalid_argument("unknown option '" + option + "'");
  }
  if (o.bootstrap.empty() || o.topic.empty() || o.records == 0) {
    throw std::invalid_argument("--bootstrap, --topic and --records are required");
  }
  if (o.mode == "restore" && o.state_dir.empty())
    throw std::invalid_argument("restore needs --state-dir");
  return o;
}

// Distinct keys in no particular order: splitmix64 of the index, as 16 hex digits.
std::string key_of(std::uint64_t index) {
  std::uint64_t z = index + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  static constexpr char digits[] = "0123456789abcdef";
  std::string key(16, '0');
  for (int i = 15; i >= 0; --i, z >>= 4) key[static_cast<std::size_t>(i)] = digits[z & 15];
  return key;
}

asio::awaitable<int> fill(asio::any_io_executor executor, options o) {
  kafka::producer_config config;
  config.bootstrap_servers = kafka::parse_bootstrap_servers(o.bootstrap);
  config.client_id = "sluice-bench-restore-fill";
  kafka::producer producer(executor, config);
  co_await producer.start();
  const auto value = bench::payload(o.size);
  const kafka::protocol::bytes_view value_view(value.data(), value.size());
  const auto start = std::chrono::steady_clock::now();
  kafka::delivery last;
  for (std::int64_t i = 0; i < o.records; ++i) {
    const auto key = key_of(static_cast<std::uint64_t>(i));
    const auto key_view = kafka::protocol::as_bytes_view(key);
    if (auto queued = producer.try_send(o.topic, value_view, key_view, kafka::partition_id{0})) {
      last = *queued;
    } else {
      last = co_await producer.send(o.topic, kafka::protocol::bytes(value.begin(), value.end()),
                                    kafka::protocol::to_bytes(key), kafka::partition_id{0});
    }
  }
  co_await producer.flush();
  last.result();  // throws when the last record failed; the harness checks the topic's end offset
  co_await producer.stop();
  bench::report(o.records, o.records * static_cast<std::int64_t>(o.size),
                bench::seconds_since(start), 0);
  co_return 0;
}

asio::awaitable<int> restore(asio::any_io_executor executor, options o) {
  const bool fresh = !std::filesystem::exists(o.state_dir / "0_0");
  auto open_started = std::chrono::steady_clock::now();
  auto memory =
      std::make_shared<state::rocksdb::memory_budget>(state::rocksdb::memory_budget_config{});
  auto database =
      state::rocksdb::task_database::open({o.state_dir / "0_0", "bench-restore", "0_0", memory});
  auto store = database.open_kv_store("store");
  const double open_s = bench::seconds_since(open_started);

  kafka::client_config client;
  client.bootstrap_servers = kafka::parse_bootstrap_servers(o.bootstrap);
  client.client_id = "sluice-bench";
  kafka::consumer consumer(executor, runtime::restore_consumer_config(client));
  co_await consumer.start();
  // Named arguments, not braced temporaries, in the co_await expression (GCC 12 miscompiles those).
  const kafka::topic_partition changelog{o.topic, 0};
  const std::string label = "bench";
  const auto outcome = co_await runtime::restore_store(consumer, *store, changelog, label);
  co_await consumer.stop();

  const auto close_started = std::chrono::steady_clock::now();
  store.reset();
  { auto closing = std::move(database); }  // flushes: the next run is a clean restart
  const double close_s = bench::seconds_since(close_started);

  const auto records = static_cast<std::int64_t>(outcome.records);
  const int errors = fresh && records < o.records ? 1 : 0;
  if (errors) {
    std::fprintf(stderr, "sluice_restore: a full restore applied %lld of %lld records\n",
                 static_cast<long long>(records), static_cast<long long>(o.records));
  }
  std::printf(
      "{\"records\": %lld, \"bytes\": %lld, \"seconds\": %.6f, \"errors\": %d, \"offsets\": %lld, "
      "\"apply_s\": %.6f, \"open_s\": %.6f, \"close_s\": %.6f}\n",
      static_cast<long long>(records),
      static_cast<long long>(records) * static_cast<long long>(o.size), outcome.elapsed.count(),
      errors, static_cast<long long>(outcome.to - outcome.from), outcome.applying.count(), open_s,
      close_s);
  std::fflush(stdout);
  co_return errors;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto o = parse(argc, argv);
    spdlog::set_level(spdlog::level::warn);
    asio::io_context context(1);
    return kafka::run_to_completion(context, o.mode == "fill" ? fill(context.get_executor(), o)
                                                              : restore(context.get_executor(), o));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_sluice_restore: %s\n", e.what());
    return 2;
  }
}
