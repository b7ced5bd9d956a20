// Queues many records without waiting for each, then waits for all of them: the fast way to
// produce (batches fill up, several requests are in flight). try_send() is the allocation-free
// path; it declines when it would have to wait, and the awaitable send() takes over.
//
//   batch_producer BOOTSTRAP TOPIC COUNT
#include <chrono>
#include <iostream>

#include "examples/run_example.hpp"
#include "kafka/producer/producer.hpp"

namespace asio = boost::asio;
using namespace sluice::kafka;

asio::awaitable<void> run(asio::any_io_executor executor, std::string bootstrap, std::string topic,
                          int count) {
  producer_config config;
  config.bootstrap_servers = parse_bootstrap_servers(bootstrap);
  config.compression = records::compression::lz4;
  config.linger = std::chrono::milliseconds(10);
  config.batch_size = 64 * 1024;
  producer p(executor, config);
  co_await p.start();
  const auto started = std::chrono::steady_clock::now();
  protocol::bytes value(100, std::byte{'x'});
  delivery last;
  int failed = 0;
  for (int i = 0; i < count; ++i) {
    if (auto queued = p.try_send(topic, protocol::bytes_view(value))) {
      last = std::move(*queued);
    } else {
      last = co_await p.send(topic, value);
    }
  }
  co_await p.flush();
  try {
    co_await last.get();
  } catch (const kafka_error& e) {
    ++failed;
    std::cerr << "the last record failed: " << e.what() << "\n";
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  std::cout << count << " records in " << took.count() << " s (" << count / took.count()
            << " records/s)\n";
  co_await p.stop();
  if (failed != 0) throw std::runtime_error("records failed");
}

int main(int argc, char** argv) {
  return run_example(argc == 4, "batch_producer BOOTSTRAP TOPIC COUNT",
                     [&](asio::any_io_executor executor) {
                       return run(executor, argv[1], argv[2], std::stoi(argv[3]));
                     });
}
