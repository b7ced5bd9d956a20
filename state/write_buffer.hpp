#pragma once

// write_buffer: the uncommitted writes of a store's open transaction (KIP-892's idea: state
// changes reach the committed store only when the Kafka transaction carrying their changelog
// records commits). An ordered map from key to the new value or a deletion, so reads can merge
// it over the committed state in key order (read-your-writes). Owned by one store; not
// thread-safe.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "state/bytes_table.hpp"
#include "state/kv_store.hpp"

namespace sluice::state {

class write_buffer {
 public:
  using entry_map = std::map<bytes, std::optional<bytes>, std::less<>>;

  void put(bytes_view key, bytes_view value);
  void remove(bytes_view key);
  // nullptr when the key has no buffered write; otherwise the buffered value, nullopt meaning
  // a buffered deletion.
  const std::optional<bytes>* find(bytes_view key) const;

  const entry_map& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() { entries_.clear(); }

 private:
  entry_map entries_;
};

// One committed source for merged_scan: a cursor whose keys are `strip` bytes of prefix (a
// segment id) followed by the logical key.
struct committed_source {
  std::unique_ptr<table_cursor> cursor;
  std::size_t strip = 0;
};

// Visits the logical keys in [from, to) (to = nullopt: unbounded) of the committed sources,
// overlaid by the buffer: a buffered value replaces the committed one, a buffered deletion hides
// it. Each source must be ordered and restricted to [from, to); no logical key may appear in two
// sources. Returns false when the visitor stopped the scan.
bool merged_scan(std::vector<committed_source>& sources, const write_buffer& buffer,
                 bytes_view from, std::optional<bytes_view> to, const kv_visitor& visit);

}  // namespace sluice::state
