// Randomised model checks: thousands of operations (puts, removes, commits, aborts, restores)
// against every backend and against a plain std::map model of the store's contract, comparing
// every read. Deterministic seeds, so a failure is reproducible by its seed.

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "state/key_layout.hpp"
#include "tests/state/store_test_support.hpp"

namespace sluice::state::test {
namespace {

using namespace std::chrono_literals;

template <class Backend>
class store_model : public ::testing::Test {
 protected:
  Backend backend;
};

using backends = ::testing::Types<memory_backend, rocksdb_backend>;

class backend_names {
 public:
  template <class T>
  static std::string GetName(int) {
    return std::is_same_v<T, memory_backend> ? "memory" : "rocksdb";
  }
};

TYPED_TEST_SUITE(store_model, backends, backend_names);

// Keys chosen to exercise byte order: empty, NUL, 0xFF, and keys that prefix each other.
const std::vector<std::string> model_keys{"",     std::string("\0", 1),  "a",  "ab", "abc", "b",
                                          "\xff", std::string("a\0", 2), "zz", "k"};

// The contract of kv_store as a pair of maps: committed, and the buffer over it.
struct kv_model {
  std::map<std::string, std::string> committed;
  std::map<std::string, std::optional<std::string>> pending;

  std::map<std::string, std::string> visible() const {
    auto out = committed;
    for (const auto& [key, value] : pending) {
      if (value) {
        out[key] = *value;
      } else {
        out.erase(key);
      }
    }
    return out;
  }
  void commit() {
    committed = visible();
    pending.clear();
  }
};

TYPED_TEST(store_model, kv_store_matches_the_model) {
  for (std::uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto store = this->backend.kv("model-" + std::to_string(seed));
    kv_model model;
    std::mt19937 random(seed);
    auto pick = [&] { return model_keys[random() % model_keys.size()]; };
    std::int64_t offset = 0;
    for (int step = 0; step < 3000; ++step) {
      auto op = random() % 100;
      if (op < 45) {
        auto key = pick();
        auto value = std::to_string(step);
        store->put(key, value);
        model.pending[key] = value;
      } else if (op < 60) {
        auto key = pick();
        store->remove(key);
        model.pending[key] = std::nullopt;
      } else if (op < 66) {
        store->commit({++offset});
        model.commit();
      } else if (op < 68) {
        store->abort();
        model.pending.clear();
      } else if (op < 70 && model.pending.empty()) {
        std::vector<change> changes{{pick(), std::to_string(step)}, {pick(), std::nullopt}};
        store->apply(changes, {++offset});
        for (const auto& c : changes) model.pending[c.key] = c.value;
        model.commit();
      } else if (op < 85) {
        auto key = pick();
        auto visible = model.visible();
        auto it = visible.find(key);
        auto expected = it == visible.end() ? std::nullopt : std::optional<std::string>(it->second);
        ASSERT_EQ(store->get(key), expected) << "step " << step;
      } else {
        auto from = pick();
        auto to = pick();
        kv_rows expected;
        for (const auto& [key, value] : model.visible()) {
          if (key >= from && key < to) expected.emplace_back(key, value);
        }
        ASSERT_EQ(range_rows(*store, from, to), expected) << "step " << step;
        kv_rows with_prefix;
        for (const auto& [key, value] : model.visible()) {
          if (key.starts_with(from)) with_prefix.emplace_back(key, value);
        }
        ASSERT_EQ(prefix_rows(*store, from), with_prefix) << "step " << step;
      }
    }
    auto visible = model.visible();
    kv_rows expected(visible.begin(), visible.end());
    EXPECT_EQ(all_rows(*store), expected);
    EXPECT_EQ(store->committed_offset(), changelog_offset{offset});
  }
}

// The contract of window_store: windows keyed by window key bytes, stream time from puts,
// expiry at start <= stream time - retention, both for the buffer and the committed state.
struct window_model {
  std::int64_t retention = 0;
  std::map<std::string, std::string> committed;  // window key -> value
  std::map<std::string, std::optional<std::string>> pending;
  std::optional<std::int64_t> committed_stream_time;
  std::optional<std::int64_t> stream_time;

