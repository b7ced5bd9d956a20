#pragma once

// table_row: what one record of a table's topic does to the table's key-value store, in one
// place for the two paths that apply such records: the sub-topology processor (a record read as
// input) and the restore of a table from its own topic (table_restore::source, runtime's
// changelog_reader), so that a restored store holds exactly the bytes processing would have
// written. The key is the JSON key's serialization; a null value deletes the row.
//
// Pure functions.

#include <boost/json/value.hpp>
#include <optional>
#include <string>

#include "operators/record.hpp"
#include "operators/topology.hpp"
#include "state/store_types.hpp"

namespace sluice::operators {

// The change a decoded table record makes; nullopt for a record without a key (a table has no
// row for it: Kafka Streams drops these too).
std::optional<state::change> table_row_change(const boost::json::value& key,
                                              const boost::json::value& value);

// The same from the record's bytes, decoded with the table's formats; nullopt too for a record
// that does not decode (processing reports it as an error, which the pipeline's error policy
// skips or stops on; a restore skips it).
std::optional<state::change> table_row_change(const table_source_spec& table,
                                              const std::optional<std::string>& key,
                                              const std::optional<std::string>& value,
                                              const record_origin& origin);

}  // namespace sluice::operators
