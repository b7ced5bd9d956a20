#pragma once

// The Prometheus text of one running application (docs/operations.md lists every metric): the
// counters and histograms of runtime_metrics, and gauges read from the tasks and the clients when
// scraped (consumer lag, tasks running and restoring, restore progress per store, RocksDB memory
// against its budget). Every metric carries the `pipeline` label. Called on the apps' thread.

#include <memory>
#include <string>
#include <vector>

#include "runtime/runtime_metrics.hpp"

namespace sluice::kafka {
class consumer;
}
namespace sluice::state::rocksdb {
class memory_budget;
}

namespace sluice::runtime {

class task_manager;
class kafka_producer_port;

// What a scrape reads; the pointers are null until the app has made them.
struct metrics_sources {
  std::string pipeline;
  std::string thread;  // the `thread` label (a pipeline on several stream threads); empty: none
  const runtime_metrics* metrics = nullptr;
  const task_manager* tasks = nullptr;
  const kafka::consumer* consumer = nullptr;
  bool read_committed = false;  // lag against the last stable offset instead of the high watermark
  const kafka_producer_port* producer = nullptr;
  const state::rocksdb::memory_budget* memory = nullptr;
  bool ready = false;
  // The producers of sinks on other clusters; the producer metrics count them with `producer`.
  std::vector<const kafka_producer_port*> other_producers;
};

// One exposition for one or several apps (one `sluice run` of several pipelines or threads),
// built app by app: add() runs on each app's thread in turn (the caller orders them), text() once.
class exposition {
 public:
  exposition();
  ~exposition();
  exposition(const exposition&) = delete;
  exposition& operator=(const exposition&) = delete;
  void add(const metrics_sources& app);
  std::string text() const;
  class families;  // metrics_exposition.cpp's

 private:
  std::unique_ptr<families> families_;
};

// All apps on the calling thread.
std::string prometheus_text(const std::vector<metrics_sources>& apps);

}  // namespace sluice::runtime
