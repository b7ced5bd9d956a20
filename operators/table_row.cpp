#include "operators/table_row.hpp"

#include "operators/data_format.hpp"
#include "state/json_serde.hpp"

namespace sluice::operators {

std::optional<state::change> table_row_change(const boost::json::value& key,
                                              const boost::json::value& value) {
  if (key.is_null()) return std::nullopt;
  state::change change{state::json_serde::serialize(key), std::nullopt};
  if (!value.is_null()) change.value = state::json_serde::serialize(value);
  return change;
}

std::optional<state::change> table_row_change(const table_source_spec& table,
                                              const std::optional<std::string>& key,
                                              const std::optional<std::string>& value,
                                              const record_origin& origin) {
  auto decoded_key = decode(table.key_format, key, record_part::key, origin);
  if (!decoded_key) return std::nullopt;
  auto decoded_value = decode(table.value_format, value, record_part::value, origin);
  if (!decoded_value) return std::nullopt;
  return table_row_change(*decoded_key, *decoded_value);
}

}  // namespace sluice::operators
