#pragma once

// aggregation: the interface of one aggregation of a window or a table, a fold over a JSON state
// of its own; every aggregation implements it, the built-in ones (count, sum, avg, min, max,
// first, last, count_distinct: make_builtin_aggregation) and the user's (registered with
// function_registry::add_aggregate, as an `aggregation` or as a user_aggregate of four functions,
// which make_user_aggregation adapts). aggregate_set folds each of a window's aggregations
// through it, keeps the states in one JSON document (aggregate_set.hpp) and turns what they throw
// into the record's processing_error.
//
// Null inputs are skipped before add() unless takes_nulls() (SQL semantics: every built-in but
// count of records; a user aggregation sees them). merge() is called with a non-null other
// state; a null own state takes the other one as it is.
//
// An aggregation of a table's updates (a table source or a table-table join regrouped by a
// `table:` aggregation) takes each input key's previous value back out of its old group:
// subtract() is add()'s inverse, skipped for null inputs like add(). count, sum and avg have
// one; min, max, first, last and count_distinct do not (taking a value back would need every
// value of the group: Kafka Streams asks for a subtractor too), and a user aggregation has one
// when it gives it. Read only once built: any thread.

#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>

#include "operators/topology.hpp"

namespace sluice::operators {

class aggregation {
 public:
  virtual ~aggregation() = default;
  // The state before any input (null: made on the first add()).
  virtual boost::json::value init() const = 0;
  virtual bool takes_nulls() const { return false; }
  // Folds one input with the record's event time into `state` (which may be half updated when it
  // throws: the caller drops it). Throws aggregation_error for an input that does not fit.
  virtual void add(boost::json::value& state, const boost::json::value& input,
                   std::int64_t timestamp) const = 0;
  // Merges another state (session windows merging) into `state`, which is not null.
  virtual void merge(boost::json::value& state, const boost::json::value& other) const = 0;
  // The result: the output member's value.
  virtual boost::json::value result(const boost::json::value& state) const = 0;
  // Whether subtract() is implemented (an aggregation of a table needs it).
  virtual bool subtracts() const { return false; }
  // Takes one input that add() folded in earlier back out of `state` (same rules as add()).
  virtual void subtract(boost::json::value& state, const boost::json::value& input,
                        std::int64_t timestamp) const;
};

// What a built-in aggregation throws for an input (or two states) it cannot fold.
class aggregation_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A user aggregation as four functions over a JSON state: init, add one input, merge two states
// (session windows merge), and result (the output member); and, for an aggregation of a table's
// updates, subtract (add's inverse: the input's previous value leaves its old group).
struct user_aggregate {
  std::function<boost::json::value()> init;
  std::function<boost::json::value(boost::json::value state, const boost::json::value& input)> add;
  std::function<boost::json::value(boost::json::value state, const boost::json::value& other)>
      merge;
  std::function<boost::json::value(const boost::json::value& state)> result;
  std::function<boost::json::value(boost::json::value state, const boost::json::value& input)>
      subtract{};  // empty: the aggregation cannot aggregate a table
};

// `function` is not `user`. `counts_records`: count without an expression (it takes the null
// inputs an aggregation without one gets).
std::unique_ptr<aggregation> make_builtin_aggregation(aggregate_function function,
                                                      bool counts_records);
// init() runs lazily, in the first add() or in result() of a state nothing was added to, so that
// what it throws is a record's error.
std::unique_ptr<aggregation> make_user_aggregation(user_aggregate functions);

}  // namespace sluice::operators
