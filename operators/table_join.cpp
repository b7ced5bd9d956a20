#include "operators/table_join.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "operators/join_value.hpp"
#include "state/json_serde.hpp"

namespace sluice::operators {

namespace json = boost::json;

namespace {

join_side other(join_side side) {
  return side == join_side::left ? join_side::right : join_side::left;
}

// A stored side value: the JSON array [timestamp, value].
state::bytes encode_entry(std::int64_t timestamp, const json::value& value) {
  return state::json_serde::serialize(json::array{json::value(timestamp), value});
}

}  // namespace

table_join::table_join(const step& s, stores stores, std::atomic<std::uint64_t>& dropped,
                       std::atomic<std::uint64_t>& applied)
    : step_(s), stores_(stores), dropped_(dropped), applied_(applied) {
  if (stores_.left == nullptr || stores_.right == nullptr) {
    throw std::invalid_argument(
        fmt::format("step '{}': a join with table '{}' lacks one of its stores", s.name, s.table));
  }
}

state::kv_store& table_join::store_of(join_side side) const {
  return side == join_side::left ? *stores_.left : *stores_.right;
}

std::optional<table_join::entry> table_join::load(join_side side, const state::bytes& key) const {
  auto stored = store_of(side).get(key);
  if (!stored) return std::nullopt;
  auto decoded = state::json_serde::deserialize(*stored);
  auto& pair = decoded.as_array();
  return entry{std::move(pair.at(1)), pair.at(0).to_number<std::int64_t>()};
}

// A left join keeps left values without a right partner, an outer join both sides' (Kafka
// Streams: the sides whose processor is a LeftJoin or OuterJoin rather than an InnerJoin or
// RightJoin).
bool table_join::keeps_without_partner(join_side side) const {
  return step_.join == join_kind::outer ||
         (step_.join == join_kind::left && side == join_side::left);
}

// Kafka Streams: an InnerJoin or RightJoin processor emits only when the other side has a value;
// a LeftJoin or OuterJoin processor also when its own side has or had one.
bool table_join::emits(join_side side, bool had_value, bool has_value, bool other_present) const {
  return other_present || (keeps_without_partner(side) && (has_value || had_value));
}

std::optional<processing_error> table_join::joined_value(const record& in, const json::value* left,
                                                         const json::value* right,
                                                         json::value& out) const {
  out = left != nullptr ? *left : json::value(json::object());
  if (auto why =
          add_joined_member(out, step_.into, right != nullptr ? *right : json::value(nullptr))) {
    return processing_error{error_kind::evaluation,
                            fmt::format("join with table '{}' {}", step_.table, *why), in.origin,
                            step_.name};
  }
  return std::nullopt;
}

std::optional<processing_error> table_join::process(join_side side, const record& in,
                                                    std::vector<record>& out) {
  if (in.key.is_null()) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;  // a table has no row without a key (Kafka Streams drops these too)
  }
  const auto key = state::json_serde::serialize(in.key);
  const bool had_value = store_of(side).get(key).has_value();
  const bool has_value = !in.value.is_null();
  const auto partner = load(other(side), key);

  std::optional<record> result;
  if (emits(side, had_value, has_value, partner.has_value())) {
    const auto timestamp = partner ? std::max(in.timestamp, partner->timestamp) : in.timestamp;
    result = record{in.key, json::value(nullptr), timestamp, in.headers, in.origin};
    // The key has a joined value when both sides are present, or one that keeps values without
    // a partner; otherwise the update deleted the key's result.
    const bool mine_kept = has_value && (partner || keeps_without_partner(side));
    const bool theirs_kept = partner && keeps_without_partner(other(side));
    if (mine_kept || theirs_kept) {
      const json::value* mine = has_value ? &in.value : nullptr;
      const json::value* theirs = partner ? &partner->value : nullptr;
      const auto* left = side == join_side::left ? mine : theirs;
      const auto* right = side == join_side::left ? theirs : mine;
      if (auto e = joined_value(in, left, right, result->value)) return e;
    }
  }

  if (has_value) {
    store_of(side).put(key, encode_entry(in.timestamp, in.value));
  } else if (had_value) {
    store_of(side).remove(key);  // only when there is something to delete: no blind tombstones
  }
  applied_.fetch_add(1, std::memory_order_relaxed);
  if (result) out.push_back(std::move(*result));
  return std::nullopt;
}

}  // namespace sluice::operators
