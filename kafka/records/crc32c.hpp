#pragma once

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of record batches v2
// (KIP-98; https://kafka.apache.org/documentation/#recordbatch). It runs over every produced and
// fetched batch, so the x86-64 SSE4.2 `crc32` instruction is used when the CPU has it (chosen
// once at run time, so the build needs no -msse4.2) and slicing-by-8 tables otherwise.

#include <cstdint>

#include "kafka/protocol/wire.hpp"

namespace sluice::kafka::records {

// CRC-32C of `data`.
std::uint32_t crc32c(protocol::bytes_view data) noexcept;

// Continues a CRC-32C: crc32c_extend(crc32c(a), b) == crc32c(a + b).
std::uint32_t crc32c_extend(std::uint32_t crc, protocol::bytes_view data) noexcept;

// The two implementations behind crc32c_extend, exposed so tests can check they agree.
std::uint32_t crc32c_extend_portable(std::uint32_t crc, protocol::bytes_view data) noexcept;
// Falls back to the portable path when the CPU lacks SSE4.2.
std::uint32_t crc32c_extend_hardware(std::uint32_t crc, protocol::bytes_view data) noexcept;
bool crc32c_hardware_available() noexcept;

}  // namespace sluice::kafka::records
