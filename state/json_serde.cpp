#include "state/json_serde.hpp"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace sluice::state {

bytes json_serde::serialize(const boost::json::value& value) {
  return boost::json::serialize(value);
}

boost::json::value json_serde::deserialize(bytes_view data) {
  boost::system::error_code ec;
  auto value = boost::json::parse(boost::json::string_view(data.data(), data.size()), ec);
  if (ec) {
    throw store_error(
        fmt::format("json: {} bytes are not a JSON document: {}", data.size(), ec.message()));
  }
  return value;
}

}  // namespace sluice::state
