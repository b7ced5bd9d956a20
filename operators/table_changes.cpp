#include "operators/table_changes.hpp"

#include <algorithm>

#include "state/json_serde.hpp"

namespace sluice::operators {

namespace {

bool is_subtract_header(const header& h) {
  return h.key == subtract_header;
}

}  // namespace

bool is_subtract(const record& r) {
  return std::any_of(r.headers.begin(), r.headers.end(), is_subtract_header);
}

void table_changes_node::process(const record& in, processor_context& context) {
  if (in.key.is_null()) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const auto key = state::json_serde::serialize(in.key);
  const auto previous = previous_.get(key);
  if (in.value.is_null()) {
    if (previous) previous_.remove(key);  // no blind tombstones in the changelog
  } else {
    previous_.put(key, state::json_serde::serialize(in.value));
  }
  // An input header of the same name is not ours: the add record goes without it.
  record change{in.key, boost::json::value(nullptr), in.timestamp, in.headers, in.origin};
  std::erase_if(change.headers, is_subtract_header);
  if (previous) {
    record subtract = change;
    subtract.value = state::json_serde::deserialize(*previous);
    subtract.headers.push_back(header{std::string(subtract_header), std::string("1")});
    context.forward(std::move(subtract));
  }
  if (!in.value.is_null()) {
    change.value = in.value;
    context.forward(std::move(change));
  }
}

}  // namespace sluice::operators
