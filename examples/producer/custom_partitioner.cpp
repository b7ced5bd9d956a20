// A user partitioner: records whose key starts with "vip-" go to partition 0, the rest are
// spread by the Java-compatible murmur2 hash over the other partitions.
//
//   custom_partitioner BOOTSTRAP TOPIC
#include <iostream>

#include "examples/run_example.hpp"
#include "kafka/producer/partitioner.hpp"
#include "kafka/producer/producer.hpp"

namespace asio = boost::asio;
using namespace sluice::kafka;

class vip_partitioner final : public partitioner {
 public:
  std::int32_t partition(const topic_info& topic, std::optional<protocol::bytes_view> key,
                         std::optional<protocol::bytes_view>) override {
    const auto count = static_cast<std::int32_t>(topic.partitions.size());
    if (count == 1 || !key) return 0;
    if (protocol::as_string_view(*key).starts_with("vip-")) return 0;
    return 1 + partition_for_key(*key, count - 1);
  }
};

asio::awaitable<void> run(asio::any_io_executor executor, std::string bootstrap,
                          std::string topic) {
  producer_config config;
  config.bootstrap_servers = parse_bootstrap_servers(bootstrap);
  config.partitioner = std::make_shared<vip_partitioner>();
  producer p(executor, config);
  co_await p.start();
  for (const char* customer : {"vip-ada", "bob", "vip-grace", "carol", "dave"}) {
    auto where =
        co_await p.send_and_wait(topic, protocol::to_bytes("order"), protocol::to_bytes(customer));
    std::cout << customer << " -> partition " << where.partition << "\n";
  }
  co_await p.stop();
}

int main(int argc, char** argv) {
  return run_example(
      argc == 3, "custom_partitioner BOOTSTRAP TOPIC",
      [&](asio::any_io_executor executor) { return run(executor, argv[1], argv[2]); });
}
