#include "state/buffered_kv_store.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "state/key_layout.hpp"

namespace sluice::state {

buffered_kv_store::buffered_kv_store(std::string name, std::unique_ptr<bytes_table> table)
    : name_(std::move(name)), table_(std::move(table)) {
  check_store_name(name_);
  if (auto offset = table_metadata::read_i64(*table_, table_metadata::offset, name_)) {
    committed_ = changelog_offset{*offset};
  }
}

void buffered_kv_store::commit(changelog_offset next_offset) {
  check_offset_advances(name_, committed_, next_offset);
  table_write batch;
  batch.entries.reserve(buffer_.size());
  for (const auto& [key, value] : buffer_.entries()) {
    batch.entries.push_back({key, value ? std::optional<bytes_view>(*value) : std::nullopt});
  }
  batch.metadata.emplace_back(table_metadata::offset,
                              table_metadata::encode_i64(next_offset.value));
  table_->write(batch);  // on failure nothing changed: the buffer is kept for abort()
  committed_ = next_offset;
  buffer_.clear();
}

void buffered_kv_store::apply(std::span<const change> changes, changelog_offset next_offset) {
  if (!buffer_.empty()) {
    throw store_error(fmt::format(
        "store '{}': cannot apply changelog records while {} writes are buffered; commit or "
        "abort first",
        name_, buffer_.size()));
  }
  check_offset_advances(name_, committed_, next_offset);
  table_write batch;
  batch.entries.reserve(changes.size());
  for (const auto& c : changes) {
    batch.entries.push_back({c.key, c.value ? std::optional<bytes_view>(*c.value) : std::nullopt});
  }
  // In key order RocksDB's memtable inserts each key next to the one before (its skip list keeps
  // the last insert's position), where changelog order is random. Stable: of two changes of one
  // key the later stays later and wins.
  std::stable_sort(batch.entries.begin(), batch.entries.end(),
                   [](const auto& a, const auto& b) { return a.key < b.key; });
  batch.metadata.emplace_back(table_metadata::offset,
                              table_metadata::encode_i64(next_offset.value));
  table_->write(batch);
  committed_ = next_offset;
}

std::optional<bytes> buffered_kv_store::get(bytes_view key) const {
  if (const auto* buffered = buffer_.find(key)) return *buffered;
  return table_->get(key);
}

void buffered_kv_store::scan(bytes_view from, std::optional<bytes_view> to,
                             const kv_visitor& visit) const {
  std::vector<committed_source> sources;
  sources.push_back({table_->scan(from, to), 0});
  merged_scan(sources, buffer_, from, to, visit);
}

void buffered_kv_store::range(bytes_view from, bytes_view to, const kv_visitor& visit) const {
  if (to <= from) return;
  scan(from, to, visit);
}

void buffered_kv_store::prefix_scan(bytes_view prefix, const kv_visitor& visit) const {
  auto upper = key_layout::prefix_successor(prefix);
  if (upper) {
    scan(prefix, bytes_view(*upper), visit);
  } else {
    scan(prefix, std::nullopt, visit);
  }
}

void buffered_kv_store::all(const kv_visitor& visit) const {
  scan({}, std::nullopt, visit);
}

}  // namespace sluice::state
