// The blocking facade for code without coroutines (kafka-python's KafkaProducer style), here
// over TLS with SASL/SCRAM when the environment provides the settings.
//
//   blocking_send BOOTSTRAP TOPIC [CA_FILE USER PASSWORD]
#include <iostream>

#include "kafka/producer/blocking_producer.hpp"

using namespace sluice::kafka;

int main(int argc, char** argv) {
  if (argc != 3 && argc != 6) {
    std::cerr << "usage: blocking_send BOOTSTRAP TOPIC [CA_FILE USER PASSWORD]\n";
    return 2;
  }
  try {
    producer_config config;
    config.bootstrap_servers = parse_bootstrap_servers(argv[1]);
    if (argc == 6) {
      config.security.protocol = security_protocol::sasl_ssl;
      config.security.tls.ca_file = argv[3];
      config.security.sasl = {sasl_mechanism::scram_sha_512, argv[4], argv[5], ""};
    }
    blocking_producer p(config);
    std::vector<blocking_producer::future> sent;
    for (int i = 0; i < 10; ++i)
      sent.push_back(p.send(argv[2], protocol::to_bytes("line " + std::to_string(i))));
    for (auto& future : sent) {
      auto where = future.get(std::chrono::seconds(30));
      std::cout << "offset " << where.offset << " on partition " << where.partition << "\n";
    }
    p.close();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
