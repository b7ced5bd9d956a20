#include "operators/stream_join.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "operators/join_value.hpp"
#include "state/json_serde.hpp"

namespace sluice::operators {

namespace json = boost::json;

namespace {

constexpr std::int64_t no_time = -1;  // Kafka Streams' NO_TIMESTAMP: nothing seen yet
constexpr std::int64_t no_min_time = std::numeric_limits<std::int64_t>::max();
constexpr std::string_view stream_time_key = "stream_time";
constexpr std::string_view min_time_key = "min_time";
constexpr std::size_t time_bytes = 8;

// The pending store's key: [timestamp: int64 big-endian][side: right 0, left 1][key], Kafka
// Streams' TimestampedKeyAndJoinSide layout, so pending records are emitted in its order. A
// string key is its UTF-8 bytes (what Kafka's string serializer writes); others their JSON text.
state::bytes pending_key(join_side side, const json::value& key, std::int64_t timestamp) {
  state::bytes out(time_bytes, '\0');
  for (std::size_t i = 0; i < time_bytes; ++i) {
    out[time_bytes - 1 - i] =
        static_cast<char>((static_cast<std::uint64_t>(timestamp) >> (8 * i)) & 0xffU);
  }
  out.push_back(side == join_side::left ? '\1' : '\0');
  if (key.is_string()) {
    out.append(key.get_string().data(), key.get_string().size());
  } else {
    out += state::json_serde::serialize(key);
  }
  return out;
}

std::int64_t pending_time(state::bytes_view key) {
  std::uint64_t time = 0;
  for (std::size_t i = 0; i < time_bytes; ++i)
    time = (time << 8U) | static_cast<unsigned char>(key[i]);
  return static_cast<std::int64_t>(time);
}

join_side pending_side(state::bytes_view key) {
  return key[time_bytes] == '\1' ? join_side::left : join_side::right;
}

// A stored list of values: a JSON array, appended in arrival order.
json::array load_list(const std::optional<state::bytes>& stored) {
  if (!stored) return {};
  return state::json_serde::deserialize(*stored).as_array();
}

std::int64_t load_time(const state::kv_store* store, std::string_view key, std::int64_t otherwise) {
  if (store == nullptr) return otherwise;
  auto stored = store->get(key);
  return stored ? state::json_serde::deserialize(*stored).to_number<std::int64_t>() : otherwise;
}

join_side other(join_side side) {
  return side == join_side::left ? join_side::right : join_side::left;
}

}  // namespace

stream_join::stream_join(const step& s, stores stores, std::atomic<std::uint64_t>& dropped)
    : step_(s),
      stores_(stores),
      within_ms_(s.within.count()),
      grace_ms_(s.grace.count()),
      stream_time_(load_time(stores.time, stream_time_key, no_time)),
      min_time_(load_time(stores.time, min_time_key, no_min_time)),
      saved_stream_time_(stream_time_),
      saved_min_time_(min_time_),
      dropped_(dropped) {
  const bool outer = s.join != join_kind::inner;
  if (stores_.left == nullptr || stores_.right == nullptr ||
      (outer && (stores_.pending == nullptr || stores_.time == nullptr))) {
    throw std::invalid_argument(
        fmt::format("step '{}': a {} join with stream '{}' lacks one of its stores", s.name,
                    to_string(s.join), s.stream));
  }
}

bool stream_join::keeps_unmatched(join_side side) const {
  return step_.join == join_kind::outer ||
         (step_.join == join_kind::left && side == join_side::left);
}

state::window_store& stream_join::store_of(join_side side) const {
  return side == join_side::left ? *stores_.left : *stores_.right;
}

std::optional<processing_error> stream_join::append_joined(const record& in, const json::value& key,
                                                           const json::value* left,
                                                           const json::value* right,
                                                           std::int64_t timestamp,
                                                           std::vector<record>& out) const {
  record joined{key, left != nullptr ? *left : json::value(json::object()), timestamp, in.headers,
                in.origin};
  if (auto why = add_joined_member(joined.value, step_.into,
                                   right != nullptr ? *right : json::value(nullptr))) {
    return processing_error{error_kind::evaluation,
                            fmt::format("join with stream '{}' {}", step_.stream, *why), in.origin,
                            step_.name};
  }
  out.push_back(std::move(joined));
  return std::nullopt;
}

std::optional<processing_error> stream_join::process(join_side side, const record& in,
                                                     std::vector<record>& out) {
  if (in.timestamp < 0) {
    return processing_error{
        error_kind::invalid_timestamp,
        fmt::format("a stream join needs a non-negative timestamp, got {}", in.timestamp),
        in.origin, step_.name};
  }
  const bool tracks_time = stores_.pending != nullptr;
  const auto previous_stream_time = stream_time_;
  const auto previous_min_time = min_time_;
  const auto first_out = out.size();
  auto fail = [&](processing_error e) {
    out.resize(first_out);
    stream_time_ = previous_stream_time;
    min_time_ = previous_min_time;
    return std::optional<processing_error>(std::move(e));
  };
  stream_time_ = std::max(stream_time_, in.timestamp);
  const auto* this_value = &in.value;

  auto joined = [&](const json::value* mine, const json::value* theirs, std::int64_t timestamp) {
    return side == join_side::left ? append_joined(in, in.key, mine, theirs, timestamp, out)
                                   : append_joined(in, in.key, theirs, mine, timestamp, out);
  };

  if (keeps_unmatched(side) && in.key.is_null() && !in.value.is_null()) {
    if (auto e = joined(this_value, nullptr, in.timestamp)) return fail(*e);
  } else if (in.key.is_null() || in.value.is_null()) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
  } else {
    if (tracks_time && in.timestamp == stream_time_) {
      if (auto e = emit_closed(in, out)) return fail(*e);
    }
    const auto key = state::json_serde::serialize(in.key);
    const auto from = std::max<std::int64_t>(0, in.timestamp - within_ms_);
    const auto to = std::max<std::int64_t>(0, in.timestamp + within_ms_);
    std::optional<processing_error> error;
    bool matched = false;
    store_of(other(side))
        .fetch(key, from, to, [&](state::bytes_view, std::int64_t time, state::bytes_view stored) {
          matched = true;
          if (tracks_time) forget_pending(other(side), in.key, time);
          const auto values = state::json_serde::deserialize(stored);
          for (const auto& value : values.as_array()) {
            error = joined(this_value, &value, std::max(in.timestamp, time));
            if (error) return false;
          }
          return true;
        });
    if (error) return fail(*error);
    if (!matched && keeps_unmatched(side)) {
      // Kafka Streams: a record whose window is already past stream time cannot be joined by a
      // later record any more, so its null result goes out at once instead of waiting.
      if (to < stream_time_) {
        if (auto e = joined(this_value, nullptr, in.timestamp)) return fail(*e);
      } else {
        min_time_ = std::min(min_time_, in.timestamp);
        add_pending(side, in.key, in.timestamp, in.value);
      }
    }
    buffer(side, key, in.timestamp, in.value);
  }
  return std::nullopt;
}

