#pragma once

// function_registry: user C++ functions a pipeline refers to by name (a `user` step, or an
// aggregation with function `user`). The topology only holds the names, so it stays plain
// comparable data and a YAML file can name functions the embedding program registers.
//
// A step function takes one record and returns zero or more records (so it can filter, map,
// re-key or fan out). If it changes the key, the step must declare `changes_key` so the planner
// repartitions before an aggregation; the processor checks this and reports an error otherwise.
// A user aggregation is a fold over JSON state with the built-in aggregations' interface
// (aggregation.hpp: init, add one input, merge two states when session windows merge, result),
// registered as an `aggregation` or as four functions (user_aggregate). A processor (processor.hpp)
// is a class with state in stores, one instance per task.
//
// Registered once before the pipeline starts, then read only (any thread may read it).

#include <boost/json/value.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "operators/aggregation.hpp"
#include "operators/processor.hpp"
#include "operators/record.hpp"

namespace sluice::operators {

using step_function = std::function<std::vector<record>(const record&)>;

class function_registry {
 public:
  void add_step(std::string name, step_function function);
  // Throws std::invalid_argument when a member function is empty.
  void add_aggregate(std::string name, user_aggregate aggregate);
  // Throws std::invalid_argument for a null aggregation.
  void add_aggregate(std::string name, std::shared_ptr<const aggregation> aggregate);
  // `stores`: what the processor asks its context for (a plain name: a key-value store); a step
  // placing it must declare them. `punctuate_every` > 0: processor::punctuate runs at that
  // wall-clock interval.
  void add_processor(std::string name, processor_factory factory,
                     std::vector<store_spec> stores = {},
                     std::chrono::milliseconds punctuate_every = std::chrono::milliseconds(0));
  // The same with every option, stream-time punctuation included:
  //   registry.add_processor("recent_counts", {.factory = ..., .stores = {window_store_spec(...)},
  //                                            .punctuate_every_stream_time = 1min});
  // Throws std::invalid_argument for an empty factory, a store declared twice or named "time", a
  // store whose retention or window size is wrong (topology_validation.hpp's rules), or a
  // stream-time punctuation without a store (stream time and the schedule are kept with the
  // processor's stores, see processor.hpp).
  void add_processor(std::string name, registered_processor registration);

  const step_function* find_step(const std::string& name) const;
  // Null when no aggregation is registered under `name`; lives as long as the registry.
  std::shared_ptr<const aggregation> find_aggregate(const std::string& name) const;
  const registered_processor* find_processor(const std::string& name) const;

 private:
  std::map<std::string, step_function, std::less<>> steps_;
  std::map<std::string, std::shared_ptr<const aggregation>, std::less<>> aggregates_;
  std::map<std::string, registered_processor, std::less<>> processors_;
};

}  // namespace sluice::operators
