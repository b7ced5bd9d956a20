// Sluice consumer driver for scripts/bench: assigns partitions 0..--partitions-1 of --topic from
// the beginning (no group, no commits) and reads with getmany() until --records records arrived.
// The clock runs from assign() to the last record. CRC checks are off, as in every consumer of
// the benchmark (Kafka's ConsumerPerformance turns them off and cannot be told otherwise);
// everything else but isolation is the consumer's default.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <vector>

#include "bench/driver_common.hpp"
#include "kafka/consumer/consumer.hpp"
#include "kafka/net/broker_address.hpp"

namespace asio = boost::asio;
using namespace sluice;

namespace {

constexpr auto poll_timeout = std::chrono::milliseconds(100);
constexpr auto give_up_after = std::chrono::seconds(60);

asio::awaitable<int> run(asio::any_io_executor executor, bench::driver_args args) {
  kafka::consumer_config config;
  config.bootstrap_servers = kafka::parse_bootstrap_servers(args.bootstrap);
  config.client_id = "sluice-bench";
  config.offset_reset = kafka::auto_offset_reset::earliest;
  config.enable_auto_commit = false;
  config.check_crcs = false;
  config.isolation = args.isolation == "read_committed" ? kafka::isolation_level::read_committed
                                                        : kafka::isolation_level::read_uncommitted;
  kafka::consumer consumer(executor, config);
  co_await consumer.start();

  const auto start = std::chrono::steady_clock::now();
  std::vector<kafka::topic_partition> partitions;
  for (std::int32_t p = 0; p < args.partitions; ++p) partitions.push_back({args.topic, p});
  consumer.assign(partitions);
  co_await consumer.seek_to_beginning();

  std::int64_t records = 0;
  std::int64_t bytes = 0;
  auto last_progress = std::chrono::steady_clock::now();
  while (records < args.records) {
    const std::vector<kafka::consumer_record> batch = co_await consumer.getmany(poll_timeout);
    if (batch.empty()) {
      if (std::chrono::steady_clock::now() - last_progress > give_up_after) {
        std::fprintf(stderr, "sluice_consume: no record for 60 s after %lld of %lld\n",
                     static_cast<long long>(records), static_cast<long long>(args.records));
        break;
      }
      continue;
    }
    records += static_cast<std::int64_t>(batch.size());
    for (const auto& record : batch)
      bytes += record.value ? static_cast<std::int64_t>(record.value->size()) : 0;
    last_progress = std::chrono::steady_clock::now();
  }
  const double seconds = bench::seconds_since(start);
  co_await consumer.stop();
  const std::int64_t missing = records < args.records ? args.records - records : 0;
  bench::report(records, bytes, seconds, missing);
  co_return missing == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return bench::driver_main(argc, argv, "sluice_consume", run);
}
