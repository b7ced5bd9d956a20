// Sluice producer driver for scripts/bench: sends --records copies of one --size-byte payload
// (no key, so the sticky partitioner spreads batches over the partitions) and waits until every
// record is delivered. The clock runs from the first send to the end of flush(). Everything but
// the scenario's settings (acks, compression, idempotence, and batch size if given) is the
// producer's default.
#include "bench/driver_common.hpp"
#include "kafka/net/broker_address.hpp"
#include "kafka/producer/producer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <vector>

namespace asio = boost::asio;
using namespace sluice;

namespace {

// One in this many delivery handles is kept and checked after flush(): a record's outcome is its
// batch's, so this sees any failed batch of more records than this without keeping a handle per
// record. (scripts/bench also checks the topic's end offsets after every run.)
constexpr std::int64_t checked_every = 8;

asio::awaitable<int> run(asio::any_io_executor executor, bench::driver_args args) {
  kafka::producer_config config;
  config.bootstrap_servers = kafka::parse_bootstrap_servers(args.bootstrap);
  config.client_id = "sluice-bench";
  config.acks = args.acks == "all" ? kafka::acks::all : kafka::acks::leader;
  config.enable_idempotence = args.idempotence;
  config.compression = args.compression == "lz4" ? kafka::records::compression::lz4 : kafka::records::compression::none;
  if (args.batch_size != 0) config.batch_size = args.batch_size;
  kafka::producer producer(executor, config);
  co_await producer.start();

  const std::vector<std::byte> value = bench::payload(args.size);
  const kafka::protocol::bytes_view value_view(value);
  std::vector<kafka::delivery> checked;
  checked.reserve(static_cast<std::size_t>(args.records / checked_every + 1));

  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t i = 0; i < args.records; ++i) {
    std::optional<kafka::delivery> delivery = producer.try_send(args.topic, value_view);
    if (!delivery) delivery = co_await producer.send(args.topic, kafka::protocol::bytes(value.begin(), value.end()));
    if (i % checked_every == 0 || i + 1 == args.records) checked.push_back(std::move(*delivery));
  }
  co_await producer.flush();
  const double seconds = bench::seconds_since(start);

  std::int64_t failed_checks = 0;
  for (const auto& delivery : checked) {
    try {
      delivery.result();
    } catch (const std::exception& e) {
      if (failed_checks++ == 0) std::fprintf(stderr, "sluice_produce: delivery failed: %s\n", e.what());
    }
  }
  co_await producer.stop();
  // A failed checked record stands for its whole batch, whose size is not known here: report
  // the failure without guessing how many records it cost.
  const std::int64_t delivered = failed_checks == 0 ? args.records : 0;
  bench::report(delivered, delivered * static_cast<std::int64_t>(args.size), seconds, failed_checks);
  co_return failed_checks == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const bench::driver_args args = bench::parse_args(argc, argv);
    asio::io_context context(1);
    auto result = asio::co_spawn(context, run(context.get_executor(), args), asio::use_future);
    context.run();
    return result.get();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sluice_produce: %s\n", e.what());
    return 2;
  }
}
