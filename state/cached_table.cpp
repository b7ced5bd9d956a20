#include "state/cached_table.hpp"

namespace sluice::state {

namespace {

// What an entry costs beyond its bytes: the map slot and the two strings' headers.
constexpr std::size_t entry_overhead = 80;

std::size_t entry_size(bytes_view key, const std::optional<bytes>& value) {
  return key.size() + (value ? value->size() : 0) + entry_overhead;
}

}  // namespace

cached_table::cached_table(std::unique_ptr<bytes_table> inner,
                           std::shared_ptr<store_cache_budget> budget)
    : inner_(std::move(inner)), budget_(std::move(budget)) {
  if (budget_ && budget_->total_bytes() == 0) budget_.reset();
  if (budget_) ++budget_->tables_;
}

cached_table::~cached_table() {
  if (!budget_) return;
  release(current_.size + previous_.size);
  --budget_->tables_;
}

std::optional<bytes> cached_table::get(bytes_view key) const {
  if (!budget_) return inner_->get(key);
  if (auto found = current_.entries.find(key); found != current_.entries.end()) {
    ++hits_;
    return found->second;
  }
  if (auto found = previous_.entries.find(key); found != previous_.entries.end()) {
    ++hits_;
    // Still in use: it moves to the current generation, which outlives the next rotation.
    auto value = std::move(found->second);
    const auto size = entry_size(key, value);
    previous_.entries.erase(found);
    previous_.size -= size;
    release(size);
    remember(key, value);
    return value;
  }
  ++misses_;
  auto value = inner_->get(key);
  remember(key, value);
  return value;
}

void cached_table::write(const table_write& batch) {
  inner_->write(batch);  // first: a failed write leaves the cache as it was, like the table
  if (!budget_) return;
  for (const auto& [from, to] : batch.delete_ranges) {
    forget_range(current_, from, to);
    forget_range(previous_, from, to);
  }
  // Nothing cached (a fresh store's restore): no entry can need updating.
  if (current_.entries.empty() && previous_.entries.empty()) return;
  for (const auto& entry : batch.entries) {
    // Only keys already cached are updated: a commit's keys were read just before (an
    // aggregation reads before it writes), and a restore's bulk need not fill the cache.
    auto update = [&](generation& g) {
      auto found = g.entries.find(entry.key);
      if (found == g.entries.end()) return false;
      const auto old_size = entry_size(entry.key, found->second);
      found->second = entry.value ? std::optional<bytes>(*entry.value) : std::nullopt;
      const auto new_size = entry_size(entry.key, found->second);
      g.size = g.size - old_size + new_size;
      budget_->used_ += new_size;
      release(old_size);
      return true;
    };
    if (!update(current_)) update(previous_);
  }
}

void cached_table::remember(bytes_view key, std::optional<bytes> value) const {
  const auto size = entry_size(key, value);
  if (current_.size + size > budget_->share() / 2) {
    release(previous_.size);
    previous_ = std::move(current_);
    current_ = generation{};
  }
  current_.entries.emplace(bytes(key), std::move(value));
  current_.size += size;
  budget_->used_ += size;
}

void cached_table::forget_range(generation& g, bytes_view from, bytes_view to) const {
  std::size_t freed = 0;
  boost::unordered::erase_if(g.entries, [&](const auto& entry) {
    const bool inside = bytes_view(entry.first) >= from && bytes_view(entry.first) < to;
    if (inside) freed += entry_size(entry.first, entry.second);
    return inside;
  });
  g.size -= freed;
  release(freed);
}

void cached_table::release(std::size_t bytes) const {
  budget_->used_ -= bytes;
}

}  // namespace sluice::state
