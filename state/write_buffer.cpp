#include "state/write_buffer.hpp"

namespace sluice::state {

void write_buffer::put(bytes_view key, bytes_view value) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    entries_.emplace(bytes(key), bytes(value));
  } else {
    it->second = bytes(value);
  }
}

void write_buffer::remove(bytes_view key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    entries_.emplace(bytes(key), std::nullopt);
  } else {
    it->second = std::nullopt;
  }
}

const std::optional<bytes>* write_buffer::find(bytes_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
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
      if (buffered->second && !visit(buffered->first, *buffered->second)) return false;
      ++buffered;
    } else {
      if (!visit(smallest_key, smallest->cursor->value())) return false;
      smallest->cursor->next();
    }
  }
}

}  // namespace sluice::state
