// The seeds' local-state consumer (aiokafka's local_state_consumer.py): counts the records per
// key of each partition and keeps the counts, with the last offset they include, in a JSON file
// per partition instead of committing offsets to Kafka. A rebalance listener saves the state
// before partitions are revoked and, for the partitions assigned, loads it and seeks to the
// offset after the last one counted (or to the beginning when there is no state). The state is
// also saved every second. A saved offset outside the log (the records were deleted) is detected
// with auto_offset_reset none: that partition's state is dropped and it is read again from the
// beginning.
//
//   local_state_consumer BOOTSTRAP TOPIC [GROUP [SECONDS]]
//
// GROUP defaults to my_group; it runs SECONDS seconds (default: until killed). Files:
// /tmp/my-partition-state-<topic>-<partition>.json, e.g.
// {"last_offset":4,"counts":{"123123":1,"4444":1,"321":2,"5555":1}}
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "examples/run_example.hpp"
#include "kafka/consumer/consumer.hpp"
#include "kafka/protocol/error_code.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace sluice::kafka;

std::string file_name(const topic_partition& tp) {
  return "/tmp/my-partition-state-" + tp.topic + "-" + std::to_string(tp.partition) + ".json";
}

// Printed as aiokafka prints a TopicPartition.
std::string describe(const topic_partition& tp) {
  return "TopicPartition(topic='" + tp.topic + "', partition=" + std::to_string(tp.partition) + ")";
}

std::string describe(const std::vector<topic_partition>& partitions) {
  if (partitions.empty()) return "set()";
  std::string out = "{";
  for (const auto& tp : partitions) out += (out.size() > 1 ? ", " : "") + describe(tp);
  return out + "}";
}

class local_state {
 public:
  void dump() const {
    for (const auto& [tp, counts] : counts_) {
      json::object state;
      state["last_offset"] = offsets_.at(tp);
      json::object by_key;
      for (const auto& [key, count] : counts) by_key[key] = count;
      state["counts"] = std::move(by_key);
      std::ofstream(file_name(tp)) << json::serialize(state);
    }
  }

  void load(const std::vector<topic_partition>& partitions) {
    counts_.clear();
    offsets_.clear();
    for (const auto& tp : partitions) {
      std::int64_t last_offset = -1;  // none: read from the beginning
      std::map<std::string, std::int64_t> counts;
      std::ifstream file(file_name(tp));
      if (file) {
        std::stringstream text;
        text << file.rdbuf();
        boost::system::error_code error;
        auto value = json::parse(text.str(), error);
        // A broken file counts as no state, as json.JSONDecodeError does in the original.
        if (!error && value.is_object()) {
          const auto& state = value.as_object();
          if (const auto* offset = state.if_contains("last_offset"); offset && offset->is_int64())
            last_offset = offset->as_int64();
          if (const auto* saved = state.if_contains("counts"); saved && saved->is_object()) {
            for (const auto& [key, count] : saved->as_object())
              if (count.is_int64()) counts[std::string(key)] = count.as_int64();
          }
        }
      }
      counts_[tp] = std::move(counts);
      offsets_[tp] = last_offset;
    }
  }

  void add_counts(const topic_partition& tp, const std::map<std::string, std::int64_t>& counts,
                  std::int64_t last_offset) {
    for (const auto& [key, count] : counts) counts_[tp][key] += count;
    offsets_[tp] = last_offset;
  }

  std::int64_t last_offset(const topic_partition& tp) const {
    auto it = offsets_.find(tp);
    return it == offsets_.end() ? -1 : it->second;
  }

  void discard(const std::vector<topic_partition>& partitions) {
    for (const auto& tp : partitions) {
      offsets_[tp] = -1;
      counts_[tp].clear();
    }
  }

 private:
  std::map<topic_partition, std::map<std::string, std::int64_t>> counts_;
  std::map<topic_partition, std::int64_t> offsets_;
};

class rebalance_printer : public rebalance_listener {
 public:
  rebalance_printer(consumer& c, local_state& state) : consumer_(c), state_(state) {}

  asio::awaitable<void> on_partitions_revoked(std::vector<topic_partition> revoked) override {
    std::cout << "Revoked " << describe(revoked) << std::endl;
    state_.dump();
    co_return;
  }

