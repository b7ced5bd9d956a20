#include "state/memory_table.hpp"

namespace sluice::state {
namespace {

class memory_cursor final : public table_cursor {
 public:
  using iterator = std::map<bytes, bytes, std::less<>>::const_iterator;
  memory_cursor(iterator at, iterator end) : at_(at), end_(end) {}
  bool valid() const override { return at_ != end_; }
  bytes_view key() const override { return at_->first; }
  bytes_view value() const override { return at_->second; }
  void next() override { ++at_; }

 private:
  iterator at_;
  iterator end_;
};

}  // namespace

std::optional<bytes> memory_table::get(bytes_view key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::unique_ptr<table_cursor> memory_table::scan(bytes_view from,
                                                 std::optional<bytes_view> to) const {
  auto begin = entries_.lower_bound(from);
  auto end = to ? entries_.lower_bound(*to) : entries_.end();
  if (to && *to <= from) end = begin;
  return std::make_unique<memory_cursor>(begin, end);
}

std::optional<bytes> memory_table::metadata(std::string_view name) const {
  auto it = metadata_.find(name);
  if (it == metadata_.end()) return std::nullopt;
  return it->second;
}

void memory_table::write(const table_write& batch) {
  for (const auto& [from, to] : batch.delete_ranges) {
    if (to <= from) continue;
    entries_.erase(entries_.lower_bound(from), entries_.lower_bound(to));
  }
  for (const auto& entry : batch.entries) {
    if (entry.value) {
      entries_.insert_or_assign(bytes(entry.key), bytes(*entry.value));
    } else {
      if (auto it = entries_.find(entry.key); it != entries_.end()) entries_.erase(it);
    }
  }
  for (const auto& [name, value] : batch.metadata) metadata_.insert_or_assign(name, value);
}

}  // namespace sluice::state
