#pragma once

// Where a cluster command prints, and in which form (tables and sentences, or --json), and the
// one way every per-item command (topics describe/delete, groups list/describe/delete, ...)
// prints its answers: internal to pipelines/cli, used on the command's io_context thread.

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <ostream>
#include <string>

#include "kafka/admin/admin_types.hpp"

namespace sluice::cli {

struct printer {
  std::ostream* out;
  std::ostream* err;
  bool json;

  // "error: <what>: <ERROR_NAME>: <message>" on stderr, for an item the cluster refused.
  void report(const std::string& what, const kafka::item_error& error) const;
};

// The answers of a command about several items. Each item either failed (said on stderr; the
// exit status becomes 1) or is printed: with --json as one element of a JSON array written whole
// by finish(), otherwise as text written to text() at once.
class item_results {
 public:
  explicit item_results(printer print) : print_(print) {}

  bool json() const { return print_.json; }
  void failed(const std::string& what, const kafka::item_error& error);
  // A failure that is no Kafka error code ("the group does not exist").
  void failed(const std::string& message);
  // With --json: the item's element of the array.
  void add(boost::json::value item) { items_.push_back(std::move(item)); }
  // Without --json: where the item's text goes.
  std::ostream& text() { return *print_.out; }
  // Writes the JSON array (with --json); returns the exit status.
  int finish();

 private:
  printer print_;
  boost::json::array items_;
  bool failed_ = false;
};

}  // namespace sluice::cli
