#pragma once

// sub_topology_harness: one planned sub-topology run over in-memory stores, as a task runs it, for
// the join tests: feed() a record of any of its topics and get "key value @timestamp" per result
// ("<null>" for a null key or value), restart() as a restarted task does, abort() as an aborted
// transaction does. process() hands over the encoded outputs, headers included, for a test that
// feeds them to the next sub-topology.

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "operators/function_registry.hpp"
#include "operators/store_provider.hpp"
#include "operators/sub_topology_processor.hpp"
#include "operators/topology.hpp"

namespace sluice::operators::testing {

class sub_topology_harness {
 public:
  explicit sub_topology_harness(sub_topology plan, function_registry registry = {})
      : plan_(std::move(plan)),
        registry_(std::move(registry)),
        processor_(std::make_unique<sub_topology_processor>(plan_, stores_, registry_)) {}

  // One record as read from its topic (its offset is the harness's next); nullopt: it succeeded
  // and `out` has its outputs.
  std::optional<processing_error> process(raw_record in, std::vector<output_record>& out) {
    in.origin.offset = offset_++;
    return processor_->process(in, out);
  }

  // The results of one record, which must succeed.
  std::vector<std::string> feed(std::string topic, std::optional<std::string> key,
                                std::optional<std::string> value, std::int64_t timestamp) {
    std::vector<std::string> results;
    auto e = try_feed(std::move(topic), std::move(key), std::move(value), timestamp, results);
    EXPECT_FALSE(e) << (e ? e->describe() : "");
    return results;
  }

  // The record's error, if it failed; its results in `results` otherwise.
  std::optional<processing_error> try_feed(std::string topic, std::optional<std::string> key,
                                           std::optional<std::string> value, std::int64_t timestamp,
                                           std::vector<std::string>& results) {
    std::vector<output_record> out;
    auto e = processor_->process(raw_record{record_origin{std::move(topic), 0, offset_++},
                                            std::move(key),
                                            std::move(value),
                                            timestamp,
                                            {}},
                                 out);
    for (const auto& o : out) {
      results.push_back(o.key.value_or("<null>") + " " + o.value.value_or("<null>") + " @" +
                        std::to_string(o.timestamp));
    }
    return e;
  }

  operator_metrics_snapshot metrics() const { return processor_->metrics().snapshot(); }

  // Commits the stores and builds the processor again, as a restarted task does.
  void restart() {
    processor_->before_commit();
    stores_.commit_all(state::changelog_offset{offset_});
    processor_ = std::make_unique<sub_topology_processor>(plan_, stores_, registry_);
  }

  // Drops the uncommitted store writes and builds the processor again, as after an aborted
  // transaction; the records since the last restart are to be fed again.
  void abort() {
    stores_.abort_all();
    processor_ = std::make_unique<sub_topology_processor>(plan_, stores_, registry_);
  }

 private:
  sub_topology plan_;
  in_memory_store_provider stores_;
  function_registry registry_;
  std::unique_ptr<sub_topology_processor> processor_;
  std::int64_t offset_ = 0;
};

}  // namespace sluice::operators::testing
