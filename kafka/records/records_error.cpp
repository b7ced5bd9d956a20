#include "kafka/records/records_error.hpp"

#include <string>

namespace sluice::kafka::records {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "kafka.records"; }

  std::string message(int value) const override {
    switch (static_cast<records_errc>(value)) {
      case records_errc::bad_crc:
        return "record batch CRC mismatch (corrupt data)";
      case records_errc::bad_magic:
        return "unsupported record batch magic byte";
      case records_errc::batch_too_small:
        return "record batch length smaller than its header";
      case records_errc::truncated_record:
        return "record runs past the end of its batch";
      case records_errc::bad_varint:
        return "malformed varint in a record";
      case records_errc::invalid_record:
        return "invalid record (bad length or size mismatch)";
      case records_errc::record_count_mismatch:
        return "record count in the batch header does not match the records";
      case records_errc::unsupported_compression:
        return "unsupported compression codec";
      case records_errc::decompression_failed:
        return "decompression failed (corrupt data)";
      case records_errc::decompressed_too_large:
        return "decompressed data exceeds the size limit";
      case records_errc::compression_failed:
        return "compression failed";
      case records_errc::invalid_compression_level:
        return "compression level out of range";
      case records_errc::invalid_control_record:
        return "malformed control record";
    }
    return "unknown record batch error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& records_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace sluice::kafka::records
