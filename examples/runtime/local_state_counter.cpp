// The seeds' local-state consumer (aiokafka's local_state_consumer.py, also
// examples/consumer/local_state_consumer.cpp) as a Sluice application: it counts the records per
// key, but the counts live in a RocksDB store with a changelog topic instead of a JSON file per
// partition, and the runtime does what the original's rebalance listener did by hand: a partition
// that moves to another process takes its counts along (restored from the changelog), a kill -9
// loses nothing, and under exactly-once each count update is written once. Every record emits its
// key's new count to OUTPUT as {"key": ..., "count": n}.
//
//   local_state_counter BOOTSTRAP TOPIC OUTPUT [APP]
//
// APP (default local-state-counter) is the consumer group and names the changelog topics
// APP-count-counts-changelog (and APP-count-time-changelog, the step's stream time); the state
// lives in /tmp/sluice-state/APP. Runs until SIGINT or SIGTERM. More processes with the same APP
// share TOPIC's partitions.
#include <iostream>

#include "examples/runtime/run_until_signal.hpp"
#include "pipelines/spec/pipeline_builder.hpp"
#include "state/json_serde.hpp"
#include "state/typed_stores.hpp"

namespace ops = sluice::operators;

// The count per key, in the step's store "counts".
class count_keys final : public ops::processor {
 public:
  void process(const ops::record& in, ops::processor_context& context) override {
    sluice::state::typed_kv_store<sluice::state::json_serde, sluice::state::json_serde> counts(
        context.store("counts"));
    const auto count = counts.get(in.key).value_or(0).to_number<std::int64_t>() + 1;
    counts.put(in.key, count);
    ops::record out = in;
    out.value = boost::json::object{{"key", in.key}, {"count", count}};
    context.forward(std::move(out));
  }
};

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: local_state_counter BOOTSTRAP TOPIC OUTPUT [APP]\n";
    return 2;
  }
  const std::string app = argc > 4 ? argv[4] : "local-state-counter";
  ops::function_registry registry;
  registry.add_processor("count_keys", [] { return std::make_unique<count_keys>(); }, {"counts"});
  try {
    auto topology = sluice::pipelines::pipeline_builder(app)
                        .delivery(ops::delivery_guarantee::exactly_once)
                        .source({argv[2]}, ops::data_format::string, ops::data_format::bytes)
                        .process("count_keys", {"counts"}, false, "count")
                        .to(argv[3])
                        .build(registry);
    examples::run_until_signal(argv[1], std::move(topology), registry);
  } catch (const std::exception& e) {
    std::cerr << "local_state_counter: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
