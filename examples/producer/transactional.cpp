// A transactional producer: records of one transaction become visible to read_committed
// consumers together, or not at all. A second run with the same transactional id fences the
// first (zombie fencing). run_in_transaction commits when the body returns and aborts when it
// throws.
//
//   transactional BOOTSTRAP TOPIC TRANSACTIONAL_ID
#include <iostream>

#include "examples/run_example.hpp"
#include "kafka/producer/producer.hpp"

namespace asio = boost::asio;
using namespace sluice::kafka;

asio::awaitable<void> send_batch(producer* p, const std::string* topic, int batch) {
  for (int i = 0; i < 5; ++i) {
    co_await p->send(*topic, protocol::to_bytes("batch " + std::to_string(batch) + " record " +
                                                std::to_string(i)));
  }
  if (batch == 1) throw std::runtime_error("batch 1 failed half-way: its records are aborted");
}

asio::awaitable<void> run(asio::any_io_executor executor, std::string bootstrap, std::string topic,
                          std::string id) {
  producer_config config;
  config.bootstrap_servers = parse_bootstrap_servers(bootstrap);
  config.transactional_id = id;
  producer p(executor, config);
  co_await p.start();  // fences older producers with this transactional id
  for (int batch = 0; batch < 3; ++batch) {
    const auto body = [&p, &topic, batch]() { return send_batch(&p, &topic, batch); };
    try {
      co_await p.run_in_transaction(body);
      std::cout << "batch " << batch << " committed\n";
    } catch (const kafka_error& e) {
      if (!e.retriable() && e.kafka_code() == error_code::producer_fenced)
        throw;  // a newer instance took over
      std::cout << "batch " << batch << " aborted: " << e.what() << "\n";
    } catch (const std::runtime_error& e) {
      std::cout << "batch " << batch << " aborted: " << e.what() << "\n";
    }
  }
  co_await p.stop();
}

int main(int argc, char** argv) {
  return run_example(
      argc == 4, "transactional BOOTSTRAP TOPIC TRANSACTIONAL_ID",
      [&](asio::any_io_executor executor) { return run(executor, argv[1], argv[2], argv[3]); });
}
