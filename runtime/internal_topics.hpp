#pragma once

// prepare_internal_topics: checks that the pipeline's source topics exist and creates the topics
// the application owns that are missing (Kafka Streams' InternalTopicManager): repartition topics,
// one changelog per store (compacted; windowed stores also delete by time), and the sink, late and
// dead-letter topics. Each gets the input's partition count, because task N of every
// sub-topology reads partition N of its input and writes partition N of its changelogs; an
// internal topic with another count is refused with a clear error.
//
// Several clusters: all of this happens on the home cluster (the sources'), except the sinks on
// other clusters, which prepare_sink_topics creates on theirs, with the same partition count.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>

#include "kafka/client/cluster.hpp"
#include "operators/topology.hpp"

namespace sluice::runtime {

struct internal_topic_options {
  std::int16_t replication_factor = -1;  // -1: the broker's default
  std::string dead_letter_topic;         // empty: none
};

// Throws std::runtime_error naming the topic for a missing source or a wrong partition count.
// Returns the input's partition count.
boost::asio::awaitable<std::int32_t> prepare_internal_topics(kafka::cluster& cluster,
                                                             const operators::topology& topology,
                                                             const operators::topology_plan& plan,
                                                             internal_topic_options options);

// Creates the sink topics on the cluster named `cluster_name` that `cluster` (a client of it)
// lacks, with `partitions` partitions.
boost::asio::awaitable<void> prepare_sink_topics(kafka::cluster& cluster,
                                                 const operators::topology& topology,
                                                 std::string cluster_name, std::int32_t partitions,
                                                 std::int16_t replication_factor);

}  // namespace sluice::runtime
