#pragma once

// What a reader sees of transactional data (KIP-98), shared by the consumer (Fetch) and the admin
// client (ListOffsets): read_committed stops at the last stable offset and hides aborted records.

#include <cstdint>

namespace sluice::kafka {

enum class isolation_level : std::int8_t { read_uncommitted = 0, read_committed = 1 };

}  // namespace sluice::kafka
