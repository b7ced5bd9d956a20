#pragma once

// result: a value or an error, for outcomes the caller is expected to handle as data (a pipeline
// author's typo, a record that does not fit the expression) rather than as exceptions. A small
// stand-in for C++23 std::expected, which GCC 12 does not ship. The error type has a `message`.

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace sluice::operators {

template <class T, class E>
class [[nodiscard]] result {
 public:
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  result(E error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // Accessing the value of an error result is a programming error: throws std::logic_error
  // carrying the error's message, so a test failure or log line says what went wrong.
  T& value() & {
    check_value();
    return std::get<0>(state_);
  }
  const T& value() const& {
    check_value();
    return std::get<0>(state_);
  }
  T&& value() && {
    check_value();
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const {
    if (has_value()) {
      throw std::logic_error("result holds a value, not an error");
    }
    return std::get<1>(state_);
  }

 private:
  void check_value() const {
    if (!has_value()) {
      throw std::logic_error("result holds an error: " + std::get<1>(state_).message);
    }
  }

  std::variant<T, E> state_;
};

}  // namespace sluice::operators
