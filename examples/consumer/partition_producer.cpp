// The producer of the seeds' group-consumer demo (aiokafka's producer.py): writes one MESSAGE to
// PARTITION of TOPIC and waits for it. See group_consumer.cpp.
//
//   partition_producer BOOTSTRAP TOPIC PARTITION MESSAGE
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <iostream>

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
  if (argc != 5) {
    std::cerr << "usage: partition_producer BOOTSTRAP TOPIC PARTITION MESSAGE\n";
    return 2;
  }
  try {
    asio::io_context context;
    auto done = asio::co_spawn(
        context,
        run(context.get_executor(), argv[1], argv[2], partition_id{std::stoi(argv[3])}, argv[4]),
        asio::use_future);
    while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) context.run_one();
    done.get();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
