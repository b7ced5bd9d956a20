// Hello world for the installed Kafka client: creates a fresh topic (named after the time, so
// every run has its own) with the admin client, produces a few records to it, reads them back
// from the beginning and exits non-zero unless it got exactly what it sent, in order.
//
//   hello BOOTSTRAP
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <iostream>
#include <sluice/kafka/admin/admin_client.hpp>
#include <sluice/kafka/client/cluster.hpp>
#include <sluice/kafka/client/run_to_completion.hpp>
#include <sluice/kafka/consumer/consumer.hpp>
#include <sluice/kafka/producer/producer.hpp>
#include <string>
#include <utility>
#include <vector>

namespace asio = boost::asio;
using namespace sluice::kafka;

constexpr std::size_t record_count = 5;
constexpr partition_id partition{0};
constexpr auto read_timeout = std::chrono::seconds(30);

asio::awaitable<std::vector<std::string>> produce(asio::any_io_executor executor,
                                                  std::string bootstrap, std::string topic) {
  producer_config config;
  config.bootstrap_servers = parse_bootstrap_servers(bootstrap);
  producer p(executor, config);
  co_await p.start();
  std::vector<std::string> sent;
  for (std::size_t i = 0; i < record_count; ++i) {
    sent.push_back("hello " + std::to_string(i));
    co_await p.send_and_wait(topic, protocol::to_bytes(sent.back()), std::nullopt, partition);
  }
  co_await p.stop();
  co_return sent;
}

asio::awaitable<std::vector<std::string>> consume(asio::any_io_executor executor,
                                                  std::string bootstrap, std::string topic) {
  consumer_config config;
  config.bootstrap_servers = parse_bootstrap_servers(bootstrap);
  consumer c(executor, config);
  co_await c.start();
  c.assign({topic_partition{topic, partition.value()}});
  co_await c.seek_to_beginning();
  std::vector<std::string> received;
  while (received.size() < record_count) {
    auto record = co_await c.getone(read_timeout);
    if (!record) break;  // nothing within the timeout: the caller reports what is missing
    received.emplace_back(record->value_string());
  }
  co_await c.stop();
  co_return received;
}

asio::awaitable<void> create_topic(cluster* admin_cluster, std::string topic) {
  admin_client admin(*admin_cluster);
  co_await admin.start();
  // Built before the co_await: GCC 12 rejects a braced list of aggregates inside one.
  std::vector<new_topic> topics(1);
  topics[0].name = topic;
  topics[0].partitions = 1;
  auto created = co_await admin.create_topics(std::move(topics));
  created.at(0).error.throw_if_failed("creating topic " + topic);
}

asio::awaitable<bool> round_trip(asio::any_io_executor executor, cluster* admin_cluster,
                                 std::string bootstrap) {
  const auto topic =
      "sluice-hello-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  co_await create_topic(admin_cluster, topic);
  const auto sent = co_await produce(executor, bootstrap, topic);
  const auto received = co_await consume(executor, bootstrap, topic);
  std::cout << "topic " << topic << ": sent " << sent.size() << ", received " << received.size()
            << "\n";
  for (const auto& value : received) std::cout << "  " << value << "\n";
  co_return received == sent;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: hello BOOTSTRAP\n";
    return 2;
  }
  asio::io_context context;
  client_config admin_config;
  admin_config.bootstrap_servers = parse_bootstrap_servers(argv[1]);
  // The admin client borrows a cluster that outlives it; closed at the end, its connections'
  // read loops finish before the context goes.
  cluster admin_cluster(context.get_executor(), admin_config);
  bool same = false;
  std::string failure;
  try {
    same = run_to_completion(context, round_trip(context.get_executor(), &admin_cluster, argv[1]));
  } catch (const std::exception& e) {
    failure = e.what();
  }
  admin_cluster.close();
  context.run_for(std::chrono::milliseconds(500));
  if (!failure.empty()) {
    std::cerr << "hello: " << failure << "\n";
    return 1;
  }
  if (!same) {
    std::cerr << "hello: the records read back differ from those sent\n";
    return 1;
  }
  std::cout << "hello: all records came back\n";
}
