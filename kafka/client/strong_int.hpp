#pragma once

// An integer that means one thing: `strong_int<struct partition_tag, std::int32_t>` is not an
// `int32_t`, nor a node id that happens to be an `int32_t` too. Kafka's identifiers share a few
// integer types (partition, node id and generation are all int32; offset, timestamp and producer
// id all int64), and calls such as send(topic, value, key, partition, timestamp) or
// seek(partition, offset) take several of them side by side: a strong type turns a swapped
// argument into a compile error instead of a record in the wrong place.
//
// Construction from the representation is explicit (`partition_id{3}`), `value()` gives it back,
// and nothing converts implicitly either way. Values of one type compare and hash; they format
// through fmt/spdlog and print through operator<< (gtest's failure messages) as the bare number.
// There is no arithmetic: code that computes with offsets says so with value().

#include <fmt/format.h>

#include <compare>
#include <concepts>
#include <cstddef>
#include <functional>
#include <ostream>

namespace sluice::kafka {

template <typename Tag, std::integral Rep>
class strong_int {
 public:
  using representation = Rep;

  constexpr strong_int() noexcept = default;
  constexpr explicit strong_int(Rep value) noexcept : value_(value) {}

  constexpr Rep value() const noexcept { return value_; }

  friend constexpr auto operator<=>(const strong_int&, const strong_int&) noexcept = default;
  friend constexpr bool operator==(const strong_int&, const strong_int&) noexcept = default;

  friend std::ostream& operator<<(std::ostream& out, const strong_int& id) {
    // Through long long, so that an int8 representation prints as a number, not a character.
    return out << static_cast<long long>(id.value_);
  }

 private:
  Rep value_{};
};

}  // namespace sluice::kafka

template <typename Tag, std::integral Rep>
struct std::hash<sluice::kafka::strong_int<Tag, Rep>> {
  std::size_t operator()(const sluice::kafka::strong_int<Tag, Rep>& id) const noexcept {
    return std::hash<Rep>{}(id.value());
  }
};

template <typename Tag, std::integral Rep>
struct fmt::formatter<sluice::kafka::strong_int<Tag, Rep>> : fmt::formatter<Rep> {
  template <typename FormatContext>
  auto format(const sluice::kafka::strong_int<Tag, Rep>& id, FormatContext& context) const {
    return fmt::formatter<Rep>::format(id.value(), context);
  }
};
