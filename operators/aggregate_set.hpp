#pragma once

// aggregate_set: the aggregations of one windowed or table aggregation (count, sum, min, max,
// avg, first, last, count_distinct, user), each an `aggregation` (aggregation.hpp: the built-in
// ones and the user's share that interface), folded over one JSON state per window, session or
// key, which the store keeps as JSON bytes:
//
//   {"t": <largest record timestamp folded in>, "a": [<state of aggregation 0>, ...]}
//
// Processing one record is two phases so a bad record changes nothing: inputs() evaluates every
// aggregation's expression (any failure is returned), then add() folds them into a state. merge()
// combines two states (session windows merging). Null inputs are skipped by every function (SQL
// semantics): count with an expression counts non-null values, without one it counts records.
// min/max compare numbers with numbers and strings with strings; mixing them is an error.
// first/last are by event time (ties: first keeps the earlier arrival, last the later one), so
// out-of-order input gives the same answer. count_distinct keeps the distinct values (exact).

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "operators/aggregation.hpp"
#include "operators/bound_expression.hpp"
#include "operators/function_registry.hpp"
#include "operators/topology.hpp"

namespace sluice::operators {

class aggregate_set {
 public:
  // The aggregations must have passed validate_topology (expressions compile, user functions
  // registered); throws std::invalid_argument otherwise.
  aggregate_set(const std::vector<aggregation_spec>& specs, const function_registry& registry,
                std::string step_name);

  boost::json::value initial_state() const;
  // How many aggregations (members results() writes).
  std::size_t size() const { return entries_.size(); }

  // One input per aggregation (null when it has no expression).
  processing_result<std::vector<boost::json::value>> inputs(const record& r) const;

  // Folds `inputs` (from inputs()) with event time `timestamp` into `state`. Returns an error
  // when an input does not fit the function (sum of a string); `state` may then be half updated,
  // and the caller drops it (every caller decoded it for this record: no copy per record).
  std::optional<processing_error> add(boost::json::value& state,
                                      const std::vector<boost::json::value>& inputs,
                                      std::int64_t timestamp, const record& r) const;

  // add()'s inverse, for an aggregation of a table's updates: takes `inputs` (of the input key's
  // previous value) back out of `state`. Every aggregation must subtract (subtracts()).
  std::optional<processing_error> subtract(boost::json::value& state,
                                           const std::vector<boost::json::value>& inputs,
                                           std::int64_t timestamp, const record& r) const;
  // Whether every aggregation has an inverse (aggregation::subtracts).
  bool subtracts() const;

  processing_result<boost::json::value> merge(const boost::json::value& a,
                                              const boost::json::value& b, const record& r) const;

  // Writes each aggregation's result as a member of `out`.
  std::optional<processing_error> results(const boost::json::value& state, boost::json::object& out,
                                          const record& r) const;

  static std::int64_t max_timestamp(const boost::json::value& state);

  // The record an aggregation emits for `key`: `value` (results() filled it), the state's
  // largest timestamp, the triggering record's origin.
  static record result_record(const boost::json::value& key, boost::json::object value,
                              const boost::json::value& state, const record& trigger);

 private:
  struct entry {
    aggregation_spec spec;
    std::optional<bound_expression> expression;
    std::shared_ptr<const aggregation> function;
  };
  processing_error error(const record& r, const entry& e, std::string message,
                         error_kind kind = error_kind::evaluation) const;
  // What the aggregation threw in `phase` ("", "merge ", "result ") as the record's error: a
  // built-in's aggregation_error is an evaluation error, anything a user's throws a user_function
  // one. Other exceptions of a built-in go through (a corrupt state is not the record's fault).
  processing_error caught(const record& r, const entry& e, std::string_view phase) const;
  // add() and subtract(): `fold` applies one input to one aggregation's state.
  template <class Fold>
  std::optional<processing_error> fold_each(boost::json::value& state,
                                            const std::vector<boost::json::value>& inputs,
                                            std::int64_t timestamp, const record& r,
                                            std::string_view phase, Fold fold) const;

  std::vector<entry> entries_;
  std::string step_;
};

}  // namespace sluice::operators
