#include "kafka/protocol/wire.hpp"

namespace sluice::kafka::protocol {

const char* to_string(decode_error error) noexcept {
  switch (error) {
    case decode_error::none:
      return "no error";
    case decode_error::truncated:
      return "input ends before the field does";
    case decode_error::negative_length:
      return "negative length for a non-nullable field";
    case decode_error::varint_too_long:
      return "varint longer than its type allows";
    case decode_error::length_too_large:
      return "length larger than the remaining input";
    case decode_error::invalid_value:
      return "value outside what the schema allows";
  }
  return "unknown decode error";
}

}  // namespace sluice::kafka::protocol
