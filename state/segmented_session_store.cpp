#include "state/segmented_session_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "state/key_layout.hpp"

namespace sluice::state {
namespace {

std::optional<std::int64_t> session_time(bytes_view logical_key) {
  auto parts = key_layout::parse_session_key(logical_key);
  if (!parts) return std::nullopt;
  return parts->end;
}

}  // namespace

segmented_session_store::segmented_session_store(std::string name,
                                                 std::unique_ptr<bytes_table> table,
                                                 session_store_options options)
    : segmented_store_base(
          segmented_store(std::move(name), std::move(table), options.retention.count(),
                          options.segment_interval.count(), &session_time, options.write_back)) {}

void segmented_session_store::check_session(std::int64_t start, std::int64_t end,
                                            const char* operation) const {
  if (start < 0 || end < start) {
    throw store_error(
        fmt::format("session store '{}': {} with session [{}, {}]; need 0 <= start <= end", name(),
                    operation, start, end));
  }
}

bool segmented_session_store::put(bytes_view key, std::int64_t start, std::int64_t end,
                                  bytes_view value) {
  check_session(start, end, "put");
  return store_.write(key_layout::session_key(key, start, end), end, value);
}

void segmented_session_store::remove(bytes_view key, std::int64_t start, std::int64_t end) {
  check_session(start, end, "remove");
  store_.write(key_layout::session_key(key, start, end), end, std::nullopt);
}

std::optional<bytes> segmented_session_store::fetch_session(bytes_view key, std::int64_t start,
                                                            std::int64_t end) const {
  check_session(start, end, "fetch");
  return store_.get(key_layout::session_key(key, start, end), end);
}

void segmented_session_store::find_sessions(bytes_view key, std::int64_t time_from,
                                            std::int64_t time_to,
                                            const session_visitor& visit) const {
  time_from = std::max<std::int64_t>(time_from, 0);
  if (time_to < 0) return;
  // Sessions are ordered by end within a key: seek to end >= time_from. The end has no upper
  // bound, so the scan runs to the end of the key: [key][0x80] is above every non-negative
  // big-endian end.
  auto lower = key_layout::session_key(key, 0, time_from);
  bytes upper(key);
  upper.push_back(static_cast<char>(0x80));
  store_.scan(lower, upper, time_from, std::numeric_limits<std::int64_t>::max(),
              [&](bytes_view logical, bytes_view value) {
                auto parts = key_layout::parse_session_key(logical);
                if (!parts || parts->key.size() != key.size()) return true;
                if (parts->end < time_from || parts->start > time_to) return true;
                return visit(parts->key, parts->start, parts->end, value);
              });
}

void segmented_session_store::all(const session_visitor& visit) const {
  store_.scan({}, std::nullopt, 0, std::numeric_limits<std::int64_t>::max(),
              [&](bytes_view logical, bytes_view value) {
                auto parts = key_layout::parse_session_key(logical);
                if (!parts) return true;
                return visit(parts->key, parts->start, parts->end, value);
              });
}

}  // namespace sluice::state
