#include "operators/windowed_aggregator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <stdexcept>
#include <tuple>

#include "state/json_serde.hpp"
#include "state/key_layout.hpp"
#include "state/serdes.hpp"

namespace sluice::operators {

namespace json = boost::json;

namespace {

constexpr std::string_view stream_time_key = "stream_time";
constexpr std::string_view emitted_until_key = "emitted_until";

const store_plan& find_store(const std::vector<store_plan>& stores, const std::string& name) {
  for (const auto& s : stores) {
    if (s.name == name) {
      return s;
    }
  }
  throw std::invalid_argument(fmt::format("windowed aggregation: no store '{}' in the plan", name));
}

std::int64_t read_meta(const state::kv_store& meta, std::string_view key, std::int64_t fallback) {
  auto found = meta.get(key);
  return found ? state::int64_serde::deserialize(*found) : fallback;
}

// The close index (on_close session windows only), in the meta store next to the two counters:
// one empty entry per open session, keyed [0x01][end BE][start BE][group key], so the sessions
// that close when stream time passes `end + gap + grace` are one range read away. The session
// store alone could only find them by scanning every session of every key.
constexpr char close_index_tag = '\x01';

std::string close_index_key(std::int64_t end, std::int64_t start, state::bytes_view key) {
  std::string out(1, close_index_tag);
  state::key_layout::append_be64(out, end);
  state::key_layout::append_be64(out, start);
  out.append(key);
  return out;
}

struct close_index_entry {
  std::int64_t end = 0;
  std::int64_t start = 0;
  state::bytes_view key;
};

close_index_entry parse_close_index_key(state::bytes_view k) {
  constexpr std::size_t header = 1 + 2 * state::key_layout::time_size;
  if (k.size() < header || k[0] != close_index_tag) {
    throw state::store_error(fmt::format("malformed session close index key ({} bytes)", k.size()));
  }
  return close_index_entry{state::key_layout::read_be64(k, 1),
                           state::key_layout::read_be64(k, 1 + state::key_layout::time_size),
                           k.substr(header)};
}

}  // namespace

windowed_aggregator::windowed_aggregator(const windowed_aggregation_spec& spec,
                                         const std::vector<store_plan>& stores,
                                         store_provider& provider,
                                         const function_registry& registry,
                                         operator_metrics& metrics)
    : spec_(spec), aggregates_(spec.aggregations, registry, spec.name), metrics_(metrics) {
  const auto& w = spec.window;
  if (w.kind == window_kind::session) {
    if (w.gap.count() <= 0) {
      throw std::invalid_argument("session window: gap must be positive");
    }
    sessions_ = &provider.session_store(find_store(stores, spec.store_name()));
  } else {
    if (w.size.count() <= 0) {
      throw std::invalid_argument("window: size must be positive");
    }
    if (w.kind == window_kind::hopping && (w.advance.count() <= 0 || w.advance > w.size)) {
      throw std::invalid_argument("hopping window: advance must be positive and at most size");
    }
    windows_ = &provider.window_store(find_store(stores, spec.store_name()));
  }
  if (w.grace.count() < 0) {
    throw std::invalid_argument("window: grace must not be negative");
  }
  meta_ = &provider.kv_store(find_store(stores, spec.meta_store_name()));
  if (!spec.time_expression.empty()) {
    auto compiled = bound_expression::compile(spec.time_expression);
    if (!compiled) {
      throw std::invalid_argument("window time: " + compiled.error().message);
    }
    time_expression_ = std::move(compiled).value();
  }
  stream_time_ = read_meta(*meta_, stream_time_key, -1);
  saved_stream_time_ = stream_time_;
  emitted_until_ = read_meta(*meta_, emitted_until_key, -1);
}

processing_result<std::int64_t> windowed_aggregator::event_time(const record& in) const {
  if (!time_expression_) {
    if (in.timestamp < 0) {
      return processing_error{error_kind::invalid_timestamp,
                              fmt::format("record has no usable timestamp ({})", in.timestamp),
                              in.origin, spec_.name};
    }
    return in.timestamp;
  }
  auto v = time_expression_->evaluate(in, spec_.name);
  if (!v) {
    return v.error();
  }
  if (const auto millis = epoch_millis(*v)) return *millis;
  return processing_error{error_kind::invalid_timestamp,
                          fmt::format("window time '{}' must give milliseconds since the epoch "
                                      "(a non-negative number), got {}",
                                      spec_.time_expression, json::serialize(*v)),
                          in.origin, spec_.name};
}

// Stream time moves with most records, so it reaches the meta store only before a commit
// (before_commit); the emitted boundary moves only when windows close (on_close) and is written
// when it moves. Each write costs a buffer entry and a capture entry.
void windowed_aggregator::advance_to(std::int64_t stream_time, std::int64_t emitted_until) {
  stream_time_ = stream_time;
  if (emitted_until != emitted_until_) {
    emitted_until_ = emitted_until;
    meta_->put(emitted_until_key, state::int64_serde::serialize(emitted_until_));
  }
}

void windowed_aggregator::before_commit() {
  if (stream_time_ == saved_stream_time_) return;
  meta_->put(stream_time_key, state::int64_serde::serialize(stream_time_));
  saved_stream_time_ = stream_time_;
}

std::optional<processing_error> windowed_aggregator::make_result(
    const json::value& key, std::int64_t start, std::int64_t end, const json::value& state,
    const record& trigger, std::vector<record>& out) {
  json::object value;
  value.reserve(2 + aggregates_.size());  // no rehash while the members go in
  value["window_start"] = start;
  value["window_end"] = end;
  if (auto e = aggregates_.results(state, value, trigger)) {
    return e;
  }
  out.push_back(aggregate_set::result_record(key, std::move(value), state, trigger));
  operator_metrics::increment(metrics_.windows_emitted);
  return std::nullopt;
}

std::optional<processing_error> windowed_aggregator::process(const record& in,
                                                             std::vector<record>& out,
                                                             std::vector<record>& late) {
  auto t = event_time(in);
  if (!t) {
    return t.error();
  }
  auto inputs = aggregates_.inputs(in);
  if (!inputs) {
    return inputs.error();
  }

  // Results go straight to `out`, and are taken back if the record fails.
  const std::size_t kept = out.size();
  bool is_late = false;
  auto failed = sessions_ != nullptr ? process_session(in, *t, *inputs, out, is_late)
                                     : process_windows(in, *t, *inputs, out, is_late);
  if (failed) {
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(kept), out.end());
    return failed;
  }
  if (is_late) {
    if (spec_.late == late_policy::side_topic) {
      late.push_back(in);
      operator_metrics::increment(metrics_.late_to_side);
    } else {
      operator_metrics::increment(metrics_.late_dropped);
    }
  }
  return std::nullopt;
}

