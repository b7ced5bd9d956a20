#pragma once

// kv_store: the key-value store over bytes. Keys are ordered by their bytes (unsigned,
// lexicographic, like RocksDB's default comparator); scans visit keys in that order.
//
// Scans take a visitor instead of returning an iterator: the visitor returns false to stop, and
// the views it receives are valid only during the call. This keeps every layer (buffer over
// backend, metrics, typed) a plain loop with no iterator class per layer.

#include <functional>
#include <optional>

#include "state/state_store.hpp"

namespace sluice::state {

using kv_visitor = std::function<bool(bytes_view key, bytes_view value)>;

class kv_store : public state_store {
 public:
  virtual std::optional<bytes> get(bytes_view key) const = 0;
  virtual void put(bytes_view key, bytes_view value) = 0;
  virtual void remove(bytes_view key) = 0;

  // Keys in [from, to), ascending. Nothing when to <= from.
  virtual void range(bytes_view from, bytes_view to, const kv_visitor& visit) const = 0;
  // Keys that start with `prefix`, ascending.
  virtual void prefix_scan(bytes_view prefix, const kv_visitor& visit) const = 0;
  // Every key, ascending.
  virtual void all(const kv_visitor& visit) const = 0;
};

}  // namespace sluice::state
