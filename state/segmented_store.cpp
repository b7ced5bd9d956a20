#include "state/segmented_store.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "state/key_layout.hpp"

namespace sluice::state {

std::int64_t default_segment_interval(std::int64_t retention_ms) {
  constexpr std::int64_t minimum = 60'000;
  return std::max(retention_ms / 2, minimum);
}

segmented_store::segmented_store(std::string name, std::unique_ptr<bytes_table> table,
                                 std::int64_t retention_ms, std::int64_t segment_interval_ms,
                                 time_of_key time_of, write_back_policy write_back)
    : name_(std::move(name)),
      table_(std::move(table)),
      retention_ms_(retention_ms),
      segment_interval_ms_(segment_interval_ms == 0 ? default_segment_interval(retention_ms)
                                                    : segment_interval_ms),
      time_of_(time_of),
      write_back_(write_back) {
  check_store_name(name_);
  if (retention_ms_ <= 0) {
    throw store_error(
        fmt::format("store '{}': retention must be positive, got {} ms", name_, retention_ms_));
  }
  if (segment_interval_ms_ <= 0) {
    throw store_error(fmt::format("store '{}': segment interval must be positive, got {} ms", name_,
                                  segment_interval_ms_));
  }
  // Every read seeks once per live segment, so their number is bounded.
  if (retention_ms_ / segment_interval_ms_ >= max_live_segments) {
    throw store_error(fmt::format(
        "store '{}': retention {} ms over segment interval {} ms makes more than {} live "
        "segments; use a wider segment interval",
        name_, retention_ms_, segment_interval_ms_, max_live_segments));
  }
  if (auto offset = table_metadata::read_i64(*table_, table_metadata::offset, name_)) {
    committed_offset_ = changelog_offset{*offset};
  }
  flushed_offset_ = committed_offset_;
  committed_stream_time_ = table_metadata::read_i64(*table_, table_metadata::stream_time, name_);
  stream_time_ = committed_stream_time_;
  if (committed_stream_time_)
    dropped_below_segment_ = segment_of(live_from(committed_stream_time_));
}

segmented_store::~segmented_store() {
  if (!table_) return;  // moved from
  buffer_.abort_transaction();
  try {
    flush_committed();
  } catch (const std::exception& e) {
    spdlog::warn("store '{}': writing its committed writes on close failed: {}", name_, e.what());
  }
}

std::int64_t segmented_store::live_from(std::optional<std::int64_t> stream_time) const {
  if (!stream_time) return 0;
  // Kafka Streams: a window is expired when start <= stream time - retention.
  return std::max<std::int64_t>(0, *stream_time - retention_ms_ + 1);
}

bytes segmented_store::table_key(std::int64_t time, bytes_view logical_key) const {
  bytes out;
  out.reserve(key_layout::time_size + logical_key.size());
  key_layout::append_be64(out, segment_of(time));
  out.append(logical_key);
  return out;
}

bool segmented_store::write(bytes_view logical_key, std::int64_t time,
                            std::optional<bytes_view> value) {
  if (time < live_from(stream_time_)) {
    if (value) ++expired_drops_;
    return false;
  }
  if (value) {
    buffer_.put(logical_key, *value);
    if (!stream_time_ || time > *stream_time_) stream_time_ = time;
  } else {
    buffer_.remove(logical_key);
  }
  return true;
}

std::optional<bytes> segmented_store::get(bytes_view logical_key, std::int64_t time) const {
  if (time < live_from(stream_time_)) return std::nullopt;
  if (const auto* buffered = buffer_.find(logical_key)) return *buffered;
  return table_->get(table_key(time, logical_key));
}

void segmented_store::scan(bytes_view from, std::optional<bytes_view> to, std::int64_t time_from,
                           std::int64_t time_to, const kv_visitor& visit) const {
  auto live = live_from(stream_time_);
  time_from = std::max(time_from, live);
  if (time_to < time_from) return;
  std::vector<committed_source> sources;
  if (committed_stream_time_) {
    // Committed entries are at most the committed stream time; nothing lies above its segment.
    auto last = segment_of(std::min(time_to, *committed_stream_time_));
    for (auto segment = segment_of(time_from); segment <= last; ++segment) {
      bytes prefix;
      key_layout::append_be64(prefix, segment);
      bytes lower = prefix + bytes(from);
      std::optional<bytes> upper =
          to ? std::optional<bytes>(prefix + bytes(*to)) : key_layout::prefix_successor(prefix);
      auto cursor =
          upper ? table_->scan(lower, bytes_view(*upper)) : table_->scan(lower, std::nullopt);
      sources.push_back({std::move(cursor), key_layout::time_size});
    }
  }
  merged_scan(sources, buffer_, from, to, [&](bytes_view key, bytes_view value) {
    auto time = time_of_(key);
    if (!time || *time < live) return true;  // expired inside a live segment
    return visit(key, value);
  });
}

void segmented_store::abort() {
  buffer_.abort_transaction();
  stream_time_ = committed_stream_time_;
}

void segmented_store::write_committed(
    const std::vector<std::pair<bytes_view, const std::optional<bytes>*>>& entries,
    std::optional<std::int64_t> new_stream_time, changelog_offset next_offset) {
  auto live = live_from(new_stream_time);
  auto first_live_segment = segment_of(live);
  table_write batch;
  if (first_live_segment > dropped_below_segment_) {
    bytes from;
    bytes to;
    key_layout::append_be64(from, dropped_below_segment_);
    key_layout::append_be64(to, first_live_segment);
    batch.delete_ranges.emplace_back(std::move(from), std::move(to));
  }
  // The table keys live here while the batch's views point at them; reserved up front so that
  // no reallocation moves them.
  std::vector<bytes> table_keys;
  table_keys.reserve(entries.size());
  batch.entries.reserve(entries.size());
  for (const auto& [logical_key, value] : entries) {
    auto time = time_of_(logical_key);
    if (!time || *time < live) continue;  // expired by a later write of the same batch
    table_keys.push_back(table_key(*time, logical_key));
    batch.entries.push_back(
        {table_keys.back(), *value ? std::optional<bytes_view>(**value) : std::nullopt});
  }
  batch.metadata.emplace_back(table_metadata::offset,
                              table_metadata::encode_i64(next_offset.value));
  if (new_stream_time) {
    batch.metadata.emplace_back(table_metadata::stream_time,
                                table_metadata::encode_i64(*new_stream_time));
  }
  table_->write(batch);  // on failure nothing changed
  committed_offset_ = next_offset;
  flushed_offset_ = next_offset;
  committed_stream_time_ = new_stream_time;
  dropped_below_segment_ = std::max(dropped_below_segment_, first_live_segment);
}

void segmented_store::commit(changelog_offset next_offset) {
  check_offset_advances(name_, committed_offset_, next_offset);
  buffer_.commit_transaction();
  committed_offset_ = next_offset;
  committed_stream_time_ = stream_time_;
  if (buffer_.flush_due(write_back_)) flush();
}

void segmented_store::flush_committed() {
  if (buffer_.in_transaction() || (buffer_.empty() && committed_offset_ == flushed_offset_)) return;
  flush();
}

void segmented_store::flush() {
  std::vector<std::pair<bytes_view, const std::optional<bytes>*>> entries;
  entries.reserve(buffer_.size());
  for (const auto& [key, slot] : buffer_.entries()) entries.emplace_back(key, &slot.value);
  write_committed(entries, committed_stream_time_, *committed_offset_);
  buffer_.clear();
}

void segmented_store::apply(std::span<const change> changes, changelog_offset next_offset) {
  if (buffer_.in_transaction()) {
    throw store_error(fmt::format(
        "store '{}': cannot apply changelog records while {} writes are buffered; commit or "
        "abort first",
        name_, buffer_.transaction_size()));
  }
  check_offset_advances(name_, committed_offset_, next_offset);
  if (!buffer_.empty()) flush();
  auto new_stream_time = committed_stream_time_;
  std::vector<std::pair<bytes_view, const std::optional<bytes>*>> entries;
  entries.reserve(changes.size());
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const auto& change = changes[i];
    auto time = time_of_(change.key);
    if (!time) {
      throw store_error(fmt::format(
          "store '{}': changelog record {} of the batch applied at offset {} has a malformed "
          "key ({} bytes)",
          name_, i, next_offset.value, change.key.size()));
    }
    if (change.value && (!new_stream_time || *time > *new_stream_time)) new_stream_time = *time;
    entries.emplace_back(change.key, &change.value);
  }
  // WriteBatch order keeps the last change of a key; expired ones are skipped as on commit.
  write_committed(entries, new_stream_time, next_offset);
  stream_time_ = committed_stream_time_;
}

}  // namespace sluice::state
