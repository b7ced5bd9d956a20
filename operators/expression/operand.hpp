#pragma once

// operand: the result of evaluating one node, either borrowed (a path into the context or a
// constant of the tree, both outliving the evaluation) or owned (a computed value). Borrowing
// is what lets `value.user.id == "x"` run without copying any JSON.

#include <boost/json/value.hpp>
#include <utility>

namespace sluice::operators::expr {

class operand {
 public:
  const boost::json::value& get() const noexcept { return borrowed_ ? *borrowed_ : owned_; }

  // `v` must outlive every use of this operand (context data or tree constants only).
  void borrow(const boost::json::value& v) noexcept { borrowed_ = &v; }

  // The owned slot, to be assigned by the caller.
  boost::json::value& emplace() noexcept {
    borrowed_ = nullptr;
    return owned_;
  }
  void set(boost::json::value v) {
    borrowed_ = nullptr;
    owned_ = std::move(v);
  }
  void set_int(std::int64_t i) { emplace().emplace_int64() = i; }
  void set_double(double d) { emplace().emplace_double() = d; }
  void set_bool(bool b) { emplace().emplace_bool() = b; }

  bool owned() const noexcept { return borrowed_ == nullptr; }
  // Only for owned operands: lets a caller move a part out of a computed value.
  boost::json::value& owned_value() noexcept { return owned_; }

  // The value, moved if owned, copied if borrowed.
  boost::json::value take() && { return borrowed_ ? *borrowed_ : std::move(owned_); }

 private:
  const boost::json::value* borrowed_ = nullptr;
  boost::json::value owned_;
};

}  // namespace sluice::operators::expr
