#pragma once

// aggregate_state_cache: the aggregate states an aggregator wrote last, decoded, so that the next
// record of the same key (and window) takes its state from here instead of reading the store and
// parsing the JSON text again (a store read through every layer, a copy of the bytes and a parse
// per record were a fifth of the windowed count's CPU, issue 13).
//
// It holds only what the store holds: the aggregator writes through (the store still gets every
// new state as JSON text, so the changelog and the transaction see every update, as before), and
// remembers a state only after writing it. It can hold nothing the store does not, because each
// aggregator is the only writer of its state store, restores happen before the aggregator exists,
// and an abort (which rolls the stores back) destroys the aggregator with its cache
// (runtime/task.cpp, abort_stores): a new one starts empty.
//
// Exactness: a state is remembered only if it would come back from its JSON text identical
// (null, bool, int64, strings, arrays and objects of those). Doubles are not remembered (the
// parser's rounding could differ from the value in memory in the last bit), nor unsigned numbers
// (text of one at most INT64_MAX parses back as int64): for those the store's text stays the
// source, as before, and the result of a record never depends on whether it hit the cache.
//
// Bounded: two generations of at most `generation_size` entries each; a hit in the older one moves
// to the newer, and when the newer is full the older is dropped (an approximation of LRU, as in
// state/cached_table.hpp). One task's thread, like the aggregator that owns it.

#include <boost/json/value.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::operators {

class aggregate_state_cache {
 public:
  // 2 x 8192 states per aggregator (a task's): a few MB at most for small states.
  static constexpr std::size_t default_generation_size = 8192;

  explicit aggregate_state_cache(std::size_t generation_size = default_generation_size)
      : generation_size_(generation_size) {}

  // The state stored for (key, window start), taken out of the cache (call remember() after
  // writing it back); nullopt when the cache does not hold it: read the store. Table aggregations
  // pass start 0.
  std::optional<boost::json::value> take(std::string_view key, std::int64_t start);
  // After the store was written: `state` is now what it holds for (key, start). Call take() for
  // the same (key, start) first, so that the older generation holds no stale copy.
  void remember(std::string_view key, std::int64_t start, boost::json::value state);
  // Whether `state` parses back from its JSON text identical (see above).
  static bool survives_text(const boost::json::value& state);

 private:
  struct state_key {
    std::string key;  // the group key's bytes, as in the store
    std::int64_t start = 0;
  };
  struct state_key_view {
    std::string_view key;
    std::int64_t start = 0;
  };
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(const state_key_view& k) const;
    std::size_t operator()(const state_key& k) const {
      return (*this)(state_key_view{k.key, k.start});
    }
  };
  struct key_equal {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return a.start == b.start && std::string_view(a.key) == std::string_view(b.key);
    }
  };
  using generation = boost::unordered_flat_map<state_key, boost::json::value, key_hash, key_equal>;

  std::size_t generation_size_;
  generation newer_;
  generation older_;
};

}  // namespace sluice::operators
