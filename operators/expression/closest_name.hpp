#pragma once

// closest_name: "did you mean" for a misspelt name (a function, a field root, a cluster): the
// candidate at the smallest optimal string alignment distance (Levenshtein plus adjacent
// transpositions: a swapped pair of letters is one typo, not two), when it is close enough to be
// a typo (at most 2 edits, and fewer than half the name); empty otherwise.

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string_view>

namespace sluice::operators::expr {

std::size_t edit_distance(std::string_view a, std::string_view b);

template <class Names>
std::string_view closest_name(std::string_view name, const Names& candidates) {
  std::string_view best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (std::string_view candidate : candidates) {
    const std::size_t d = edit_distance(name, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  if (best_distance <= 2 && best_distance * 2 < std::max(name.size(), best.size())) {
    return best;
  }
  return {};
}

}  // namespace sluice::operators::expr
