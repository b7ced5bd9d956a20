#pragma once

// A plain-text table with aligned columns, the human output of every `sluice` command.

#include <ostream>
#include <string>
#include <vector>

namespace sluice::cli {

class table {
 public:
  explicit table(std::vector<std::string> headers);
  // Throws std::invalid_argument when the row's width differs from the header's.
  void add(std::vector<std::string> row);
  bool empty() const { return rows_.empty(); }
  // Columns separated by two spaces; trailing blanks trimmed.
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace sluice::cli