// Kafka Streams' emitNonJoinedOuterRecords (with its wall-clock throttle at 0): a scan in
// [timestamp][side][key] order that emits pending records whose window and grace have passed,
// skips those still open, and stops once both sides have an open one; min_time_ ends at the
// timestamp of the last entry looked at.
std::optional<processing_error> stream_join::emit_closed(const record& in,
                                                         std::vector<record>& out) {
  if (min_time_ != no_min_time && min_time_ + within_ms_ + grace_ms_ >= stream_time_)
    return std::nullopt;
  min_time_ = no_min_time;
  bool left_open = false;
  bool right_open = false;
  std::vector<state::bytes> emitted;
  std::optional<processing_error> error;
  stores_.pending->all([&](state::bytes_view key, state::bytes_view stored) {
    const auto time = pending_time(key);
    const auto side = pending_side(key);
    min_time_ = time;
    if (left_open && right_open) return false;
    if (time + within_ms_ + grace_ms_ >= stream_time_) {
      (side == join_side::left ? left_open : right_open) = true;
      return true;
    }
    const auto entry = state::json_serde::deserialize(stored).as_array();  // [key, [values]]
    for (const auto& value : entry.at(1).as_array()) {
      error = side == join_side::left ? append_joined(in, entry.at(0), &value, nullptr, time, out)
                                      : append_joined(in, entry.at(0), nullptr, &value, time, out);
      if (error) return false;
    }
    emitted.emplace_back(key);
    return true;
  });
  if (error) return error;
  for (const auto& key : emitted) stores_.pending->remove(key);
  return std::nullopt;
}

void stream_join::buffer(join_side side, const std::string& key, std::int64_t timestamp,
                         const json::value& value) {
  auto& store = store_of(side);
  auto values = load_list(store.fetch(key, timestamp));
  values.push_back(value);
  store.put(key, timestamp, state::json_serde::serialize(json::value(std::move(values))));
}

void stream_join::add_pending(join_side side, const json::value& key, std::int64_t timestamp,
                              const json::value& value) {
  const auto store_key = pending_key(side, key, timestamp);
  auto stored = stores_.pending->get(store_key);
  json::array entry;
  if (stored) {
    entry = state::json_serde::deserialize(*stored).as_array();
  } else {
    entry.emplace_back(key);
    entry.emplace_back(json::array());
  }
  entry.at(1).as_array().push_back(value);
  stores_.pending->put(store_key, state::json_serde::serialize(json::value(std::move(entry))));
}

// Only when there is something to delete: a blind delete would write a changelog tombstone for
// every pair (Kafka Streams reads first too).
void stream_join::forget_pending(join_side side, const json::value& key, std::int64_t timestamp) {
  const auto store_key = pending_key(side, key, timestamp);
  if (stores_.pending->get(store_key)) stores_.pending->remove(store_key);
}

void stream_join::before_commit() {
  if (stores_.time == nullptr) return;
  if (stream_time_ == saved_stream_time_ && min_time_ == saved_min_time_) return;
  stores_.time->put(stream_time_key, state::json_serde::serialize(json::value(stream_time_)));
  stores_.time->put(min_time_key, state::json_serde::serialize(json::value(min_time_)));
  saved_stream_time_ = stream_time_;
  saved_min_time_ = min_time_;
}

}  // namespace sluice::operators