std::optional<processing_error> windowed_aggregator::process_windows(
    const record& in, std::int64_t t, const std::vector<json::value>& inputs,
    std::vector<record>& out, bool& late) {
  const auto& w = spec_.window;
  const std::int64_t size = w.size.count();
  const std::int64_t advance = w.kind == window_kind::hopping ? w.advance.count() : size;
  const std::int64_t grace = w.grace.count();
  const std::int64_t new_stream_time = std::max(stream_time_, t);
  const std::string key_bytes = state::json_serde::serialize(in.key);

  // Phase 1: compute every open window's new state; nothing is written until all succeed.
  auto& updates = updates_;
  updates.clear();
  for (std::int64_t start = t - (t % advance); start >= 0 && start > t - size; start -= advance) {
    if (start + size + grace <= new_stream_time) {
      continue;  // closed: too late for this window
    }
    json::value agg = read_window_state(key_bytes, start);
    if (auto e = aggregates_.add(agg, inputs, t, in)) {
      return e;
    }
    updates.push_back(pending_window{start, std::move(agg)});
  }
  // Results of every_update are built before writing too: result() may fail (user functions).
  // every_update and on_close exclude each other, so these are the only results of the record.
  if (spec_.emit == emit_mode::every_update) {
    std::reverse(updates.begin(), updates.end());  // ascending window start
    for (const auto& u : updates) {
      if (auto e = make_result(in.key, u.start, u.start + size, u.state, in, out)) {
        return e;
      }
    }
  }

  // Windows that closed at the new stream time are read (and their results built) before the
  // record's writes; see the header.
  std::int64_t emitted_until = emitted_until_;
  if (spec_.emit == emit_mode::on_close) {
    if (auto e = emit_closed_windows(in, new_stream_time, out, emitted_until)) {
      return e;
    }
  }

  // Phase 2: nothing below fails.
  advance_to(new_stream_time, emitted_until);
  late = updates.empty();
  for (auto& u : updates) {
    // A window the store dropped as expired is not remembered either: the cache holds only
    // what the store holds.
    if (windows_->put(key_bytes, u.start, json::serialize(u.state))) {
      states_.remember(key_bytes, u.start, std::move(u.state));
    }
  }
  return std::nullopt;
}

