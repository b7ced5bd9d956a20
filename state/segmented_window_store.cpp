#include "state/segmented_window_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "state/key_layout.hpp"

namespace sluice::state {
namespace {

std::optional<std::int64_t> window_time(bytes_view logical_key) {
  auto parts = key_layout::parse_window_key(logical_key);
  if (!parts) return std::nullopt;
  return parts->window_start;
}

}  // namespace

segmented_window_store::segmented_window_store(std::string name, std::unique_ptr<bytes_table> table,
                                               window_store_options options)
    : segmented_store_base(
          segmented_store(std::move(name), std::move(table), options.retention.count(),
                          options.segment_interval.count(), &window_time, options.write_back)) {}

void segmented_window_store::check_start(std::int64_t window_start, const char* operation) const {
  if (window_start < 0) {
    throw store_error(fmt::format("window store '{}': {} with negative window start {}", name(),
                                  operation, window_start));
  }
}

bool segmented_window_store::put(bytes_view key, std::int64_t window_start, bytes_view value) {
  check_start(window_start, "put");
  return store_.write(key_layout::window_key(key, window_start), window_start, value);
}

void segmented_window_store::remove(bytes_view key, std::int64_t window_start) {
  check_start(window_start, "remove");
  store_.write(key_layout::window_key(key, window_start), window_start, std::nullopt);
}

std::optional<bytes> segmented_window_store::fetch(bytes_view key,
                                                   std::int64_t window_start) const {
  check_start(window_start, "fetch");
  return store_.get(key_layout::window_key(key, window_start), window_start);
}

void segmented_window_store::fetch(bytes_view key, std::int64_t time_from, std::int64_t time_to,
                                   const window_visitor& visit) const {
  time_from = std::max<std::int64_t>(time_from, 0);
  if (time_to < time_from) return;
  auto lower = key_layout::window_key(key, time_from);
  // The smallest string above [key][to]: the range is [key][from] .. [key][to] inclusive.
  auto upper = key_layout::window_key(key, time_to);
  upper.push_back('\0');
  store_.scan(lower, upper, time_from, time_to, [&](bytes_view logical, bytes_view value) {
    auto parts = key_layout::parse_window_key(logical);
    // Another key that starts with `key` can fall in the byte range (see key_layout.hpp).
    if (!parts || parts->key.size() != key.size()) return true;
    return visit(parts->key, parts->window_start, value);
  });
}

void segmented_window_store::fetch_all(std::int64_t time_from, std::int64_t time_to,
                                       const window_visitor& visit) const {
  time_from = std::max<std::int64_t>(time_from, 0);
  if (time_to < time_from) return;
  store_.scan({}, std::nullopt, time_from, time_to, [&](bytes_view logical, bytes_view value) {
    auto parts = key_layout::parse_window_key(logical);
    if (!parts || parts->window_start < time_from || parts->window_start > time_to) return true;
    return visit(parts->key, parts->window_start, value);
  });
}

void segmented_window_store::all(const window_visitor& visit) const {
  fetch_all(0, std::numeric_limits<std::int64_t>::max(), visit);
}

}  // namespace sluice::state
