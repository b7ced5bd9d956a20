#include "state/write_buffer.hpp"

namespace sluice::state {

namespace {

// What an entry costs beyond its bytes: the map node and the strings' headers.
constexpr std::size_t entry_overhead = 96;

}  // namespace

std::size_t write_buffer::size_of(bytes_view key, const std::optional<bytes>& value) {
  return key.size() + (value ? value->size() : 0) + entry_overhead;
}

void write_buffer::write(bytes_view key, std::optional<bytes> value) {
  auto indexed = index_.find(key);
  if (indexed == index_.end()) {
    bytes_ += size_of(key, value);
    auto it = entries_.emplace(bytes(key), slot{std::move(value), transaction_}).first;
    index_.emplace(it->first, it);
    undo_.push_back({it, false, std::nullopt});
    return;
  }
  auto it = indexed->second;
  auto& s = it->second;
  bytes_ = bytes_ - size_of(key, s.value) + size_of(key, value);
  if (s.transaction != transaction_) {
    s.transaction = transaction_;
    undo_.push_back({it, true, std::move(s.value)});
  }
  s.value = std::move(value);
}

const std::optional<bytes>* write_buffer::find(bytes_view key) const {
  auto indexed = index_.find(key);
  return indexed == index_.end() ? nullptr : &indexed->second->second.value;
}

void write_buffer::commit_transaction() {
  undo_.clear();
  ++unflushed_commits_;
  ++transaction_;
}

void write_buffer::abort_transaction() {
  // Each key has one undo entry (its first write in the transaction), so the order is free.
  for (auto& u : undo_) {
    bytes_ -= size_of(u.entry->first, u.entry->second.value);
    if (!u.existed) {
      index_.erase(bytes_view(u.entry->first));
      entries_.erase(u.entry);
      continue;
    }
    bytes_ += size_of(u.entry->first, u.before);
    u.entry->second.value = std::move(u.before);
  }
  undo_.clear();
  ++transaction_;  // the restored slots belong to committed transactions again
}

void write_buffer::clear() {
  index_.clear();
  entries_.clear();
  undo_.clear();
  bytes_ = 0;
  unflushed_commits_ = 0;
  flushed_ = true;
  ++transaction_;
}

bool merged_scan(std::vector<committed_source>& sources, const write_buffer& buffer,
                 bytes_view from, std::optional<bytes_view> to, const kv_visitor& visit) {
  const auto& entries = buffer.entries();
  auto buffered = entries.lower_bound(from);
  auto buffered_end = to ? entries.lower_bound(*to) : entries.end();
  if (to && *to <= from) buffered_end = buffered;
  for (;;) {
    // The few sources (one per live segment) make a linear minimum cheaper than a heap.
    committed_source* smallest = nullptr;
    bytes_view smallest_key;
    for (auto& source : sources) {
      if (!source.cursor->valid()) continue;
      auto key = source.cursor->key().substr(source.strip);
      if (smallest == nullptr || key < smallest_key) {
        smallest = &source;
        smallest_key = key;
      }
    }
    bool have_buffered = buffered != buffered_end;
    if (smallest == nullptr && !have_buffered) return true;
    if (have_buffered && (smallest == nullptr || bytes_view(buffered->first) <= smallest_key)) {
      bool shadows = smallest != nullptr && bytes_view(buffered->first) == smallest_key;
      if (shadows) smallest->cursor->next();  // the buffered write replaces the committed entry
      const auto& value = buffered->second.value;
      if (value && !visit(buffered->first, *value)) return false;
      ++buffered;
    } else {
      if (!visit(smallest_key, smallest->cursor->value())) return false;
      smallest->cursor->next();
    }
  }
}

}  // namespace sluice::state
