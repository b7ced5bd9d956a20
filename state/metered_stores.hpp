#pragma once

// Metered stores: decorators that time every operation of the byte store they own and count it
// in a store_metrics (the optional metrics layer of docs/architecture.md "State"). The runtime
// does not build this layer (its metrics are per task and sink, runtime/runtime_metrics.hpp);
// the store conformance suite runs through it, and an embedder may wrap a store with it.
// They change nothing else: same interface, same results, same exceptions (a failed operation
// is still counted). One task's thread for the operations; metrics() may be read from any thread.

#include <memory>

#include "state/kv_store.hpp"
#include "state/session_store.hpp"
#include "state/store_metrics.hpp"
#include "state/window_store.hpp"

namespace sluice::state {

// What every metered store shares: it owns the wrapped store, counts the transaction calls
// (commit, abort, apply) and forwards the rest of state_store. Store is kv_store, window_store or
// session_store; the members are defined (and instantiated for those three) in metered_stores.cpp.
template <typename Store>
class metered_store : public Store {
 public:
  // Throws store_error when `inner` is null.
  explicit metered_store(std::unique_ptr<Store> inner);

  // The counters, with the inner store's pending writes (and expired drops, windowed stores).
  store_metrics_snapshot metrics() const;

  const std::string& name() const override { return inner_->name(); }
  std::size_t pending_writes() const override { return inner_->pending_writes(); }
  void commit(changelog_offset next_offset) override;
  void abort() override;
  void flush_committed() override { inner_->flush_committed(); }
  std::optional<changelog_offset> committed_offset() const override {
    return inner_->committed_offset();
  }
  void apply(std::span<const change> changes, changelog_offset next_offset) override;

 protected:
  std::unique_ptr<Store> inner_;
  mutable store_metrics metrics_;
};

// The windowed stores' time queries are not operations: forwarded, not counted.
template <typename Store>
class metered_windowed_store : public metered_store<Store> {
 public:
  using metered_store<Store>::metered_store;

  std::chrono::milliseconds retention() const override { return this->inner_->retention(); }
  std::optional<std::int64_t> observed_stream_time() const override {
    return this->inner_->observed_stream_time();
  }
  std::uint64_t expired_drops() const override { return this->inner_->expired_drops(); }
};

class metered_kv_store final : public metered_store<kv_store> {
 public:
  using metered_store::metered_store;

  std::optional<bytes> get(bytes_view key) const override;
  void put(bytes_view key, bytes_view value) override;
  void remove(bytes_view key) override;
  void range(bytes_view from, bytes_view to, const kv_visitor& visit) const override;
  void prefix_scan(bytes_view prefix, const kv_visitor& visit) const override;
  void all(const kv_visitor& visit) const override;
};

class metered_window_store final : public metered_windowed_store<window_store> {
 public:
  using metered_windowed_store::metered_windowed_store;

  bool put(bytes_view key, std::int64_t window_start, bytes_view value) override;
  void remove(bytes_view key, std::int64_t window_start) override;
  std::optional<bytes> fetch(bytes_view key, std::int64_t window_start) const override;
  void fetch(bytes_view key, std::int64_t time_from, std::int64_t time_to,
             const window_visitor& visit) const override;
  void fetch_all(std::int64_t time_from, std::int64_t time_to,
                 const window_visitor& visit) const override;
  void all(const window_visitor& visit) const override;
};

class metered_session_store final : public metered_windowed_store<session_store> {
 public:
  using metered_windowed_store::metered_windowed_store;

  bool put(bytes_view key, std::int64_t start, std::int64_t end, bytes_view value) override;
  void remove(bytes_view key, std::int64_t start, std::int64_t end) override;
  std::optional<bytes> fetch_session(bytes_view key, std::int64_t start,
                                     std::int64_t end) const override;
  void find_sessions(bytes_view key, std::int64_t time_from, std::int64_t time_to,
                     const session_visitor& visit) const override;
  void all(const session_visitor& visit) const override;
};

}  // namespace sluice::state
