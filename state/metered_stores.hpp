#pragma once

// Metered stores: decorators that time every operation of the byte store they own and count it
// in a store_metrics (the "metrics" layer of typed/metrics -> cache -> changelog -> backend).
// They change nothing else: same interface, same results, same exceptions (a failed operation
// is still counted). One task's thread for the operations; metrics() may be read from any thread.

#include <memory>

#include "state/kv_store.hpp"
#include "state/session_store.hpp"
#include "state/store_metrics.hpp"
#include "state/window_store.hpp"

namespace sluice::state {

class metered_kv_store final : public kv_store {
 public:
  explicit metered_kv_store(std::unique_ptr<kv_store> inner);

  store_metrics_snapshot metrics() const;

  const std::string& name() const override { return inner_->name(); }
  std::size_t pending_writes() const override { return inner_->pending_writes(); }
  void commit(changelog_offset next_offset) override;
  void abort() override;
  std::optional<changelog_offset> committed_offset() const override {
    return inner_->committed_offset();
  }
  void apply(std::span<const change> changes, changelog_offset next_offset) override;

  std::optional<bytes> get(bytes_view key) const override;
  void put(bytes_view key, bytes_view value) override;
  void remove(bytes_view key) override;
  void range(bytes_view from, bytes_view to, const kv_visitor& visit) const override;
  void prefix_scan(bytes_view prefix, const kv_visitor& visit) const override;
  void all(const kv_visitor& visit) const override;

 private:
  std::unique_ptr<kv_store> inner_;
  mutable store_metrics metrics_;
};

class metered_window_store final : public window_store {
 public:
  explicit metered_window_store(std::unique_ptr<window_store> inner);

  store_metrics_snapshot metrics() const;

  const std::string& name() const override { return inner_->name(); }
  std::size_t pending_writes() const override { return inner_->pending_writes(); }
  void commit(changelog_offset next_offset) override;
  void abort() override;
  std::optional<changelog_offset> committed_offset() const override {
    return inner_->committed_offset();
  }
  void apply(std::span<const change> changes, changelog_offset next_offset) override;

  bool put(bytes_view key, std::int64_t window_start, bytes_view value) override;
  void remove(bytes_view key, std::int64_t window_start) override;
  std::optional<bytes> fetch(bytes_view key, std::int64_t window_start) const override;
  void fetch(bytes_view key, std::int64_t time_from, std::int64_t time_to,
             const window_visitor& visit) const override;
  void fetch_all(std::int64_t time_from, std::int64_t time_to,
                 const window_visitor& visit) const override;
  void all(const window_visitor& visit) const override;

  std::chrono::milliseconds retention() const override { return inner_->retention(); }
  std::optional<std::int64_t> observed_stream_time() const override {
    return inner_->observed_stream_time();
  }
  std::uint64_t expired_drops() const override { return inner_->expired_drops(); }

 private:
  std::unique_ptr<window_store> inner_;
  mutable store_metrics metrics_;
};

class metered_session_store final : public session_store {
 public:
  explicit metered_session_store(std::unique_ptr<session_store> inner);

  store_metrics_snapshot metrics() const;

  const std::string& name() const override { return inner_->name(); }
  std::size_t pending_writes() const override { return inner_->pending_writes(); }
  void commit(changelog_offset next_offset) override;
  void abort() override;
  std::optional<changelog_offset> committed_offset() const override {
    return inner_->committed_offset();
  }
  void apply(std::span<const change> changes, changelog_offset next_offset) override;

  bool put(bytes_view key, std::int64_t start, std::int64_t end, bytes_view value) override;
  void remove(bytes_view key, std::int64_t start, std::int64_t end) override;
  std::optional<bytes> fetch_session(bytes_view key, std::int64_t start,
                                     std::int64_t end) const override;
  void find_sessions(bytes_view key, std::int64_t time_from, std::int64_t time_to,
                     const session_visitor& visit) const override;
  void all(const session_visitor& visit) const override;

  std::chrono::milliseconds retention() const override { return inner_->retention(); }
  std::optional<std::int64_t> observed_stream_time() const override {
    return inner_->observed_stream_time();
  }
  std::uint64_t expired_drops() const override { return inner_->expired_drops(); }

 private:
  std::unique_ptr<session_store> inner_;
  mutable store_metrics metrics_;
};

}  // namespace sluice::state
