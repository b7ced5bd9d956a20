#include "state/buffered_kv_store.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "state/key_layout.hpp"

namespace sluice::state {

buffered_kv_store::buffered_kv_store(std::string name, std::unique_ptr<bytes_table> table,
                                     write_back_policy write_back)
    : name_(std::move(name)), table_(std::move(table)), write_back_(write_back) {
  check_store_name(name_);
  if (auto offset = table_metadata::read_i64(*table_, table_metadata::offset, name_)) {
    committed_ = changelog_offset{*offset};
  }
  flushed_ = committed_;
}

buffered_kv_store::~buffered_kv_store() {
  buffer_.abort_transaction();
  try {
    flush_committed();
  } catch (const std::exception& e) {
    // Nothing is lost: the next start restores the gap from the changelog.
    spdlog::warn("store '{}': writing its committed writes on close failed: {}", name_, e.what());
  }
}

void buffered_kv_store::commit(changelog_offset next_offset) {
  check_offset_advances(name_, committed_, next_offset);
  buffer_.commit_transaction();
  committed_ = next_offset;
  if (buffer_.flush_due(write_back_)) flush();
}

void buffered_kv_store::flush_committed() {
  if (buffer_.in_transaction() || (buffer_.empty() && committed_ == flushed_)) return;
  flush();
}

void buffered_kv_store::flush() {
  table_write batch;
  batch.entries.reserve(buffer_.size());
  for (const auto& [key, slot] : buffer_.entries()) {
    batch.entries.push_back(
        {key, slot.value ? std::optional<bytes_view>(*slot.value) : std::nullopt});
  }
  if (committed_) {
    batch.metadata.emplace_back(table_metadata::offset,
                                table_metadata::encode_i64(committed_->value));
  }
  table_->write(batch);  // on failure nothing changed: the buffer is kept
  buffer_.clear();
  flushed_ = committed_;
}

void buffered_kv_store::apply(std::span<const change> changes, changelog_offset next_offset) {
  if (buffer_.in_transaction()) {
    throw store_error(fmt::format(
        "store '{}': cannot apply changelog records while {} writes are buffered; commit or "
        "abort first",
        name_, buffer_.transaction_size()));
  }
  check_offset_advances(name_, committed_, next_offset);
  if (!buffer_.empty()) flush();
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
  batch.sorted_by_key = true;
  batch.metadata.emplace_back(table_metadata::offset,
                              table_metadata::encode_i64(next_offset.value));
  table_->write(batch);
  committed_ = next_offset;
  flushed_ = next_offset;
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