  std::int64_t live_from() const {
    return stream_time ? std::max<std::int64_t>(0, *stream_time - retention + 1) : 0;
  }
  bool put(const std::string& key, std::int64_t start, const std::string& value) {
    if (start < live_from()) return false;
    pending[key_layout::window_key(key, start)] = value;
    if (!stream_time || start > *stream_time) stream_time = start;
    return true;
  }
  void remove(const std::string& key, std::int64_t start) {
    if (start < live_from()) return;
    pending[key_layout::window_key(key, start)] = std::nullopt;
  }
  window_rows visible(std::int64_t from, std::int64_t to) const {
    auto merged = committed;
    for (const auto& [key, value] : pending) {
      if (value) {
        merged[key] = *value;
      } else {
        merged.erase(key);
      }
    }
    window_rows out;
    for (const auto& [encoded, value] : merged) {
      auto parts = key_layout::parse_window_key(encoded);
      if (parts->window_start < live_from() || parts->window_start < from ||
          parts->window_start > to) {
        continue;
      }
      out.emplace_back(std::string(parts->key), parts->window_start, value);
    }
    return out;
  }
  void commit() {
    for (const auto& [key, value] : pending) {
      if (value) {
        committed[key] = *value;
      } else {
        committed.erase(key);
      }
    }
    pending.clear();
    committed_stream_time = stream_time;
    std::erase_if(committed, [&](const auto& entry) {
      return key_layout::parse_window_key(entry.first)->window_start < live_from();
    });
  }
  void abort() {
    pending.clear();
    stream_time = committed_stream_time;
  }
};

TYPED_TEST(store_model, window_store_matches_the_model) {
  for (std::uint32_t seed : {11u, 12u, 13u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    // 7 ms segments under 50 ms retention: entries straddle segment and retention boundaries.
    auto store = this->backend.window("windows-" + std::to_string(seed), {50ms, 7ms});
    window_model model{50};
    std::mt19937 random(seed);
    auto pick = [&] { return model_keys[random() % model_keys.size()]; };
    std::int64_t clock = 0;  // moves forward mostly, so data keeps expiring
    // Around the stream time, with some late ones.
    auto time = [&] {
      return std::max<std::int64_t>(0, clock + static_cast<std::int64_t>(random() % 80) - 60);
    };
    std::int64_t offset = 0;
    for (int step = 0; step < 3000; ++step) {
      if (random() % 4 == 0) clock += static_cast<std::int64_t>(random() % 5);
      auto op = random() % 100;
      if (op < 45) {
        auto key = pick();
        auto start = time();
        auto value = std::to_string(step);
        ASSERT_EQ(store->put(key, start, value), model.put(key, start, value)) << "step " << step;
      } else if (op < 55) {
        auto key = pick();
        auto start = time();
        store->remove(key, start);
        model.remove(key, start);
      } else if (op < 62) {
        store->commit({++offset});
        model.commit();
      } else if (op < 65) {
        store->abort();
        model.abort();
      } else if (op < 80) {
        auto key = pick();
        auto from = time();
        auto to = from + static_cast<std::int64_t>(random() % 40);
        window_rows expected;
        for (const auto& row : model.visible(from, to)) {
          if (std::get<0>(row) == key) expected.push_back(row);
        }
        std::sort(expected.begin(), expected.end(),
                  [](const auto& a, const auto& b) { return std::get<1>(a) < std::get<1>(b); });
        ASSERT_EQ(fetch_rows(*store, key, from, to), expected) << "step " << step;
      } else if (op < 90) {
        auto from = time();
        auto to = from + static_cast<std::int64_t>(random() % 40);
        ASSERT_EQ(fetch_all_rows(*store, from, to), model.visible(from, to)) << "step " << step;
      } else {
        auto key = pick();
        auto start = time();
        auto rows = model.visible(start, start);
        std::optional<std::string> expected;
        for (const auto& row : rows) {
          if (std::get<0>(row) == key) expected = std::get<2>(row);
        }
        ASSERT_EQ(store->fetch(key, start), expected) << "step " << step;
      }
      ASSERT_EQ(store->observed_stream_time(), model.stream_time) << "step " << step;
    }
    EXPECT_EQ(all_rows(*store), model.visible(0, std::numeric_limits<std::int64_t>::max()));
  }
}

// The contract of session_store: sessions keyed by session key bytes, stream time and expiry
// on session ends, overlap queries end >= from and start <= to.
struct session_model {
  std::int64_t retention = 0;
  std::map<std::string, std::string> committed;  // session key -> value
  std::map<std::string, std::optional<std::string>> pending;
  std::optional<std::int64_t> committed_stream_time;
  std::optional<std::int64_t> stream_time;

  std::int64_t live_from() const {
    return stream_time ? std::max<std::int64_t>(0, *stream_time - retention + 1) : 0;
  }
  session_rows visible() const {
    auto merged = committed;
    for (const auto& [key, value] : pending) {
      if (value) {
        merged[key] = *value;
      } else {
        merged.erase(key);
      }
    }
    session_rows out;
    for (const auto& [encoded, value] : merged) {
      auto parts = key_layout::parse_session_key(encoded);
      if (parts->end < live_from()) continue;
      out.emplace_back(std::string(parts->key), parts->start, parts->end, value);
    }
    return out;
  }
  void commit() {
    for (const auto& [key, value] : pending) {
      if (value) {
        committed[key] = *value;
      } else {
        committed.erase(key);
      }
    }
    pending.clear();
    committed_stream_time = stream_time;
  }
};

TYPED_TEST(store_model, session_store_matches_the_model) {
  for (std::uint32_t seed : {21u, 22u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto store = this->backend.session("sessions-" + std::to_string(seed), {50ms, 7ms});
    session_model model{50};
    std::mt19937 random(seed);
    auto pick = [&] { return model_keys[random() % model_keys.size()]; };
    std::int64_t clock = 0;
    auto time = [&] {
      return std::max<std::int64_t>(0, clock + static_cast<std::int64_t>(random() % 80) - 60);
    };
    std::int64_t offset = 0;
    for (int step = 0; step < 3000; ++step) {
      if (random() % 4 == 0) clock += static_cast<std::int64_t>(random() % 5);
      auto op = random() % 100;
      auto key = pick();
      auto start = time();
      auto end = start + static_cast<std::int64_t>(random() % 15);
      if (op < 45) {
        auto value = std::to_string(step);
        bool live = end >= model.live_from();
        ASSERT_EQ(store->put(key, start, end, value), live) << "step " << step;
        if (live) {
          model.pending[key_layout::session_key(key, start, end)] = value;
          if (!model.stream_time || end > *model.stream_time) model.stream_time = end;
        }
      } else if (op < 55) {
        // Remove a session that exists, if the key has one.
        for (const auto& [k, s, e, v] : model.visible()) {
          if (k == key) {
            store->remove(k, s, e);
            model.pending[key_layout::session_key(k, s, e)] = std::nullopt;
            break;
          }
        }
      } else if (op < 62) {
        store->commit({++offset});
        model.commit();
      } else if (op < 65) {
        store->abort();
        model.pending.clear();
        model.stream_time = model.committed_stream_time;
      } else if (op < 90) {
        auto from = start;
        auto to = end + static_cast<std::int64_t>(random() % 20);
        session_rows expected;
        for (const auto& row : model.visible()) {
          const auto& [k, s, e, v] = row;
          if (k == key && e >= from && s <= to) expected.push_back(row);
        }
        ASSERT_EQ(find_rows(*store, key, from, to), expected) << "step " << step;
      } else {
        ASSERT_EQ(all_rows(*store), model.visible()) << "step " << step;
      }
      ASSERT_EQ(store->observed_stream_time(), model.stream_time) << "step " << step;
    }
  }
}

}  // namespace
}  // namespace sluice::state::test
