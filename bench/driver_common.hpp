#pragma once

// What the Sluice drivers share with every peer driver (bench/peers/driver_common.h): the command
// line, the payload and the one-line JSON report that bench/run.py parses; and their main(). See
// bench/README.md for what each driver measures.

#include <algorithm>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/client/run_to_completion.hpp"

namespace sluice::bench {

struct driver_args {
  std::string bootstrap;
  std::string topic;
  std::int64_t records = 0;
  std::size_t size = 100;                      // produce: bytes per record value
  std::string acks = "all";                    // produce: "1" or "all"
  std::string compression = "none";            // produce: "none" or "lz4"
  bool idempotence = true;                     // produce
  std::size_t batch_size = 0;                  // produce: batch.size in bytes; 0 = the default
  std::int32_t partitions = 1;                 // consume: partitions 0..partitions-1 are assigned
  std::string isolation = "read_uncommitted";  // consume
  std::int64_t rate = 0;  // produce: records/s at a fixed rate, per-record latency; 0 = flat out
  std::int64_t transaction_ms =
      0;              // produce: transactional, commit every this many ms; 0 = no transactions
  std::string group;  // group: the group id
  std::string assignor = "range";  // group: "range" (eager) or "cooperative-sticky"
};

inline std::int64_t parse_count(std::string_view option, const std::string& text) {
  std::size_t used = 0;
  long long value = -1;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value < 1) {
    throw std::invalid_argument(std::string(option) + " needs an integer >= 1, not '" + text + "'");
  }
  return value;
}

// --bootstrap B --topic T --records N [--size S --acks 1|all --compression none|lz4
// --idempotence true|false --batch-size BYTES --rate R --transaction-ms M]
// [--partitions P --isolation read_uncommitted|read_committed] [--group G --assignor
// range|cooperative-sticky]
inline driver_args parse_args(int argc, char** argv) {
  driver_args args;
  for (int i = 1; i < argc; i += 2) {
    const std::string_view option = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(std::string(option) + " needs a value");
    const std::string value = argv[i + 1];
    if (option == "--bootstrap")
      args.bootstrap = value;
    else if (option == "--topic")
      args.topic = value;
    else if (option == "--records")
      args.records = parse_count(option, value);
    else if (option == "--size")
      args.size = static_cast<std::size_t>(parse_count(option, value));
    else if (option == "--acks")
      args.acks = value;
    else if (option == "--compression")
      args.compression = value;
    else if (option == "--idempotence")
      args.idempotence = value == "true";
    else if (option == "--batch-size")
      args.batch_size = static_cast<std::size_t>(parse_count(option, value));
    else if (option == "--partitions")
      args.partitions = static_cast<std::int32_t>(parse_count(option, value));
    else if (option == "--isolation")
      args.isolation = value;
    else if (option == "--rate")
      args.rate = parse_count(option, value);
    else if (option == "--transaction-ms")
      args.transaction_ms = parse_count(option, value);
    else if (option == "--group")
      args.group = value;
    else if (option == "--assignor")
      args.assignor = value;
    else
      throw std::invalid_argument("unknown option '" + std::string(option) + "'");
  }
  if (args.bootstrap.empty() || args.topic.empty() || args.records == 0) {
    throw std::invalid_argument("--bootstrap, --topic and --records are required");
  }
  return args;
}

// `size` random upper-case letters, made once and reused for every record, from the same
// generator as every peer driver (bench/run.py gives the same bytes to Kafka's
// ProducerPerformance as its --payload-file), so compression sees the same data from all.
inline std::vector<std::byte> payload(std::size_t size) {
  std::vector<std::byte> out(size);
  std::uint64_t state = 0x9E3779B97F4A7C15ULL;
  for (auto& b : out) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    b = static_cast<std::byte>('A' + static_cast<int>((state >> 33) % 26));
  }
  return out;
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

inline void report(std::int64_t records, std::int64_t bytes, double seconds, std::int64_t errors) {
  std::printf("{\"records\": %lld, \"bytes\": %lld, \"seconds\": %.6f, \"errors\": %lld}\n",
              static_cast<long long>(records), static_cast<long long>(bytes), seconds,
              static_cast<long long>(errors));
  std::fflush(stdout);
}

// The latency report of a fixed-rate run: nearest-rank percentiles of the send-to-acknowledgement
// times in milliseconds (the same computation as driver_common.h and driver_common.py).
inline double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

inline void report_latency(std::int64_t records, std::int64_t bytes, double seconds,
                           std::int64_t errors, std::vector<double> latencies_ms) {
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf(
      "{\"records\": %lld, \"bytes\": %lld, \"seconds\": %.6f, \"errors\": %lld, "
      "\"latency_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"p999\": %.3f, \"max\": %.3f, \"count\": "
      "%zu}}\n",
      static_cast<long long>(records), static_cast<long long>(bytes), seconds,
      static_cast<long long>(errors), percentile(latencies_ms, 0.5), percentile(latencies_ms, 0.99),
      percentile(latencies_ms, 0.999), latencies_ms.empty() ? 0.0 : latencies_ms.back(),
      latencies_ms.size());
  std::fflush(stdout);
}

// Seconds on CLOCK_MONOTONIC, the clock every driver stamps group events with (steady_clock on
// Linux, time.monotonic in Python, System.nanoTime in Java), so the harness can compare them.
inline double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A driver's main(): its command line parsed, then `run(executor, args)`, a coroutine giving the
// exit status, run to completion on one thread; a failure of either is printed as "NAME: what"
// with exit status 2.
template <class Run>
int driver_main(int argc, char** argv, const char* name, Run run) {
  try {
    const driver_args args = parse_args(argc, argv);
    boost::asio::io_context context(1);
    return kafka::run_to_completion(context, run(context.get_executor(), args));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 2;
  }
}

}  // namespace sluice::bench
