#include "state/serdes.hpp"

#include <fmt/format.h>

#include <bit>

#include "state/key_layout.hpp"

namespace sluice::state {
namespace {

void check_size(bytes_view data, const char* type) {
  if (data.size() != key_layout::time_size) {
    throw store_error(
        fmt::format("{}: expected {} bytes, got {}", type, key_layout::time_size, data.size()));
  }
}

}  // namespace

bytes int64_serde::serialize(std::int64_t value) {
  bytes out;
  key_layout::append_be64(out, value);
  return out;
}

std::int64_t int64_serde::deserialize(bytes_view data) {
  check_size(data, "int64");
  return key_layout::read_be64(data, 0);
}

bytes double_serde::serialize(double value) {
  bytes out;
  key_layout::append_be64(out, std::bit_cast<std::int64_t>(value));
  return out;
}

double double_serde::deserialize(bytes_view data) {
  check_size(data, "double");
  return std::bit_cast<double>(key_layout::read_be64(data, 0));
}

}  // namespace sluice::state
