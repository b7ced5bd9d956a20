#include "kafka/consumer/consumer_error.hpp"

#include <string>

namespace sluice::kafka {

namespace {
class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sluice.consumer"; }
  std::string message(int value) const override {
    switch (static_cast<consumer_error>(value)) {
      case consumer_error::illegal_state:
        return "illegal state";
      case consumer_error::no_offset_for_partition:
        return "no offset for partition";
      case consumer_error::commit_failed:
        return "commit failed";
      case consumer_error::corrupt_record:
        return "corrupt record";
      case consumer_error::timed_out:
        return "timed out";
      case consumer_error::group_error:
        return "group error";
    }
    return "unknown consumer error";
  }
};
}  // namespace

const std::error_category& consumer_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace sluice::kafka
