#include "state/metered_stores.hpp"

#include <fmt/format.h>

#include <type_traits>

namespace sluice::state {
namespace {

// Records the latency of one operation when it leaves scope, also by an exception.
class timed {
 public:
  timed(store_metrics& metrics, store_operation operation)
      : metrics_(metrics), operation_(operation), start_(std::chrono::steady_clock::now()) {}
  ~timed() { metrics_.record(operation_, std::chrono::steady_clock::now() - start_); }
  timed(const timed&) = delete;
  timed& operator=(const timed&) = delete;

 private:
  store_metrics& metrics_;
  store_operation operation_;
  std::chrono::steady_clock::time_point start_;
};

template <class Store>
std::unique_ptr<Store> require(std::unique_ptr<Store> inner) {
  if (!inner) throw store_error("metered store: no store to wrap");
  return inner;
}

}  // namespace

template <typename Store>
metered_store<Store>::metered_store(std::unique_ptr<Store> inner)
    : inner_(require(std::move(inner))) {}

template <typename Store>
store_metrics_snapshot metered_store<Store>::metrics() const {
  auto out = metrics_.snapshot();
  out.pending_writes = inner_->pending_writes();
  if constexpr (!std::is_same_v<Store, kv_store>) out.expired_drops = inner_->expired_drops();
  return out;
}

template <typename Store>
void metered_store<Store>::commit(changelog_offset next_offset) {
  timed t(metrics_, store_operation::commit);
  inner_->commit(next_offset);
}

template <typename Store>
void metered_store<Store>::abort() {
  timed t(metrics_, store_operation::abort);
  inner_->abort();
}

template <typename Store>
void metered_store<Store>::apply(std::span<const change> changes, changelog_offset next_offset) {
  timed t(metrics_, store_operation::apply);
  inner_->apply(changes, next_offset);
}

template class metered_store<kv_store>;
template class metered_store<window_store>;
template class metered_store<session_store>;

// ---- key-value

std::optional<bytes> metered_kv_store::get(bytes_view key) const {
  timed t(metrics_, store_operation::get);
  return inner_->get(key);
}
void metered_kv_store::put(bytes_view key, bytes_view value) {
  timed t(metrics_, store_operation::put);
  inner_->put(key, value);
}
void metered_kv_store::remove(bytes_view key) {
  timed t(metrics_, store_operation::remove);
  inner_->remove(key);
}
void metered_kv_store::range(bytes_view from, bytes_view to, const kv_visitor& visit) const {
  timed t(metrics_, store_operation::scan);
  inner_->range(from, to, visit);
}
void metered_kv_store::prefix_scan(bytes_view prefix, const kv_visitor& visit) const {
  timed t(metrics_, store_operation::scan);
  inner_->prefix_scan(prefix, visit);
}
void metered_kv_store::all(const kv_visitor& visit) const {
  timed t(metrics_, store_operation::scan);
  inner_->all(visit);
}

// ---- window

bool metered_window_store::put(bytes_view key, std::int64_t window_start, bytes_view value) {
  timed t(metrics_, store_operation::put);
  return inner_->put(key, window_start, value);
}
void metered_window_store::remove(bytes_view key, std::int64_t window_start) {
  timed t(metrics_, store_operation::remove);
  inner_->remove(key, window_start);
}
std::optional<bytes> metered_window_store::fetch(bytes_view key, std::int64_t window_start) const {
  timed t(metrics_, store_operation::get);
  return inner_->fetch(key, window_start);
}
void metered_window_store::fetch(bytes_view key, std::int64_t time_from, std::int64_t time_to,
                                 const window_visitor& visit) const {
  timed t(metrics_, store_operation::scan);
  inner_->fetch(key, time_from, time_to, visit);
}
void metered_window_store::fetch_all(std::int64_t time_from, std::int64_t time_to,
                                     const window_visitor& visit) const {
  timed t(metrics_, store_operation::scan);
  inner_->fetch_all(time_from, time_to, visit);
}
void metered_window_store::all(const window_visitor& visit) const {
  timed t(metrics_, store_operation::scan);
  inner_->all(visit);
}

// ---- session

bool metered_session_store::put(bytes_view key, std::int64_t start, std::int64_t end,
                                bytes_view value) {
  timed t(metrics_, store_operation::put);
  return inner_->put(key, start, end, value);
}
void metered_session_store::remove(bytes_view key, std::int64_t start, std::int64_t end) {
  timed t(metrics_, store_operation::remove);
  inner_->remove(key, start, end);
}
std::optional<bytes> metered_session_store::fetch_session(bytes_view key, std::int64_t start,
                                                          std::int64_t end) const {
  timed t(metrics_, store_operation::get);
  return inner_->fetch_session(key, start, end);
}
void metered_session_store::find_sessions(bytes_view key, std::int64_t time_from,
                                          std::int64_t time_to,
                                          const session_visitor& visit) const {
  timed t(metrics_, store_operation::scan);
  inner_->find_sessions(key, time_from, time_to, visit);
}
void metered_session_store::all(const session_visitor& visit) const {
  timed t(metrics_, store_operation::scan);
  inner_->all(visit);
}

}  // namespace sluice::state