json::value windowed_aggregator::read_window_state(const std::string& key_bytes,
                                                   std::int64_t start) {
  if (auto cached = states_.take(key_bytes, start)) return std::move(*cached);
  auto stored = windows_->fetch(key_bytes, start);
  return stored ? state::json_serde::deserialize(*stored) : aggregates_.initial_state();
}

std::optional<processing_error> windowed_aggregator::emit_closed_windows(
    const record& trigger, std::int64_t stream_time, std::vector<record>& out,
    std::int64_t& emitted_until) {
  const auto& w = spec_.window;
  const std::int64_t upper = stream_time - w.size.count() - w.grace.count();
  if (upper < 0 || upper <= emitted_until) {
    return std::nullopt;
  }
  struct closed {
    std::int64_t start;
    std::string key;
    std::string value;
  };
  std::vector<closed> found;
  windows_->fetch_all(std::max<std::int64_t>(emitted_until + 1, 0), upper,
                      [&](state::bytes_view key, std::int64_t start, state::bytes_view value) {
                        found.push_back(closed{start, std::string(key), std::string(value)});
                        return true;
                      });
  std::sort(found.begin(), found.end(), [](const closed& a, const closed& b) {
    return std::tie(a.start, a.key) < std::tie(b.start, b.key);
  });
  std::vector<record> results;
  for (const auto& c : found) {
    // The state was written by this operator: a parse failure means a corrupt store, reported
    // by json_serde throwing store_error. results() fails only in user code.
    auto key = state::json_serde::deserialize(c.key);
    auto agg = state::json_serde::deserialize(c.value);
    if (auto e = make_result(key, c.start, c.start + w.size.count(), agg, trigger, results)) {
      return e;
    }
  }
  for (auto& r : results) {
    out.push_back(std::move(r));
  }
  emitted_until = upper;
  return std::nullopt;
}

