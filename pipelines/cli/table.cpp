#include "pipelines/cli/table.hpp"

#include <algorithm>
#include <stdexcept>

namespace sluice::cli {

table::table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void table::add(std::vector<std::string> row) {
  if (row.size() != headers_.size()) {
    throw std::invalid_argument("table row has " + std::to_string(row.size()) +
                                " cells, the header " + std::to_string(headers_.size()));
  }
  rows_.push_back(std::move(row));
}

void table::print(std::ostream& out) const {
  std::vector<std::size_t> widths(headers_.size());
  for (std::size_t i = 0; i < headers_.size(); ++i) widths[i] = headers_[i].size();
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size()) text += std::string(widths[i] - cells[i].size() + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << '\n';
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
}

}  // namespace sluice::cli
