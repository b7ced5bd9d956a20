// Sends JSON values with integer keys through serializing_producer (aiokafka's
// value_serializer=lambda v: json.dumps(v).encode() and key_serializer): a Java consumer reads
// them with LongDeserializer and a JSON deserializer.
//
//   typed_send BOOTSTRAP TOPIC
#include <boost/json/value.hpp>
#include <iostream>

#include "examples/run_example.hpp"
#include "kafka/producer/serializing_producer.hpp"

namespace asio = boost::asio;
using namespace sluice::kafka;

asio::awaitable<void> run(asio::any_io_executor executor, std::string bootstrap,
                          std::string topic) {
  producer_config config;
  config.bootstrap_servers = parse_bootstrap_servers(bootstrap);
  serializing_producer<std::int64_t, boost::json::value> p(executor, config);
  co_await p.start();
  for (std::int64_t id = 1; id <= 3; ++id) {
    boost::json::value order = {{"id", id}, {"item", "tea"}, {"quantity", id * 2}};
    auto where = co_await p.send_and_wait(topic, std::move(order), id);
    std::cout << "order " << id << " at " << where.topic << "-" << where.partition << "@"
              << where.offset << "\n";
  }
  co_await p.stop();
}

int main(int argc, char** argv) {
  return run_example(argc == 3, "typed_send BOOTSTRAP TOPIC", [&](asio::any_io_executor executor) {
    return run(executor, argv[1], argv[2]);
  });
}
