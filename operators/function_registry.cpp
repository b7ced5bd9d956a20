#include "operators/function_registry.hpp"

#include <stdexcept>

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
  aggregates_.insert_or_assign(std::move(name), std::move(aggregate));
}

void function_registry::add_processor(std::string name, processor_factory factory,
                                      std::vector<std::string> stores,
                                      std::chrono::milliseconds punctuate_every) {
  if (!factory) {
    throw std::invalid_argument("processor '" + name + "': empty factory");
  }
  processors_.insert_or_assign(
      std::move(name),
      registered_processor{std::move(factory), std::move(stores), punctuate_every});
}

const registered_processor* function_registry::find_processor(const std::string& name) const {
  auto it = processors_.find(name);
  return it == processors_.end() ? nullptr : &it->second;
}

const step_function* function_registry::find_step(const std::string& name) const {
  auto it = steps_.find(name);
  return it == steps_.end() ? nullptr : &it->second;
}

const user_aggregate* function_registry::find_aggregate(const std::string& name) const {
  auto it = aggregates_.find(name);
  return it == aggregates_.end() ? nullptr : &it->second;
}

}  // namespace sluice::operators
