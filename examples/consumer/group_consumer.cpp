// The seeds' group-consumer demo (aiokafka's consumer.py): reads COUNT messages as a member of
// GROUP and prints each as aiokafka's example does. Run two with the same group and one with
// another group against a topic with two partitions, then write with partition_producer:
//
//   sluice topics create --topic some-topic --partitions 2 --bootstrap-server B
//   group_consumer B some-topic TEST_GROUP 2      # terminal 1
//   group_consumer B some-topic TEST_GROUP 2      # terminal 2
//   group_consumer B some-topic OTHER_GROUP 4     # terminal 3
//   partition_producer B some-topic 0 'message #1'  ... 0 'message #2', 1 'message #3', 1 'message
//   #4'
//
// Members of TEST_GROUP share the two partitions (one each); OTHER_GROUP's member gets both and
// sees all four messages.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "examples/run_example.hpp"
#include "kafka/consumer/consumer.hpp"

namespace asio = boost::asio;
using namespace sluice::kafka;

// The value as Python prints bytes: b'...', with \xNN for what is not printable ASCII.
std::string python_bytes(std::string_view value) {
  std::string out = "b'";
  for (unsigned char c : value) {
    if (c == '\\' || c == '\'') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

asio::awaitable<void> run(asio::any_io_executor executor, std::string bootstrap, std::string topic,
                          std::string group, int count) {
  consumer_config config;
  config.bootstrap_servers = parse_bootstrap_servers(bootstrap);
  config.group_id = group;
  config.offset_reset = auto_offset_reset::earliest;
  consumer c(executor, config);
  co_await c.start();
  std::vector<std::string> topics(1, topic);
  c.subscribe(topics);
  for (int i = 0; i < count; ++i) {
    auto message = co_await c.getone();
    if (!message) break;
    std::cout << "Message from partition [" << message->partition
              << "]: " << python_bytes(message->value_string()) << std::endl;
  }
  co_await c.stop();
}

int main(int argc, char** argv) {
  // The client's log lines (group joins) go to stderr; stdout is the demo's output.
  spdlog::set_default_logger(spdlog::stderr_color_mt("stderr"));
  return run_example(argc == 5, "group_consumer BOOTSTRAP TOPIC GROUP_ID COUNT",
                     [&](asio::any_io_executor executor) {
                       return run(executor, argv[1], argv[2], argv[3], std::stoi(argv[4]));
                     });
}
