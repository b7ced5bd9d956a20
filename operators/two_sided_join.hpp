#pragma once

// two_sided_join: a join step that keeps state on both of its sides, so records of either side
// enter it: stream_join (two streams, windowed) and table_join (two tables). The step's own input
// is the left side; the records of the joined stream or table are the right side. What process()
// appends continues through the steps after the join.

#include <cstdint>
#include <optional>
#include <vector>

#include "operators/processing_error.hpp"
#include "operators/record.hpp"

namespace sluice::operators {

enum class join_side : std::uint8_t { left, right };

class two_sided_join {
 public:
  virtual ~two_sided_join() = default;
  // Joins a record arriving on `side`; appends its results to `out`.
  virtual std::optional<processing_error> process(join_side side, const record& in,
                                                  std::vector<record>& out) = 0;
};

}  // namespace sluice::operators
