#include "kafka/records/crc32c.hpp"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace sluice::kafka::records {
namespace {

constexpr std::uint32_t castagnoli_reflected = 0x82F63B78u;

// tables[k][b] is the CRC of byte b followed by k zero bytes, so eight table look-ups fold
// eight input bytes at once (slicing-by-8).
using slicing_tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr slicing_tables make_tables() {
  slicing_tables tables{};
  for (std::uint32_t byte = 0; byte < 256; ++byte) {
    std::uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? castagnoli_reflected : 0u);
    tables[0][byte] = crc;
  }
  for (std::size_t k = 1; k < tables.size(); ++k) {
    for (std::size_t byte = 0; byte < 256; ++byte) {
      auto previous = tables[k - 1][byte];
      tables[k][byte] = (previous >> 8) ^ tables[0][previous & 0xffu];
    }
  }
  return tables;
}

constexpr slicing_tables tables = make_tables();

std::uint64_t load_little_endian_64(const unsigned char* p) {
  std::uint64_t value = 0;
  std::memcpy(&value, p, sizeof value);
  if constexpr (std::endian::native == std::endian::big) {
    value = ((value & 0x00000000ffffffffull) << 32) | (value >> 32);
    value = ((value & 0x0000ffff0000ffffull) << 16) | ((value >> 16) & 0x0000ffff0000ffffull);
    value = ((value & 0x00ff00ff00ff00ffull) << 8) | ((value >> 8) & 0x00ff00ff00ff00ffull);
  }
  return value;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t hardware_crc(std::uint32_t crc,
                                                             const unsigned char* p,
                                                             std::size_t size) noexcept {
  std::uint64_t state = crc;
  for (; size >= 8; p += 8, size -= 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, sizeof word);  // x86-64 is little-endian, as the instruction expects
    state = _mm_crc32_u64(state, word);
  }
  auto narrow = static_cast<std::uint32_t>(state);
  for (; size > 0; ++p, --size) narrow = _mm_crc32_u8(narrow, *p);
  return narrow;
}

// Runs during static initialisation, before the CPU model is guaranteed to be probed, hence the
// explicit __builtin_cpu_init.
bool detect_hardware() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#else
bool detect_hardware() noexcept {
  return false;
}
#endif

const bool has_hardware = detect_hardware();

}  // namespace

std::uint32_t crc32c_extend_portable(std::uint32_t crc, protocol::bytes_view data) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t size = data.size();
  std::uint32_t state = ~crc;
  for (; size >= 8; p += 8, size -= 8) {
    auto word = load_little_endian_64(p) ^ state;
    state = tables[7][word & 0xff] ^ tables[6][(word >> 8) & 0xff] ^
            tables[5][(word >> 16) & 0xff] ^ tables[4][(word >> 24) & 0xff] ^
            tables[3][(word >> 32) & 0xff] ^ tables[2][(word >> 40) & 0xff] ^
            tables[1][(word >> 48) & 0xff] ^ tables[0][word >> 56];
  }
  for (; size > 0; ++p, --size) state = (state >> 8) ^ tables[0][(state ^ *p) & 0xff];
  return ~state;
}

std::uint32_t crc32c_extend_hardware(std::uint32_t crc, protocol::bytes_view data) noexcept {
#if defined(__x86_64__)
  if (has_hardware) {
    return ~hardware_crc(~crc, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  }
#endif
  return crc32c_extend_portable(crc, data);
}

bool crc32c_hardware_available() noexcept {
  return has_hardware;
}

std::uint32_t crc32c_extend(std::uint32_t crc, protocol::bytes_view data) noexcept {
  return crc32c_extend_hardware(crc, data);
}

std::uint32_t crc32c(protocol::bytes_view data) noexcept {
  return crc32c_extend(0, data);
}

}  // namespace sluice::kafka::records
