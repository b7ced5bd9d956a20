// Serdes, the typed layer and the metrics layer over byte stores.

#include "state/typed_stores.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <limits>

#include "state/in_memory_stores.hpp"
#include "state/json_serde.hpp"
#include "state/metered_stores.hpp"
#include "state/serdes.hpp"

namespace sluice::state {
namespace {

using namespace std::chrono_literals;

TEST(serdes, int64_and_double_use_kafkas_big_endian_encodings) {
  // Kafka's LongSerializer and DoubleSerializer write 8 bytes, most significant first.
  EXPECT_EQ(int64_serde::serialize(1), std::string("\0\0\0\0\0\0\0\x01", 8));
  EXPECT_EQ(int64_serde::serialize(-2), std::string("\xff\xff\xff\xff\xff\xff\xff\xfe", 8));
  EXPECT_EQ(double_serde::serialize(1.0), std::string("\x3f\xf0\0\0\0\0\0\0", 8));
  for (std::int64_t v :
       {std::int64_t{0}, std::int64_t{42}, std::numeric_limits<std::int64_t>::min()}) {
    EXPECT_EQ(int64_serde::deserialize(int64_serde::serialize(v)), v);
  }
  for (double v : {0.0, -0.5, 3.141592653589793, std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(double_serde::deserialize(double_serde::serialize(v)), v);
  }
  EXPECT_TRUE(std::isnan(double_serde::deserialize(double_serde::serialize(std::nan("")))));
  EXPECT_EQ(string_serde::deserialize(string_serde::serialize("héllo")), "héllo");
  EXPECT_EQ(bytes_serde::deserialize(std::string("\0\1", 2)), std::string("\0\1", 2));
}

TEST(serdes, bad_bytes_say_what_is_wrong) {
  try {
    int64_serde::deserialize("abc");
    FAIL();
  } catch (const store_error& e) {
    EXPECT_STREQ(e.what(), "int64: expected 8 bytes, got 3");
  }
  EXPECT_THROW(double_serde::deserialize(""), store_error);
  EXPECT_THROW(json_serde::deserialize("{\"open\": "), store_error);
}

TEST(serdes, json_round_trips_documents) {
  auto document = boost::json::parse(R"({"count":3,"tags":["a","b"],"avg":1.5,"none":null})");
  auto text = json_serde::serialize(document);
  EXPECT_EQ(json_serde::deserialize(text), document);
}

TEST(typed_stores, kv_store_serializes_keys_and_values) {
  auto bytes_store = make_in_memory_kv_store("typed");
  typed_kv_store<string_serde, int64_serde> counts(*bytes_store);
  counts.put("b", 2);
  counts.put("a", 1);
  counts.put("c", 3);
  EXPECT_EQ(counts.get("a"), 1);
  EXPECT_EQ(counts.get("zz"), std::nullopt);
  EXPECT_EQ(bytes_store->get("b"), int64_serde::serialize(2));  // the bytes below are Kafka's
  std::vector<std::pair<std::string, std::int64_t>> seen;
  counts.range("a", "c", [&](const std::string& key, std::int64_t value) {
    seen.emplace_back(key, value);
    return true;
  });
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::int64_t>>{{"a", 1}, {"b", 2}}));
  counts.remove("a");
  bytes_store->commit({1});
  seen.clear();
  counts.all([&](const std::string& key, std::int64_t value) {
    seen.emplace_back(key, value);
    return true;
  });
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::int64_t>>{{"b", 2}, {"c", 3}}));
}

TEST(typed_stores, a_value_that_does_not_decode_names_the_store) {
  auto bytes_store = make_in_memory_kv_store("mixed");
  bytes_store->put("k", "not eight bytes");
  typed_kv_store<string_serde, int64_serde> counts(*bytes_store);
  try {
    counts.get("k");
    FAIL();
  } catch (const store_error& e) {
    EXPECT_STREQ(e.what(), "store 'mixed': cannot read a value: int64: expected 8 bytes, got 15");
  }
}

TEST(typed_stores, window_store_with_json_values) {
  auto bytes_store = make_in_memory_window_store("json-windows", {1000ms, 100ms});
  typed_window_store<string_serde, json_serde> windows(*bytes_store);
  EXPECT_TRUE(windows.put("user", 100, boost::json::object{{"clicks", 2}}));
  EXPECT_TRUE(windows.put("user", 200, boost::json::object{{"clicks", 5}}));
  EXPECT_EQ(windows.fetch("user", 200), boost::json::value(boost::json::object{{"clicks", 5}}));
  std::vector<std::int64_t> starts;
  windows.fetch("user", 0, 1000,
                [&](const std::string&, std::int64_t start, const boost::json::value& v) {
                  EXPECT_TRUE(v.is_object());
                  starts.push_back(start);
                  return true;
                });
  EXPECT_EQ(starts, (std::vector<std::int64_t>{100, 200}));
}

TEST(typed_stores, session_store_with_double_values) {
  auto bytes_store = make_in_memory_session_store("sums", {1000ms, 100ms});
  typed_session_store<string_serde, double_serde> sums(*bytes_store);
  sums.put("k", 0, 10, 1.5);
  sums.put("k", 20, 30, 2.5);
  double total = 0;
  sums.find_sessions("k", 0, 100, [&](const std::string&, std::int64_t, std::int64_t, double v) {
    total += v;
    return true;
  });
  EXPECT_EQ(total, 4.0);
  EXPECT_EQ(sums.fetch_session("k", 20, 30), 2.5);
}

TEST(metered_stores, count_every_operation_and_keep_results) {
  metered_kv_store store(make_in_memory_kv_store("metered"));
  store.put("a", "1");
  store.put("b", "2");
  EXPECT_EQ(store.get("a"), "1");
  store.remove("b");
  store.all([](bytes_view, bytes_view) { return true; });
  EXPECT_EQ(store.metrics().pending_writes, 2u);
  store.commit({1});
  EXPECT_THROW(store.commit({0}), store_error);  // a failed call is counted too
  auto metrics = store.metrics();
  EXPECT_EQ(metrics[store_operation::put].count, 2u);
  EXPECT_EQ(metrics[store_operation::get].count, 1u);
  EXPECT_EQ(metrics[store_operation::remove].count, 1u);
  EXPECT_EQ(metrics[store_operation::scan].count, 1u);
  EXPECT_EQ(metrics[store_operation::commit].count, 2u);
  EXPECT_EQ(metrics[store_operation::abort].count, 0u);
  EXPECT_GE(metrics[store_operation::put].total_nanos, metrics[store_operation::put].max_nanos);
  EXPECT_EQ(metrics.pending_writes, 0u);
  EXPECT_EQ(store.name(), "metered");
  EXPECT_EQ(to_string(store_operation::commit), "commit");
}

TEST(metered_stores, windowed_stores_report_expired_drops) {
  metered_window_store windows(make_in_memory_window_store("late", {100ms, 10ms}));
  windows.put("a", 1000, "now");
  EXPECT_FALSE(windows.put("a", 10, "late"));
  EXPECT_EQ(windows.metrics().expired_drops, 1u);
  EXPECT_EQ(windows.metrics()[store_operation::put].count, 2u);
  metered_session_store sessions(make_in_memory_session_store("late-sessions", {100ms, 10ms}));
  sessions.put("a", 1000, 1000, "now");
  EXPECT_FALSE(sessions.put("a", 0, 10, "late"));
  EXPECT_EQ(sessions.metrics().expired_drops, 1u);
  EXPECT_THROW(metered_kv_store(nullptr), store_error);
}

}  // namespace
}  // namespace sluice::state
