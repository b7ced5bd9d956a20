#include "operators/aggregate_state_cache.hpp"

#include <functional>
#include <utility>

namespace sluice::operators {

std::size_t aggregate_state_cache::key_hash::operator()(const state_key_view& k) const {
  // The window start spreads a key's windows; the multiplier is the 64-bit golden ratio.
  constexpr std::uint64_t golden = 0x9E3779B97F4A7C15ULL;
  return std::hash<std::string_view>{}(k.key) ^
         static_cast<std::size_t>(static_cast<std::uint64_t>(k.start) * golden);
}

std::optional<boost::json::value> aggregate_state_cache::take(std::string_view key,
                                                              std::int64_t start) {
  const state_key_view wanted{key, start};
  for (auto* gen : {&newer_, &older_}) {
    if (auto it = gen->find(wanted); it != gen->end()) {
      std::optional<boost::json::value> state(std::move(it->second));
      gen->erase(it);
      return state;
    }
  }
  return std::nullopt;
}

void aggregate_state_cache::remember(std::string_view key, std::int64_t start,
                                     boost::json::value state) {
  if (!survives_text(state)) {
    const state_key_view stale{key, start};  // the store's text stays the only copy
    newer_.erase(stale);
    older_.erase(stale);
    return;
  }
  if (newer_.size() >= generation_size_) {
    older_ = std::move(newer_);
    newer_ = generation{};
  }
  newer_.insert_or_assign(state_key{std::string(key), start}, std::move(state));
}

bool aggregate_state_cache::survives_text(const boost::json::value& state) {
  switch (state.kind()) {
    case boost::json::kind::null:
    case boost::json::kind::bool_:
    case boost::json::kind::int64:
    case boost::json::kind::string:
      return true;
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return false;
    case boost::json::kind::array:
      for (const auto& v : state.get_array()) {
        if (!survives_text(v)) return false;
      }
      return true;
    case boost::json::kind::object:
      for (const auto& member : state.get_object()) {
        if (!survives_text(member.value())) return false;
      }
      return true;
  }
  return false;
}

}  // namespace sluice::operators
