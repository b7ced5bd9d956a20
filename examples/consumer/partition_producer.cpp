// The producer of the seeds' group-consumer demo (aiokafka's producer.py): writes one MESSAGE to
// PARTITION of TOPIC and waits for it. See group_consumer.cpp.
//
//   partition_producer BOOTSTRAP TOPIC PARTITION MESSAGE
#include <iostream>

#include "examples/run_example.hpp"
#include "kafka/producer/producer.hpp"

namespace asio = boost::asio;
using namespace sluice::kafka;

asio::awaitable<void> run(asio::any_io_executor executor, std::string bootstrap, std::string topic,
                          partition_id partition, std::string message) {
  producer_config config;
  config.bootstrap_servers = parse_bootstrap_servers(bootstrap);
  producer p(executor, config);
  co_await p.start();
  co_await p.send_and_wait(topic, protocol::to_bytes(message), std::nullopt, partition);
  co_await p.stop();
}

int main(int argc, char** argv) {
  return run_example(argc == 5, "partition_producer BOOTSTRAP TOPIC PARTITION MESSAGE",
                     [&](asio::any_io_executor executor) {
                       return run(executor, argv[1], argv[2], partition_id{std::stoi(argv[3])},
                                  argv[4]);
                     });
}
