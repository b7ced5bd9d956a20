#pragma once

// step_processor: runs one stateless step (filter, map, select_key, flat_map, set_timestamp, or a
// user C++ function) on a decoded record. Built once per task from a validated step (expressions
// compiled at construction); process() is const and keeps no state between records.
//
// Rules: a filter keeps the record when its predicate is true and drops it when false; anything
// else (null included) is an error, so a typo in a field name fails loudly instead of silently
// dropping every record. set_timestamp needs a non-negative integer (milliseconds). flat_map's
// expression must give an array: one record per element, with the element as the value and,
// when a key expression is given, the key it computes with `value` bound to the element. A user
// function that changes the key of a step not declaring `changes_key` is an error (the planner
// could not have repartitioned for it). A join looks the record's key up in its table's store:
// the value (an object) gets the table's value as member `into` (null for a left join's miss);
// an inner join drops a record whose key the table lacks. A join with a stream (stream_join), or
// of the source table with a table (table_join), runs its two-sided join: process() takes the
// records of the step's own input (the left side), process_other() those of the joined stream or
// table (the right side). A processor step runs the user processor (processor.hpp) registered
// under its function name, with the stores it declares,
// through a processor_runner.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "operators/bound_expression.hpp"
#include "operators/function_registry.hpp"
#include "operators/processor_runner.hpp"
#include "operators/topology.hpp"
#include "operators/two_sided_join.hpp"
#include "state/kv_store.hpp"

namespace sluice::operators {

// What a processor step gets of its task besides its stores: the task's stream clock (null: a
// clock of the step's own, which nothing advances) and the step's "<step>-time" store (null for a
// step without stores). Both must outlive the step_processor.
struct step_task_time {
  stream_clock* clock = nullptr;
  state::kv_store* store = nullptr;
};

class step_processor {
 public:
  // The stores a step uses, by the name the step knows them by (a join: its table's name; a
  // processor: each declared store). They must outlive the step_processor.
  using step_stores = operators::step_stores;

  using task_time = step_task_time;

  // Throws std::invalid_argument for a step that does not pass validate_topology, or a join or
  // processor without its stores (a stream join: without `join`). A join step given `join` runs it
  // (a stream-stream or table-table join).
  step_processor(const step& s, const function_registry& registry, step_stores stores = {},
                 std::unique_ptr<two_sided_join> join = nullptr, task_time time = {});
  ~step_processor();
  step_processor(step_processor&&) noexcept;
  step_processor& operator=(step_processor&&) = delete;

  // Appends what the step produces for `in` to `out` (nothing when filtered out). On error `out`
  // is unchanged.
  std::optional<processing_error> process(const record& in, std::vector<record>& out) const;
  // A two-sided join's record of the joined (right) stream or table; what it emits continues
  // after this step.
  std::optional<processing_error> process_other(const record& in, std::vector<record>& out) const;

  const step& spec() const { return step_; }

  // A processor step's wall-clock punctuation interval (0: none), and the punctuation itself.
  std::chrono::milliseconds punctuate_every() const;
  std::optional<processing_error> punctuate(std::int64_t wall_clock_ms,
                                            std::vector<record>& out) const;
  // A processor step, with each input record of the task: keeps stream time, and after the
  // record runs a due stream-time punctuation (processor_runner). Nothing for other steps.
  void keep_stream_time() const;
  std::optional<processing_error> punctuate_if_due(std::vector<record>& out) const;

 private:
  processing_error error(const record& r, std::string message,
                         error_kind kind = error_kind::evaluation) const;

  step step_;
  std::optional<bound_expression> expression_;
  std::optional<bound_expression> key_expression_;
  std::vector<std::pair<std::string, bound_expression>> fields_;
  std::optional<processing_error> run_processor(const record& in, std::vector<record>& out) const;
  std::optional<processing_error> check_key_kept(const record& in,
                                                 const std::vector<record>& produced,
                                                 std::string_view what) const;

  const step_function* function_ = nullptr;
  step_stores stores_;
  const state::kv_store* table_ = nullptr;     // a join's, from stores_
  std::unique_ptr<two_sided_join> two_sided_;  // a join with a stream, or of two tables
  std::unique_ptr<stream_clock> own_clock_;    // a processor step's when the task gave none
  std::unique_ptr<processor_runner> processor_;
};

}  // namespace sluice::operators
