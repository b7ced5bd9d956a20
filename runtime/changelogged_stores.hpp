#pragma once

// Changelogging decorators: a store layer (docs/style.md, docs/architecture.md "State")
// that passes every call to the store it wraps and remembers, per changelog key, the latest change
// of the open transaction. At a commit point the task drains these changes, writes them to the
// store's changelog partition (inside the Kafka transaction under exactly-once), and only then
// commits the wrapped store with the changelog offset they reached (KIP-892's idea): what RocksDB
// holds never runs ahead of what Kafka committed.
//
// Changes are kept as a hash map (a changelog's records of different keys need no order), so a
// key written a thousand times between two commits costs one changelog record (Kafka Streams'
// caching layer does the same). Keys use the changelog layout of
// state/key_layout.hpp, the one `apply()` reads back on restore.
//
// One task's thread, like the stores they wrap; they own the wrapped store.

#include <boost/unordered/unordered_flat_map.hpp>
#include <memory>
#include <optional>

#include "state/kv_store.hpp"
#include "state/session_store.hpp"
#include "state/window_store.hpp"

namespace sluice::runtime {

// The changes of the open transaction, in changelog layout, latest per key.
class change_capture {
 public:
  using change_map = boost::unordered_flat_map<state::bytes, std::optional<state::bytes>,
                                               state::bytes_hash, state::bytes_equal>;

  // A key written again in the same transaction keeps its entry: its value is assigned in place
  // (no new key, no new string when the old one has room), which is most writes of a hot key.
  void record(state::bytes_view key, std::optional<state::bytes_view> value);
  void record(state::bytes&& key, std::optional<state::bytes_view> value);
  // Hands over the captured changes and forgets them; the next transaction starts with room for
  // as many keys, so that a steady load does not grow the map again every commit.
  change_map drain();
  void clear() { changes_.clear(); }
  bool empty() const { return changes_.empty(); }
  std::size_t size() const { return changes_.size(); }

 private:
  // Whether `key` was already captured; if so its value is now `value`.
  bool update_existing(state::bytes_view key, std::optional<state::bytes_view> value);

  change_map changes_;
};

// What the task needs of every changelogged store, whatever its kind.
class changelogged_store {
 public:
  virtual ~changelogged_store() = default;
  virtual state::state_store& store() = 0;
  virtual change_capture& changes() = 0;
};

// The state_store part every changelogging decorator shares: forwards to the wrapped store, and
// forgets the captured changes when the transaction aborts.
template <typename Store>
class changelogging_layer : public Store, public changelogged_store {
 public:
  explicit changelogging_layer(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  const std::string& name() const override { return inner_->name(); }
  std::size_t pending_writes() const override { return inner_->pending_writes(); }
  void commit(state::changelog_offset next_offset) override { inner_->commit(next_offset); }
  void flush_committed() override { inner_->flush_committed(); }
  void abort() override {
    inner_->abort();
    changes_.clear();
  }
  std::optional<state::changelog_offset> committed_offset() const override {
    return inner_->committed_offset();
  }
  void apply(std::span<const state::change> changes, state::changelog_offset next_offset) override {
    inner_->apply(changes, next_offset);
  }

  state::state_store& store() override { return *this; }
  change_capture& changes() override { return changes_; }

 protected:
  std::unique_ptr<Store> inner_;
  change_capture changes_;
};

class changelogged_kv_store final : public changelogging_layer<state::kv_store> {
 public:
  using changelogging_layer::changelogging_layer;

  std::optional<state::bytes> get(state::bytes_view key) const override { return inner_->get(key); }
  void put(state::bytes_view key, state::bytes_view value) override;
  void remove(state::bytes_view key) override;
  void range(state::bytes_view from, state::bytes_view to,
             const state::kv_visitor& visit) const override {
    inner_->range(from, to, visit);
  }
  void prefix_scan(state::bytes_view prefix, const state::kv_visitor& visit) const override {
    inner_->prefix_scan(prefix, visit);
  }
  void all(const state::kv_visitor& visit) const override { inner_->all(visit); }
};

class changelogged_window_store final : public changelogging_layer<state::window_store> {
 public:
  using changelogging_layer::changelogging_layer;

  bool put(state::bytes_view key, std::int64_t window_start, state::bytes_view value) override;
  void remove(state::bytes_view key, std::int64_t window_start) override;
  std::optional<state::bytes> fetch(state::bytes_view key,
                                    std::int64_t window_start) const override {
    return inner_->fetch(key, window_start);
  }
  void fetch(state::bytes_view key, std::int64_t time_from, std::int64_t time_to,
             const state::window_visitor& visit) const override {
    inner_->fetch(key, time_from, time_to, visit);
  }
  void fetch_all(std::int64_t time_from, std::int64_t time_to,
                 const state::window_visitor& visit) const override {
    inner_->fetch_all(time_from, time_to, visit);
  }
  void all(const state::window_visitor& visit) const override { inner_->all(visit); }
  std::chrono::milliseconds retention() const override { return inner_->retention(); }
  std::optional<std::int64_t> observed_stream_time() const override {
    return inner_->observed_stream_time();
  }
  std::uint64_t expired_drops() const override { return inner_->expired_drops(); }
};

class changelogged_session_store final : public changelogging_layer<state::session_store> {
 public:
  using changelogging_layer::changelogging_layer;

  bool put(state::bytes_view key, std::int64_t start, std::int64_t end,
           state::bytes_view value) override;
  void remove(state::bytes_view key, std::int64_t start, std::int64_t end) override;
  std::optional<state::bytes> fetch_session(state::bytes_view key, std::int64_t start,
                                            std::int64_t end) const override {
    return inner_->fetch_session(key, start, end);
  }
  void find_sessions(state::bytes_view key, std::int64_t time_from, std::int64_t time_to,
                     const state::session_visitor& visit) const override {
    inner_->find_sessions(key, time_from, time_to, visit);
  }
  void all(const state::session_visitor& visit) const override { inner_->all(visit); }
  std::chrono::milliseconds retention() const override { return inner_->retention(); }
  std::optional<std::int64_t> observed_stream_time() const override {
    return inner_->observed_stream_time();
  }
  std::uint64_t expired_drops() const override { return inner_->expired_drops(); }
};

}  // namespace sluice::runtime
