#pragma once

// json_serde: JSON documents as values or keys, serialized as compact JSON text (what Kafka's
// JSON serializers write). Deserialization throws store_error with Boost.JSON's reason and the
// byte count.

#include <boost/json/value.hpp>

#include "state/store_types.hpp"

namespace sluice::state {

struct json_serde {
  using value_type = boost::json::value;
  static bytes serialize(const boost::json::value& value);
  static boost::json::value deserialize(bytes_view data);
};

}  // namespace sluice::state