  asio::awaitable<void> on_partitions_assigned(std::vector<topic_partition> assigned) override {
    std::cout << "Assigned " << describe(assigned) << std::endl;
    state_.load(assigned);
    for (const auto& tp : assigned) {
      const auto last = state_.last_offset(tp);
      if (last < 0) {
        std::vector<topic_partition> one(1, tp);
        co_await consumer_.seek_to_beginning(std::move(one));
      } else {
        consumer_.seek(tp, log_offset{last + 1});
      }
    }
  }

 private:
  consumer& consumer_;
  local_state& state_;
};

// With auto_offset_reset none, getmany names the out-of-range partitions only in its message:
// find them by comparing the saved positions with the log's range.
asio::awaitable<std::vector<topic_partition>> out_of_range(consumer& c, const local_state& state) {
  std::vector<topic_partition> assigned;
  for (const auto& tp : c.assignment()) assigned.push_back(tp);
  auto begin = co_await c.beginning_offsets(assigned);
  auto end = co_await c.end_offsets(assigned);
  std::vector<topic_partition> stale;
  for (const auto& tp : assigned) {
    const auto next = state.last_offset(tp) + 1;
    if (state.last_offset(tp) >= 0 && (next < begin.at(tp).value() || next > end.at(tp).value()))
      stale.push_back(tp);
  }
  co_return stale;
}

asio::awaitable<void> consume(asio::any_io_executor executor, std::string bootstrap,
                              std::string topic, std::string group, int seconds) {
  consumer_config config;
  config.bootstrap_servers = parse_bootstrap_servers(bootstrap);
  config.group_id = group;            // a consumer must be in a group to get partitions
  config.enable_auto_commit = false;  // the offsets live in the files
  config.offset_reset = auto_offset_reset::none;
  consumer c(executor, config);
  co_await c.start();

  local_state state;
  auto listener = std::make_shared<rebalance_printer>(c, state);
  std::vector<std::string> topics(1, topic);
  c.subscribe(topics, listener);

  const auto until = seconds > 0 ? std::chrono::steady_clock::now() + std::chrono::seconds(seconds)
                                 : std::chrono::steady_clock::time_point::max();
  auto last_save = std::chrono::steady_clock::now();
  std::exception_ptr failure;
  try {
    while (std::chrono::steady_clock::now() < until) {
      std::vector<consumer_record> records;
      bool stale = false;
      try {
        records = co_await c.getmany(std::chrono::milliseconds(1000));
      } catch (const kafka_error& e) {
        if (e.kafka_code() != error_code::offset_out_of_range) throw;
        stale = true;  // the saved file is outdated: handled below (no co_await in a catch)
      }
      if (stale) {
        auto partitions = co_await out_of_range(c, state);
        state.discard(partitions);
        co_await c.seek_to_beginning(partitions);
        continue;
      }
      std::map<topic_partition, std::map<std::string, std::int64_t>> counts;
      std::map<topic_partition, std::int64_t> last_offsets;
      for (const auto& record : records) {
        topic_partition tp{std::string(record.topic), record.partition};
        std::cout << "Process " << describe(tp) << " " << record.key_string() << std::endl;
        ++counts[tp][std::string(record.key_string())];
        last_offsets[tp] = record.offset;
      }
      for (const auto& [tp, by_key] : counts) state.add_counts(tp, by_key, last_offsets[tp]);
      if (std::chrono::steady_clock::now() - last_save >= std::chrono::seconds(1)) {
        state.dump();
        last_save = std::chrono::steady_clock::now();
      }
    }
  } catch (...) {
    failure = std::current_exception();
  }
  // stop() revokes the partitions through the listener, which saves the state.
  co_await c.stop();
  state.dump();
  if (failure) std::rethrow_exception(failure);
}

int main(int argc, char** argv) {
  // The client's log lines (group joins) go to stderr; stdout is the demo's output.
  spdlog::set_default_logger(spdlog::stderr_color_mt("stderr"));
  return run_example(argc >= 3 && argc <= 5,
                     "local_state_consumer BOOTSTRAP TOPIC [GROUP [SECONDS]]",
                     [&](asio::any_io_executor executor) {
                       return consume(executor, argv[1], argv[2], argc > 3 ? argv[3] : "my_group",
                                      argc > 4 ? std::stoi(argv[4]) : 0);
                     });
}
