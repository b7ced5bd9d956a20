#pragma once

// memory_table: the in-memory backend's bytes_table, a std::map per store. Writes apply in one
// step (nothing can fail half-way but allocation), so they are atomic for readers of this
// process; nothing survives the process. One task's thread; not thread-safe.

#include <map>
#include <string>

#include "state/bytes_table.hpp"

namespace sluice::state {

class memory_table final : public bytes_table {
 public:
  std::optional<bytes> get(bytes_view key) const override;
  std::unique_ptr<table_cursor> scan(bytes_view from, std::optional<bytes_view> to) const override;
  std::optional<bytes> metadata(std::string_view name) const override;
  void write(const table_write& batch) override;

 private:
  std::map<bytes, bytes, std::less<>> entries_;
  std::map<std::string, bytes, std::less<>> metadata_;
};

}  // namespace sluice::state
