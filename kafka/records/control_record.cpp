#include "kafka/records/control_record.hpp"

#include "kafka/records/record_batch_builder.hpp"

namespace sluice::kafka::records {
namespace {

constexpr std::size_t control_key_size = 4;
constexpr std::size_t end_txn_marker_value_size = 6;

}  // namespace

protocol::bytes encode_control_record_key(control_record_type type) {
  protocol::bytes key;
  key.reserve(control_key_size);
  protocol::writer out(key);
  out.int16(control_record_key_version);
  out.int16(static_cast<std::int16_t>(type));
  return key;
}

std::optional<control_record_key> parse_control_record_key(
    std::optional<protocol::bytes_view> key) {
  if (!key || key->size() < control_key_size) return std::nullopt;
  protocol::reader in(*key);
  control_record_key parsed;
  parsed.version = in.int16();
  parsed.type = static_cast<control_record_type>(in.int16());
  if (parsed.version < 0) return std::nullopt;
  return parsed;
}

protocol::bytes encode_end_txn_marker_value(std::int32_t coordinator_epoch) {
  protocol::bytes value;
  value.reserve(end_txn_marker_value_size);
  protocol::writer out(value);
  out.int16(end_txn_marker_version);
  out.int32(coordinator_epoch);
  return value;
}

std::optional<end_txn_marker> parse_end_txn_marker(const record_view& record) {
  auto key = parse_control_record_key(record.key);
  if (!key ||
      (key->type != control_record_type::abort && key->type != control_record_type::commit)) {
    return std::nullopt;
  }
  if (!record.value || record.value->size() < end_txn_marker_value_size) return std::nullopt;
  protocol::reader in(*record.value);
  if (in.int16() < 0) return std::nullopt;
  return end_txn_marker{key->type, in.int32()};
}

protocol::bytes build_end_txn_marker_batch(std::int64_t producer_id, std::int16_t producer_epoch,
                                           const end_txn_marker& marker, std::int64_t timestamp,
                                           std::int64_t base_offset) {
  record_batch_builder builder({.base_offset = base_offset,
                                .producer_id = producer_id,
                                .producer_epoch = producer_epoch,
                                .transactional = true,
                                .control = true});
  auto key = encode_control_record_key(marker.type);
  auto value = encode_end_txn_marker_value(marker.coordinator_epoch);
  builder.append(timestamp, protocol::bytes_view(key), protocol::bytes_view(value));
  return builder.build();
}

}  // namespace sluice::kafka::records
