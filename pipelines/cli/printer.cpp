#include "pipelines/cli/printer.hpp"

#include <boost/json/serialize.hpp>

#include "pipelines/cli/commands.hpp"

namespace sluice::cli {

void printer::report(const std::string& what, const kafka::item_error& error) const {
  *err << "error: " << what << ": " << kafka::error_name(error.code) << ": " << error.message
       << '\n';
}

void item_results::failed(const std::string& what, const kafka::item_error& error) {
  print_.report(what, error);
  failed_ = true;
}

void item_results::failed(const std::string& message) {
  *print_.err << "error: " << message << '\n';
  failed_ = true;
}

int item_results::finish() {
  if (print_.json) *print_.out << boost::json::serialize(items_) << '\n';
  return static_cast<int>(failed_ ? exit_status::failed : exit_status::ok);
}

}  // namespace sluice::cli
