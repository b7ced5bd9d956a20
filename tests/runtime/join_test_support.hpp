#pragma once

// What the stream-table join tests share (join_it.cpp, standby_source_table_it.cpp): orders
// enriched with the latest customer record from a topic read as a table, producing JSON records
// a millisecond apart, reading the joined results back, and waiting for the group's committed
// offsets.

#include "tests/runtime/app_test_support.hpp"
#include "tests/runtime/delivery_checks.hpp"

namespace sluice::runtime::test_support {

inline operators::topology enrichment(
    const std::string& app, const std::string& orders, const std::string& customers,
    const std::string& output, operators::delivery_guarantee delivery,
    operators::table_restore restore_from = operators::table_restore::changelog) {
  auto t = json_source_pipeline(app, orders, delivery);
  t.tables.push_back({"customers",
                      customers,
                      operators::data_format::string,
                      operators::data_format::json,
                      {},
                      restore_from});
  operators::step join;
  join.kind = operators::step_kind::join;
  join.name = "with-customer";
  join.table = "customers";
  join.join = operators::join_kind::left;
  join.into = "customer";
  t.steps.push_back(join);
  t.sinks = {{output, operators::data_format::string, operators::data_format::json}};
  return t;
}

// Every record a millisecond after the one produced before it: a task takes its table's and its
// stream's records in timestamp order, so a customer update is applied before any order produced
// after it, however the two topics' fetches fall. The tests wait for the group's committed
// offsets before they produce an order, and under at_most_once those say fetched, not applied.
inline std::int64_t next_timestamp() {
  static std::int64_t produced = 0;
  return base_time() + produced++;
}

inline asio::awaitable<void> produce_json(
    asio::any_io_executor executor, std::string topic, std::int32_t partition,
    std::vector<std::pair<std::string, std::optional<std::string>>> records) {
  kafka::producer_config config;
  static_cast<kafka::client_config&>(config) = client();
  kafka::producer producer(executor, config);
  co_await producer.start();
  for (const auto& [key, value] : records) {
    std::optional<kafka::protocol::bytes> bytes;
    if (value) bytes = kafka::protocol::to_bytes(*value);
    co_await producer.send(topic, std::move(bytes), kafka::protocol::to_bytes(key),
                           kafka::partition_id{partition}, kafka::timestamp_ms{next_timestamp()});
  }
  co_await producer.flush();
  co_await producer.stop();
}

// order id -> the customer names it was joined with ("" for null), in log order, every output
// read_committed.
inline keyed_results joined(const std::string& output, std::int32_t partitions) {
  keyed_results out;
  read_committed_topic(output, partitions, [&](const kafka::consumer_record& r) {
    const auto value = json::parse(r.value_string()).as_object();
    const auto& customer = value.at("customer");
    out[std::to_string(value.at("id").as_int64())].push_back(
        customer.is_null() ? std::string() : std::string(customer.at("name").as_string()));
  });
  return out;
}

inline bool wait_for_outputs(const running_app& app, const std::string& output, std::size_t count,
                             std::int32_t partitions) {
  return wait_until(app, [&] { return distinct_results(joined(output, partitions)) >= count; });
}

inline asio::awaitable<std::map<kafka::topic_partition, kafka::committed_offset>> group_offsets(
    asio::any_io_executor executor, std::string group) {
  kafka::cluster cluster(executor, client());
  co_await cluster.start();
  kafka::admin_client admin(cluster);
  auto committed = co_await admin.list_group_offsets(group, std::nullopt);
  cluster.close();
  co_return committed;
}

// Until the group's committed offsets of `topic` reach `ends` (one per partition; one number:
// the same for every partition): the table records are applied.
inline bool wait_until_committed(const std::string& group, const std::string& topic,
                                 std::vector<std::int64_t> ends, std::int32_t partitions) {
  for (int attempt = 0; attempt < 60; ++attempt) {
    const auto committed = run_coroutine(
        [&](asio::any_io_executor executor) { return group_offsets(executor, group); });
    bool reached = true;
    for (std::int32_t p = 0; p < partitions; ++p) {
      auto found = committed.find({topic, p});
      const auto end = ends.at(std::min<std::size_t>(static_cast<std::size_t>(p), ends.size() - 1));
      reached = reached && found != committed.end() && found->second.offset >= end;
    }
    if (reached) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return false;
}

inline std::string order(int id) {
  return json::serialize(json::object{{"id", id}});
}
inline std::string customer(const char* name) {
  return json::serialize(json::object{{"name", name}});
}

}  // namespace sluice::runtime::test_support
