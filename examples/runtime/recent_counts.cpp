// Records per key over the last five minutes of event time, reported once a minute of stream
// time, by a user C++ processor with a window store (examples/runtime/recent_counts.hpp says how):
// each report goes to OUTPUT as {"count": n, "from": ..., "to": ...} keyed by the key. Under
// exactly-once, with the window store and the punctuation schedule restored from their changelogs,
// the reports are the same whether the process ran throughout, was killed and restarted, or
// shared the partitions with others.
//
//   recent_counts BOOTSTRAP TOPIC OUTPUT [APP]
//
// APP (default recent-counts) is the consumer group and names the changelog topics
// APP-count-recent-changelog and APP-count-time-changelog; the state lives in
// /tmp/sluice-state/APP. Runs until SIGINT or SIGTERM.
#include "examples/runtime/recent_counts.hpp"

#include <iostream>

#include "examples/runtime/run_until_signal.hpp"
#include "pipelines/spec/pipeline_builder.hpp"

namespace ops = sluice::operators;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: recent_counts BOOTSTRAP TOPIC OUTPUT [APP]\n";
    return 2;
  }
  const std::string app = argc > 4 ? argv[4] : "recent-counts";
  constexpr std::int64_t buckets = 5;
  const auto registration = recent_counts::registration(1min, buckets);
  ops::function_registry registry;
  registry.add_processor("recent_counts", registration);
  try {
    // The step declares the store as registered (validation checks it does).
    auto topology = sluice::pipelines::pipeline_builder(app)
                        .delivery(ops::delivery_guarantee::exactly_once)
                        .source({argv[2]}, ops::data_format::string, ops::data_format::bytes)
                        .process("recent_counts", registration.stores, false, "count")
                        .to(argv[3])
                        .build(registry);
    examples::run_until_signal(argv[1], std::move(topology), registry);
  } catch (const std::exception& e) {
    std::cerr << "recent_counts: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
