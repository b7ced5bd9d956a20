// sluice_test_proxy: the test proxy (tcp_proxy.hpp) as a process, for the chaos harness, which
// routes one `sluice run` instance through it with transaction responses held back, so that
// rebalances meet commits in flight on purpose.
//
//   sluice_test_proxy --bootstrap HOST:PORT[,...] [--delay-ms MS] [--api KEY]...
//
// Prints the proxy's bootstrap address as its first line of stdout, then forwards until SIGTERM
// or SIGINT. --api names the API keys whose responses are held (default: EndTxn 26 and
// TxnOffsetCommit 28).

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/protocol/messages/api_key.hpp"
#include "tests/support/tcp_proxy.hpp"

namespace {

volatile std::sig_atomic_t stop_requested = 0;
void request_stop(int) {
  stop_requested = 1;
}

[[noreturn]] void usage(const std::string& problem) {
  std::cerr
      << "sluice_test_proxy: " << problem
      << "\nusage: sluice_test_proxy --bootstrap HOST:PORT[,...] [--delay-ms MS] [--api KEY]...\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string bootstrap;
  long delay_ms = 0;
  std::vector<int> apis;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) usage("option " + std::string(arg) + " needs a value");
    const std::string value = argv[++i];
    try {
      if (arg == "--bootstrap") {
        bootstrap = value;
      } else if (arg == "--delay-ms") {
        delay_ms = std::stol(value);
      } else if (arg == "--api") {
        apis.push_back(std::stoi(value));
      } else {
        usage("unknown option " + std::string(arg));
      }
    } catch (const std::logic_error&) {
      usage("option " + std::string(arg) + ": '" + value + "' is not a number");
    }
  }
  if (bootstrap.empty()) usage("--bootstrap is required");
  if (delay_ms < 0) usage("--delay-ms must not be negative");
  if (apis.empty()) {
    apis = {static_cast<int>(sluice::kafka::protocol::api_key::end_txn),
            static_cast<int>(sluice::kafka::protocol::api_key::txn_offset_commit)};
  }
  std::signal(SIGTERM, request_stop);
  std::signal(SIGINT, request_stop);
  sluice::test::tcp_proxy proxy(bootstrap);
  for (int api : apis)
    proxy.delay_responses(static_cast<std::int16_t>(api), std::chrono::milliseconds(delay_ms));
  std::cout << proxy.bootstrap_servers() << std::endl;
  while (!stop_requested) ::pause();
  std::cerr << "sluice_test_proxy: stopping after " << proxy.connections_accepted()
            << " connections, " << proxy.rewritten_responses() << " rewritten responses\n";
  return 0;
}
