#pragma once

// Typed views over byte stores: the top layer of the stack (docs/architecture.md "State"), which
// user processors put over the stores their context hands out (the runtime hands out the
// changelogged byte stores). They serialize keys and values with serdes and forward to the byte
// store below; transactions (commit, abort, apply) stay on the byte store, which the task owns.
// A typed view holds a reference: it must not outlive its store. One task's thread.
//
// Deserialization failures throw store_error naming the store and whether the key or the value
// was bad.

#include <fmt/format.h>

#include <functional>
#include <optional>

#include "state/kv_store.hpp"
#include "state/serdes.hpp"
#include "state/session_store.hpp"
#include "state/window_store.hpp"

namespace sluice::state {

namespace detail {
template <serde S>
typename S::value_type decode(bytes_view data, const std::string& store, const char* field) {
  try {
    return S::deserialize(data);
  } catch (const store_error& e) {
    throw store_error(fmt::format("store '{}': cannot read a {}: {}", store, field, e.what()));
  }
}
}  // namespace detail

template <serde KeySerde, serde ValueSerde>
class typed_kv_store {
 public:
  using key_type = typename KeySerde::value_type;
  using value_type = typename ValueSerde::value_type;
  using visitor = std::function<bool(const key_type&, const value_type&)>;

  explicit typed_kv_store(kv_store& store) : store_(store) {}

  std::optional<value_type> get(const key_type& key) const {
    auto found = store_.get(KeySerde::serialize(key));
    if (!found) return std::nullopt;
    return detail::decode<ValueSerde>(*found, store_.name(), "value");
  }
  void put(const key_type& key, const value_type& value) {
    store_.put(KeySerde::serialize(key), ValueSerde::serialize(value));
  }
  void remove(const key_type& key) { store_.remove(KeySerde::serialize(key)); }
  // [from, to) in serialized byte order.
  void range(const key_type& from, const key_type& to, const visitor& visit) const {
    store_.range(KeySerde::serialize(from), KeySerde::serialize(to), adapt(visit));
  }
  // Keys whose serialized bytes start with `prefix`'s serialized bytes.
  void prefix_scan(const key_type& prefix, const visitor& visit) const {
    store_.prefix_scan(KeySerde::serialize(prefix), adapt(visit));
  }
  void all(const visitor& visit) const { store_.all(adapt(visit)); }

  kv_store& bytes_store() const { return store_; }

 private:
  kv_visitor adapt(const visitor& visit) const {
    return [this, &visit](bytes_view key, bytes_view value) {
      return visit(detail::decode<KeySerde>(key, store_.name(), "key"),
                   detail::decode<ValueSerde>(value, store_.name(), "value"));
    };
  }

  kv_store& store_;
};

template <serde KeySerde, serde ValueSerde>
class typed_window_store {
 public:
  using key_type = typename KeySerde::value_type;
  using value_type = typename ValueSerde::value_type;
  using visitor =
      std::function<bool(const key_type&, std::int64_t window_start, const value_type&)>;

  explicit typed_window_store(window_store& store) : store_(store) {}

  bool put(const key_type& key, std::int64_t window_start, const value_type& value) {
    return store_.put(KeySerde::serialize(key), window_start, ValueSerde::serialize(value));
  }
  void remove(const key_type& key, std::int64_t window_start) {
    store_.remove(KeySerde::serialize(key), window_start);
  }
  std::optional<value_type> fetch(const key_type& key, std::int64_t window_start) const {
    auto found = store_.fetch(KeySerde::serialize(key), window_start);
    if (!found) return std::nullopt;
    return detail::decode<ValueSerde>(*found, store_.name(), "value");
  }
  void fetch(const key_type& key, std::int64_t time_from, std::int64_t time_to,
             const visitor& visit) const {
    store_.fetch(KeySerde::serialize(key), time_from, time_to, adapt(visit));
  }
  void fetch_all(std::int64_t time_from, std::int64_t time_to, const visitor& visit) const {
    store_.fetch_all(time_from, time_to, adapt(visit));
  }
  void all(const visitor& visit) const { store_.all(adapt(visit)); }

  window_store& bytes_store() const { return store_; }

 private:
  window_visitor adapt(const visitor& visit) const {
    return [this, &visit](bytes_view key, std::int64_t start, bytes_view value) {
      return visit(detail::decode<KeySerde>(key, store_.name(), "key"), start,
                   detail::decode<ValueSerde>(value, store_.name(), "value"));
    };
  }

  window_store& store_;
};

template <serde KeySerde, serde ValueSerde>
class typed_session_store {
 public:
  using key_type = typename KeySerde::value_type;
  using value_type = typename ValueSerde::value_type;
  using visitor =
      std::function<bool(const key_type&, std::int64_t start, std::int64_t end, const value_type&)>;

  explicit typed_session_store(session_store& store) : store_(store) {}

  bool put(const key_type& key, std::int64_t start, std::int64_t end, const value_type& value) {
    return store_.put(KeySerde::serialize(key), start, end, ValueSerde::serialize(value));
  }
  void remove(const key_type& key, std::int64_t start, std::int64_t end) {
    store_.remove(KeySerde::serialize(key), start, end);
  }
  std::optional<value_type> fetch_session(const key_type& key, std::int64_t start,
                                          std::int64_t end) const {
    auto found = store_.fetch_session(KeySerde::serialize(key), start, end);
    if (!found) return std::nullopt;
    return detail::decode<ValueSerde>(*found, store_.name(), "value");
  }
  void find_sessions(const key_type& key, std::int64_t time_from, std::int64_t time_to,
                     const visitor& visit) const {
    store_.find_sessions(KeySerde::serialize(key), time_from, time_to, adapt(visit));
  }
  void all(const visitor& visit) const { store_.all(adapt(visit)); }

  session_store& bytes_store() const { return store_; }

 private:
  session_visitor adapt(const visitor& visit) const {
    return [this, &visit](bytes_view key, std::int64_t start, std::int64_t end, bytes_view value) {
      return visit(detail::decode<KeySerde>(key, store_.name(), "key"), start, end,
                   detail::decode<ValueSerde>(value, store_.name(), "value"));
    };
  }

  session_store& store_;
};

}  // namespace sluice::state
