#include "state/bytes_table.hpp"

#include <fmt/format.h>

#include "state/key_layout.hpp"

namespace sluice::state {

namespace table_metadata {

bytes encode_i64(std::int64_t value) {
  bytes out;
  key_layout::append_be64(out, value);
  return out;
}

std::optional<std::int64_t> read_i64(const bytes_table& table, std::string_view name,
                                     std::string_view store_name) {
  auto stored = table.metadata(name);
  if (!stored) return std::nullopt;
  if (stored->size() != key_layout::time_size) {
    throw store_error(fmt::format("store '{}': metadata '{}' holds {} bytes, expected {}",
                                  store_name, name, stored->size(), key_layout::time_size));
  }
  return key_layout::read_be64(*stored, 0);
}

}  // namespace table_metadata

void check_store_name(std::string_view name) {
  // Kafka topic names allow [a-zA-Z0-9._-] and 249 characters; the changelog topic adds the
  // application id and "-changelog", so the store's part stays well below that.
  constexpr std::size_t max_size = 200;
  if (name.empty()) throw store_error("store name is empty");
  if (name.size() > max_size) {
    throw store_error(fmt::format("store name '{}' is {} characters long, at most {} allowed", name,
                                  name.size(), max_size));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      throw store_error(fmt::format(
          "store name '{}' has the character '{}'; only [a-zA-Z0-9._-] are allowed", name, c));
    }
  }
}

void check_offset_advances(std::string_view store_name, std::optional<changelog_offset> committed,
                           changelog_offset next) {
  if (next.value < 0) {
    throw store_error(
        fmt::format("store '{}': changelog offset {} is negative", store_name, next.value));
  }
  if (committed && next < *committed) {
    throw store_error(fmt::format(
        "store '{}': changelog offset {} is before the committed offset {}; offsets never go back",
        store_name, next.value, committed->value));
  }
}

}  // namespace sluice::state
