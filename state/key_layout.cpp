#include "state/key_layout.hpp"

namespace sluice::state::key_layout {

void append_be64(bytes& out, std::int64_t value) {
  auto bits = static_cast<std::uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>(static_cast<unsigned char>((bits >> shift) & 0xFFu)));
  }
}

std::int64_t read_be64(bytes_view in, std::size_t at) {
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < time_size; ++i) {
    bits = (bits << 8) | static_cast<unsigned char>(in[at + i]);
  }
  return static_cast<std::int64_t>(bits);
}

bytes window_key(bytes_view key, std::int64_t window_start) {
  bytes out;
  out.reserve(key.size() + time_size);
  out.append(key);
  append_be64(out, window_start);
  return out;
}

bytes session_key(bytes_view key, std::int64_t start, std::int64_t end) {
  bytes out;
  out.reserve(key.size() + 2 * time_size);
  out.append(key);
  append_be64(out, end);
  append_be64(out, start);
  return out;
}

std::optional<window_key_parts> parse_window_key(bytes_view encoded) {
  if (encoded.size() < time_size) return std::nullopt;
  auto key_size = encoded.size() - time_size;
  auto start = read_be64(encoded, key_size);
  if (start < 0) return std::nullopt;
  return window_key_parts{encoded.substr(0, key_size), start};
}

std::optional<session_key_parts> parse_session_key(bytes_view encoded) {
  if (encoded.size() < 2 * time_size) return std::nullopt;
  auto key_size = encoded.size() - 2 * time_size;
  auto end = read_be64(encoded, key_size);
  auto start = read_be64(encoded, key_size + time_size);
  if (start < 0 || end < start) return std::nullopt;
  return session_key_parts{encoded.substr(0, key_size), start, end};
}

std::optional<bytes> prefix_successor(bytes_view prefix) {
  bytes out(prefix);
  while (!out.empty()) {
    auto last = static_cast<unsigned char>(out.back());
    if (last != 0xFFu) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return std::nullopt;
}

}  // namespace sluice::state::key_layout
