// Sends a few records and waits for each delivery (aiokafka's "send_and_wait" example).
//
//   simple_send BOOTSTRAP TOPIC
#include <iostream>

#include "examples/run_example.hpp"
#include "kafka/producer/producer.hpp"

namespace asio = boost::asio;
using namespace sluice::kafka;

asio::awaitable<void> run(asio::any_io_executor executor, std::string bootstrap,
                          std::string topic) {
  producer_config config;
  config.bootstrap_servers = parse_bootstrap_servers(bootstrap);
  producer p(executor, config);
  co_await p.start();
  for (int i = 0; i < 10; ++i) {
    auto key = protocol::to_bytes("key-" + std::to_string(i));
    auto value = protocol::to_bytes("message " + std::to_string(i));
    auto where = co_await p.send_and_wait(topic, std::move(value), std::move(key));
    std::cout << "delivered to " << where.topic << "-" << where.partition << " at offset "
              << where.offset << "\n";
  }
  co_await p.stop();
}

int main(int argc, char** argv) {
  return run_example(argc == 3, "simple_send BOOTSTRAP TOPIC", [&](asio::any_io_executor executor) {
    return run(executor, argv[1], argv[2]);
  });
}
