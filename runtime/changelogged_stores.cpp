#include "runtime/changelogged_stores.hpp"

#include <algorithm>

#include "state/key_layout.hpp"

namespace sluice::runtime {
namespace {

// A burst of a million keys in one commit should not keep a map that size allocated for ever.
constexpr std::size_t max_keys_reserved = 65'536;

}  // namespace

bool change_capture::update_existing(state::bytes_view key,
                                     std::optional<state::bytes_view> value) {
  auto it = changes_.find(key);
  if (it == changes_.end()) return false;
  if (!value) {
    it->second.reset();
  } else if (it->second) {
    it->second->assign(*value);
  } else {
    it->second.emplace(*value);
  }
  return true;
}

void change_capture::record(state::bytes_view key, std::optional<state::bytes_view> value) {
  if (update_existing(key, value)) return;
  changes_.emplace(state::bytes(key), value ? std::optional<state::bytes>(*value) : std::nullopt);
}

void change_capture::record(state::bytes&& key, std::optional<state::bytes_view> value) {
  if (update_existing(key, value)) return;
  changes_.emplace(std::move(key), value ? std::optional<state::bytes>(*value) : std::nullopt);
}

change_capture::change_map change_capture::drain() {
  change_map drained;
  drained.swap(changes_);
  changes_.reserve(std::min(drained.size(), max_keys_reserved));
  return drained;
}

void changelogged_kv_store::put(state::bytes_view key, state::bytes_view value) {
  inner_->put(key, value);
  changes_.record(key, value);
}

void changelogged_kv_store::remove(state::bytes_view key) {
  inner_->remove(key);
  changes_.record(key, std::nullopt);
}

bool changelogged_window_store::put(state::bytes_view key, std::int64_t window_start,
                                    state::bytes_view value) {
  // An expired window is dropped (and counted) by the store; nothing to log then.
  if (!inner_->put(key, window_start, value)) return false;
  changes_.record(state::key_layout::window_key(key, window_start), value);
  return true;
}

void changelogged_window_store::remove(state::bytes_view key, std::int64_t window_start) {
  inner_->remove(key, window_start);
  changes_.record(state::key_layout::window_key(key, window_start), std::nullopt);
}

bool changelogged_session_store::put(state::bytes_view key, std::int64_t start, std::int64_t end,
                                     state::bytes_view value) {
  if (!inner_->put(key, start, end, value)) return false;
  changes_.record(state::key_layout::session_key(key, start, end), value);
  return true;
}

void changelogged_session_store::remove(state::bytes_view key, std::int64_t start,
                                        std::int64_t end) {
  inner_->remove(key, start, end);
  changes_.record(state::key_layout::session_key(key, start, end), std::nullopt);
}

}  // namespace sluice::runtime
