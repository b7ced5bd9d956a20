// Sluice producer driver for scripts/bench: sends --records copies of one --size-byte payload
// (no key, so the sticky partitioner spreads batches over the partitions) and waits until every
// record is delivered. The clock runs from the first send to the end of flush(). Everything but
// the scenario's settings (acks, compression, idempotence, and batch size if given) is the
// producer's default.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <vector>

#include "bench/driver_common.hpp"
#include "kafka/net/broker_address.hpp"
#include "kafka/producer/producer.hpp"

namespace asio = boost::asio;
using namespace sluice;

namespace {

// One in this many delivery handles is kept and checked after flush(): a record's outcome is its
// batch's, so this sees any failed batch of more records than this without keeping a handle per
// record. (scripts/bench also checks the topic's end offsets after every run.)
constexpr std::int64_t checked_every = 8;

using clock_type = std::chrono::steady_clock;

// What the fixed-rate run's per-record waiters write to.
struct latency_log {
  std::vector<double> latencies_ms;
  std::int64_t completed = 0;
  std::int64_t failed = 0;
};

// Waits for one record's delivery and notes its time from send to acknowledgement.
asio::awaitable<void> note_delivery(kafka::delivery delivery, clock_type::time_point sent,
                                    std::shared_ptr<latency_log> log) {
  try {
    co_await delivery.get();
    log->latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(clock_type::now() - sent).count());
  } catch (const std::exception& e) {
    if (log->failed++ == 0) std::fprintf(stderr, "sluice_produce: delivery failed: %s\n", e.what());
  }
  ++log->completed;
}

asio::awaitable<int> run_at_rate(asio::any_io_executor executor, kafka::producer& producer,
                                 bench::driver_args args) {
  const std::vector<std::byte> value = bench::payload(args.size);
  const kafka::protocol::bytes_view value_view(value);
  auto log = std::make_shared<latency_log>();
  log->latencies_ms.reserve(static_cast<std::size_t>(args.records));
  asio::steady_timer timer(executor);
  // One record sent and acknowledged before the clock starts, as ProducerPerformance's
  // --warmup-records 1: connections and metadata are ready for the first measured record.
  kafka::delivery warmup =
      co_await producer.send(args.topic, kafka::protocol::bytes(value.begin(), value.end()));
  co_await warmup.get();
  const auto start = clock_type::now();
  const auto due = [&](std::int64_t i) {
    return start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(
                       static_cast<double>(i) / static_cast<double>(args.rate)));
  };
  for (std::int64_t i = 0; i < args.records;) {
    const auto now = clock_type::now();
    if (due(i) > now) {
      timer.expires_at(std::max(due(i), now + std::chrono::milliseconds(1)));
      co_await timer.async_wait(asio::use_awaitable);
      continue;
    }
    for (; i < args.records && due(i) <= now; ++i) {
      const auto sent = clock_type::now();
      std::optional<kafka::delivery> delivery = producer.try_send(args.topic, value_view);
      if (!delivery)
        delivery =
            co_await producer.send(args.topic, kafka::protocol::bytes(value.begin(), value.end()));
      asio::co_spawn(executor, note_delivery(std::move(*delivery), sent, log),
                     [](std::exception_ptr) {});
    }
  }
  co_await producer.flush();
  // The waiters resume after the deliveries they wait for; let the last ones run.
  while (log->completed < args.records) {
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(asio::use_awaitable);
  }
  const double seconds = bench::seconds_since(start);
  co_await producer.stop();
  const std::int64_t delivered = args.records - log->failed;
  bench::report_latency(delivered, delivered * static_cast<std::int64_t>(args.size), seconds,
                        log->failed, std::move(log->latencies_ms));
  co_return log->failed == 0 ? 0 : 1;
}

asio::awaitable<int> run(asio::any_io_executor executor, bench::driver_args args) {
  kafka::producer_config config;
  config.bootstrap_servers = kafka::parse_bootstrap_servers(args.bootstrap);
  config.client_id = "sluice-bench";
  config.acks = args.acks == "all" ? kafka::acks::all : kafka::acks::leader;
  config.enable_idempotence = args.idempotence;
  config.compression = args.compression == "lz4" ? kafka::records::compression::lz4
                                                 : kafka::records::compression::none;
  if (args.batch_size != 0) config.batch_size = args.batch_size;
  if (args.transaction_ms != 0) config.transactional_id = "sluice-bench-" + args.topic;
  kafka::producer producer(executor, config);
  co_await producer.start();
  if (args.rate != 0) co_return co_await run_at_rate(executor, producer, args);

  const std::vector<std::byte> value = bench::payload(args.size);
  const kafka::protocol::bytes_view value_view(value);
  std::vector<kafka::delivery> checked;
  checked.reserve(static_cast<std::size_t>(args.records / checked_every + 1));

  const auto start = clock_type::now();
  const auto transaction_length = std::chrono::milliseconds(args.transaction_ms);
  auto transaction_start = start;
  if (config.transactional()) producer.begin_transaction();
  for (std::int64_t i = 0; i < args.records; ++i) {
    // The clock is read once every 64 records: often enough for a 100 ms transaction.
    if (config.transactional() && i % 64 == 0 &&
        clock_type::now() - transaction_start >= transaction_length) {
      co_await producer.commit_transaction();
      producer.begin_transaction();
      transaction_start = clock_type::now();
    }
    std::optional<kafka::delivery> delivery = producer.try_send(args.topic, value_view);
    if (!delivery)
      delivery =
          co_await producer.send(args.topic, kafka::protocol::bytes(value.begin(), value.end()));
    if (i % checked_every == 0 || i + 1 == args.records) checked.push_back(std::move(*delivery));
  }
  if (config.transactional()) {
    co_await producer.commit_transaction();
  } else {
    co_await producer.flush();
  }
  const double seconds = bench::seconds_since(start);

  std::int64_t failed_checks = 0;
  for (const auto& delivery : checked) {
    try {
      delivery.result();
    } catch (const std::exception& e) {
      if (failed_checks++ == 0)
        std::fprintf(stderr, "sluice_produce: delivery failed: %s\n", e.what());
    }
  }
  co_await producer.stop();
  // A failed checked record stands for its whole batch, whose size is not known here: report
  // the failure without guessing how many records it cost.
  const std::int64_t delivered = failed_checks == 0 ? args.records : 0;
  bench::report(delivered, delivered * static_cast<std::int64_t>(args.size), seconds,
                failed_checks);
  co_return failed_checks == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return bench::driver_main(argc, argv, "sluice_produce", run);
}