std::optional<processing_error> windowed_aggregator::process_session(
    const record& in, std::int64_t t, const std::vector<json::value>& inputs,
    std::vector<record>& out, bool& late) {
  const auto& w = spec_.window;
  const std::int64_t gap = w.gap.count();
  const std::int64_t grace = w.grace.count();
  const std::int64_t new_stream_time = std::max(stream_time_, t);
  const std::string key_bytes = state::json_serde::serialize(in.key);
  auto closed = [&](std::int64_t end) { return end + gap + grace <= new_stream_time; };

  if (closed(t)) {
    late = true;  // t is behind stream time here, so stream time does not move
    return std::nullopt;
  }

  // Phase 1: the sessions within gap of t that are still open merge with the record.
  struct found_session {
    std::int64_t start;
    std::int64_t end;
    std::string value;
  };
  std::vector<found_session> merging;
  sessions_->find_sessions(
      key_bytes, std::max<std::int64_t>(t - gap, 0), t + gap,
      [&](state::bytes_view, std::int64_t start, std::int64_t end, state::bytes_view value) {
        if (!closed(end)) {
          merging.push_back({start, end, std::string(value)});
        }
        return true;
      });
  std::int64_t start = t;
  std::int64_t end = t;
  json::value agg = aggregates_.initial_state();
  for (const auto& s : merging) {
    start = std::min(start, s.start);
    end = std::max(end, s.end);
    auto merged = aggregates_.merge(agg, state::json_serde::deserialize(s.value), in);
    if (!merged) {
      return merged.error();
    }
    agg = std::move(merged).value();
  }
  if (auto e = aggregates_.add(agg, inputs, t, in)) {
    return e;
  }
  std::vector<record> updated;
  if (spec_.emit == emit_mode::every_update) {
    if (auto e = make_result(in.key, start, end, agg, in, updated)) {
      return e;
    }
  }

  std::int64_t emitted_until = emitted_until_;
  if (spec_.emit == emit_mode::on_close) {
    if (auto e = emit_closed_sessions(in, new_stream_time, out, emitted_until)) {
      return e;
    }
  }

  // Phase 2: nothing below fails.
  advance_to(new_stream_time, emitted_until);
  for (const auto& s : merging) {
    sessions_->remove(key_bytes, s.start, s.end);
  }
  sessions_->put(key_bytes, start, end, json::serialize(agg));
  if (spec_.emit == emit_mode::on_close) {
    for (const auto& k : pending_index_removals_) {
      meta_->remove(k);
    }
    pending_index_removals_.clear();
    for (const auto& s : merging) {
      meta_->remove(close_index_key(s.end, s.start, key_bytes));
    }
    meta_->put(close_index_key(end, start, key_bytes), {});
  }
  for (auto& r : updated) {
    out.push_back(std::move(r));
  }
  return std::nullopt;
}

std::optional<processing_error> windowed_aggregator::emit_closed_sessions(
    const record& trigger, std::int64_t stream_time, std::vector<record>& out,
    std::int64_t& emitted_until) {
  const auto& w = spec_.window;
  const std::int64_t upper = stream_time - w.gap.count() - w.grace.count();
  if (upper < 0 || upper <= emitted_until) {
    return std::nullopt;
  }
  // The close index lists open sessions by end time, so this reads exactly the sessions that
  // closed, in (end, start, key) order.
  const auto from = close_index_key(std::max<std::int64_t>(emitted_until + 1, 0), 0, {});
  const auto to = close_index_key(upper + 1, 0, {});
  std::vector<record> results;
  std::optional<processing_error> failed;
  std::vector<std::string> emitted;
  meta_->range(from, to, [&](state::bytes_view index_key, state::bytes_view) {
    const auto entry = parse_close_index_key(index_key);
    auto stored = sessions_->fetch_session(entry.key, entry.start, entry.end);
    if (!stored) {
      throw state::store_error(fmt::format(
          "store '{}': the close index lists session [{}, {}] that the session store does not "
          "hold",
          meta_->name(), entry.start, entry.end));
    }
    auto key = state::json_serde::deserialize(entry.key);
    auto agg = state::json_serde::deserialize(*stored);
    failed = make_result(key, entry.start, entry.end, agg, trigger, results);
    emitted.emplace_back(index_key);
    return !failed;
  });
  if (failed) {
    return failed;
  }
  for (auto& r : results) {
    out.push_back(std::move(r));
  }
  // Removed in phase 2 with the other writes.
  pending_index_removals_ = std::move(emitted);
  emitted_until = upper;
  return std::nullopt;
}

}  // namespace sluice::operators
