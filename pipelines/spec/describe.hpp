#pragma once

// describe_topology: a topology as text for `sluice describe`: its sub-topologies (split where
// the key changes before an aggregation), each with sources, steps, window and aggregations,
// stores and sink, then every topic the pipeline reads, writes or creates (internal repartition
// and changelog topics included), so a pipeline can be inspected before it runs.

#include <string>

#include "operators/topology.hpp"

namespace sluice::pipelines {

std::string describe_topology(const operators::topology& t);

}  // namespace sluice::pipelines
