#pragma once

// Control records (KIP-98): the single record of a control batch. Its key is
// [version int16][type int16] (ControlRecordTypeSchema.json); for transaction markers the value
// is [version int16][coordinatorEpoch int32] (EndTxnMarker.json). A read_committed consumer uses
// them to drop records of aborted transactions and to skip the markers themselves.

#include <cstdint>
#include <optional>

#include "kafka/protocol/wire.hpp"
#include "kafka/records/record.hpp"
#include "kafka/records/record_batch.hpp"

namespace sluice::kafka::records {

// Type ids from Kafka's ControlRecordType. Types above commit belong to KRaft's metadata log;
// a client sees them only when reading __cluster_metadata, and skips them like any marker.
enum class control_record_type : std::int16_t {
  abort = 0,
  commit = 1,
  leader_change = 2,
  snapshot_header = 3,
  snapshot_footer = 4,
  kraft_version = 5,
  kraft_voters = 6,
};

inline constexpr std::int16_t control_record_key_version = 0;
inline constexpr std::int16_t end_txn_marker_version = 0;

struct control_record_key {
  std::int16_t version = control_record_key_version;
  control_record_type type = control_record_type::abort;
  bool operator==(const control_record_key&) const = default;
};

struct end_txn_marker {
  control_record_type type = control_record_type::abort;  // commit or abort
  std::int32_t coordinator_epoch = 0;
  bool operator==(const end_txn_marker&) const = default;
};

protocol::bytes encode_control_record_key(control_record_type type);
// nullopt for a null key, a key shorter than 4 bytes or a negative version. Newer versions
// are accepted: the type stays in the same place (as Kafka's ControlRecordType.parse does).
std::optional<control_record_key> parse_control_record_key(std::optional<protocol::bytes_view> key);

protocol::bytes encode_end_txn_marker_value(std::int32_t coordinator_epoch);

// The commit or abort marker a control batch carries; nullopt if the record is not one (a
// KRaft control type) or is malformed.
std::optional<end_txn_marker> parse_end_txn_marker(const record_view& record);

// The batch a transaction coordinator writes to end a transaction (WriteTxnMarkers): control +
// transactional attributes, one record. Mostly for tests of read_committed consumers.
protocol::bytes build_end_txn_marker_batch(std::int64_t producer_id, std::int16_t producer_epoch,
                                           const end_txn_marker& marker, std::int64_t timestamp,
                                           std::int64_t base_offset = 0);

}  // namespace sluice::kafka::records
