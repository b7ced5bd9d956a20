#pragma once

// step_processor: the node (processor.hpp) of one stateless step (filter, map, select_key,
// flat_map, set_timestamp, or a user C++ function) or of a join with a table: process() forwards
// what the step produces for a record to the node's children at once (nothing when filtered out).
// Built once per task from a validated step (expressions compiled at construction); keeps no
// state between records.
//
// Rules: a filter keeps the record when its predicate is true and drops it when false (counted in
// `filtered`); anything else (null included) is an error, so a typo in a field name fails loudly
// instead of silently dropping every record. set_timestamp needs a non-negative integer
// (milliseconds). flat_map's expression must give an array: one record per element, with the
// element as the value and, when a key expression is given, the key it computes with `value`
// bound to the element. A user function that changes the key of a step not declaring
// `changes_key` is an error (the planner could not have repartitioned for it). A join looks the
// record's key up in its table's store: the value (an object) gets the table's value as member
// `into` (null for a left join's miss); an inner join drops a record whose key the table lacks.
//
// An error is a processing_exception naming the step and the record (processing_error.hpp). A
// flat_map or user function checks every record it makes before it forwards the first. The other
// steps' nodes: a join with a stream or of two tables (two_sided_join.hpp, join_side_node in
// builtin_nodes.hpp), a processor step (processor_runner.hpp).

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "operators/bound_expression.hpp"
#include "operators/function_registry.hpp"
#include "operators/processor.hpp"
#include "operators/processor_node.hpp"
#include "operators/topology.hpp"
#include "state/kv_store.hpp"

namespace sluice::operators {

class step_processor final : public processor {
 public:
  // Throws std::invalid_argument for a step that does not pass validate_topology, a step of
  // another kind (a processor step, a join with a stream or a table joined to the source table),
  // or a join without its table's store in `stores` (by the table's name). `filtered` (nullable,
  // must outlive the node) counts the records a filter drops.
  step_processor(const step& s, const function_registry& registry, const step_stores& stores = {},
                 std::atomic<std::uint64_t>* filtered = nullptr);

  void process(const record& in, processor_context& context) override;

  const step& spec() const { return step_; }

 private:
  [[noreturn]] void fail(const record& r, std::string message,
                         error_kind kind = error_kind::evaluation) const;
  void check_key_kept(const record& in, const std::vector<record>& produced) const;
  void run_user_function(const record& in, processor_context& context) const;
  void run_flat_map(const record& in, processor_context& context) const;
  void run_join(const record& in, processor_context& context) const;

  step step_;
  std::optional<bound_expression> expression_;
  std::optional<bound_expression> key_expression_;
  std::vector<std::pair<std::string, bound_expression>> fields_;
  const step_function* function_ = nullptr;
  const state::kv_store* table_ = nullptr;  // a join's
  std::atomic<std::uint64_t>* filtered_;
};

}  // namespace sluice::operators
