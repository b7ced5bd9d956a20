#pragma once

// join_value: the value every join emits, the stream-table join's and the stream-stream join's
// alike: the (left) value, an object, with the member `into` set to the other side's value
// (null when there is none).

#include <boost/json/value.hpp>
#include <optional>
#include <string>

namespace sluice::operators {

// Sets value[into] = other. When `value` is not an object returns why ("adds member 'x' to the
// value, which must be an object, got 42"), for the caller to prefix with the join it runs.
std::optional<std::string> add_joined_member(boost::json::value& value, const std::string& into,
                                             boost::json::value other);

// A JSON value for an error message, cut at 80 characters.
std::string brief(const boost::json::value& v);

}  // namespace sluice::operators
