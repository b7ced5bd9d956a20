#include "kafka/net/net_error.hpp"

#include <string>

namespace sluice::kafka {

namespace {
class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sluice.net"; }
  std::string message(int value) const override {
    switch (static_cast<net_error>(value)) {
      case net_error::connection_closed:
        return "connection closed";
      case net_error::request_timed_out:
        return "request timed out";
      case net_error::connect_failed:
        return "cannot connect";
      case net_error::protocol_violation:
        return "protocol violation";
      case net_error::no_common_version:
        return "no common API version";
      case net_error::authentication_failed:
        return "authentication failed";
      case net_error::bad_configuration:
        return "bad configuration";
    }
    return "unknown network error";
  }
};
}  // namespace

const std::error_category& net_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace sluice::kafka
