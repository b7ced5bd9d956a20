#pragma once

// eval_context: what one record shows to an expression. It only points at data the caller owns
// (the decoded record), so building one per record copies no JSON; the pointed-to data must
// outlive the evaluate() call. No Kafka types: the runtime fills it from its own record type.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string_view>

namespace sluice::operators {

struct eval_context {
  // The decoded key and value; a record whose bytes are not JSON is given as a JSON string.
  // nullptr reads as null (a record without a key, a tombstone).
  const boost::json::value* key = nullptr;
  const boost::json::value* value = nullptr;
  std::int64_t timestamp = 0;  // the record timestamp, milliseconds since the epoch
  std::string_view topic;
  std::int32_t partition = 0;
  std::int64_t offset = -1;
  // Header name -> value (string, or null for a header without a value). nullptr reads as {}.
  const boost::json::object* headers = nullptr;
};

}  // namespace sluice::operators
