// Sends a record over TLS (aiokafka's SSL example: create_ssl_context with a CA file, a signed
// client certificate and its key, then security_protocol="SSL").
//
//   tls_send BOOTSTRAP TOPIC CA_FILE [CERT_FILE KEY_FILE [KEY_PASSWORD]]
//
// CA_FILE is the PEM bundle that signed the brokers' certificates (the `CARoot` of a JKS trust
// store, exported as PEM). CERT_FILE and KEY_FILE (PEM) are for brokers that require client
// certificates (ssl.client.auth=required); KEY_PASSWORD decrypts an encrypted key. The broker's
// certificate must name the host in BOOTSTRAP (Kafka's default
// ssl.endpoint.identification.algorithm=https).
#include <iostream>

#include "examples/run_example.hpp"
#include "kafka/producer/producer.hpp"

namespace asio = boost::asio;
using namespace sluice::kafka;

asio::awaitable<void> run(asio::any_io_executor executor, producer_config config,
                          std::string topic) {
  producer p(executor, std::move(config));
  co_await p.start();
  auto where = co_await p.send_and_wait(topic, protocol::to_bytes("Super Message"), std::nullopt,
                                        partition_id{0});
  std::cout << "delivered to " << where.topic << "-" << where.partition << " at offset "
            << where.offset << "\n";
  co_await p.stop();
}

// The TLS settings from the command line.
producer_config config_from_arguments(int argc, char** argv) {
  producer_config config;
  config.bootstrap_servers = parse_bootstrap_servers(argv[1]);
  config.security.protocol = security_protocol::ssl;
  config.security.tls.ca_file = argv[3];
  if (argc >= 6) {
    config.security.tls.cert_file = argv[4];
    config.security.tls.key_file = argv[5];
  }
  if (argc == 7) config.security.tls.key_password = argv[6];
  return config;
}

int main(int argc, char** argv) {
  return run_example(argc == 4 || argc == 6 || argc == 7,
                     "tls_send BOOTSTRAP TOPIC CA_FILE [CERT_FILE KEY_FILE [KEY_PASSWORD]]",
                     [&](asio::any_io_executor executor) {
                       return run(executor, config_from_arguments(argc, argv), argv[2]);
                     });
}
