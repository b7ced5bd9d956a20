#include "operators/function_registry.hpp"

#include <set>
#include <stdexcept>

#include "operators/topology_validation.hpp"

namespace sluice::operators {

void function_registry::add_step(std::string name, step_function function) {
  if (!function) {
    throw std::invalid_argument("user step '" + name + "': empty function");
  }
  steps_.insert_or_assign(std::move(name), std::move(function));
}

void function_registry::add_aggregate(std::string name, user_aggregate aggregate) {
  if (!aggregate.init || !aggregate.add || !aggregate.merge || !aggregate.result) {
    throw std::invalid_argument("user aggregate '" + name +
                                "': init, add, merge and result are all required");
  }
  add_aggregate(std::move(name), make_user_aggregation(std::move(aggregate)));
}

void function_registry::add_aggregate(std::string name,
                                      std::shared_ptr<const aggregation> aggregate) {
  if (!aggregate) {
    throw std::invalid_argument("user aggregate '" + name + "': no aggregation");
  }
  aggregates_.insert_or_assign(std::move(name), std::move(aggregate));
}

void function_registry::add_processor(std::string name, processor_factory factory,
                                      std::vector<store_spec> stores,
                                      std::chrono::milliseconds punctuate_every) {
  add_processor(std::move(name),
                registered_processor{std::move(factory), std::move(stores), punctuate_every, {}});
}

void function_registry::add_processor(std::string name, registered_processor registration) {
  const auto what = "processor '" + name + "'";
  if (!registration.factory) {
    throw std::invalid_argument(what + ": empty factory");
  }
  std::set<std::string> names;
  for (const auto& store : registration.stores) {
    if (store.name == reserved_time_store) {
      throw std::invalid_argument(what + ": store name '" + store.name +
                                  "' is reserved (a step keeps its stream time there)");
    }
    if (!names.insert(store.name).second) {
      throw std::invalid_argument(what + ": store '" + store.name + "' is declared twice");
    }
    if (const auto problems = store_spec_problems(store); !problems.empty()) {
      throw std::invalid_argument(what + ": store '" + store.name + "': " + problems.front().field +
                                  " " + problems.front().message);
    }
  }
  if (registration.punctuate_every.count() < 0 ||
      registration.punctuate_every_stream_time.count() < 0) {
    throw std::invalid_argument(what + ": a punctuation interval must not be negative");
  }
  if (registration.punctuate_every_stream_time.count() > 0 && registration.stores.empty()) {
    throw std::invalid_argument(
        what +
        ": a stream-time punctuation needs a store (stream time and the punctuation "
        "schedule are kept with the processor's stores, so that a restart goes on from "
        "them)");
  }
  processors_.insert_or_assign(std::move(name), std::move(registration));
}

const registered_processor* function_registry::find_processor(const std::string& name) const {
  auto it = processors_.find(name);
  return it == processors_.end() ? nullptr : &it->second;
}

const step_function* function_registry::find_step(const std::string& name) const {
  auto it = steps_.find(name);
  return it == steps_.end() ? nullptr : &it->second;
}

std::shared_ptr<const aggregation> function_registry::find_aggregate(
    const std::string& name) const {
  auto it = aggregates_.find(name);
  return it == aggregates_.end() ? nullptr : it->second;
}

}  // namespace sluice::operators
