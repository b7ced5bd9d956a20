// libFuzzer target: arbitrary bytes as the `records` of a fetch response, and as compressed
// payloads of every codec. Nothing may crash, read out of bounds or hit undefined behaviour;
// every outcome must be a batch, a clean end, a partial tail or an error value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "kafka/records/compression.hpp"
#include "kafka/records/crc32c.hpp"
#include "kafka/records/record_batch_builder.hpp"
#include "kafka/records/record_batch_decoder.hpp"

namespace {

using namespace sluice::kafka::records;
using sluice::kafka::protocol::bytes;
using sluice::kafka::protocol::bytes_view;

// Small enough that decompression bombs cost little time, large enough for real batches.
constexpr std::size_t max_output = std::size_t{1} << 20;

// Reads every field of every record so the sanitizers see any bad view.
std::size_t touch(std::span<const record_view> records) {
  std::size_t sum = 0;
  auto add = [&sum](std::optional<bytes_view> data) {
    if (!data) return;
    for (auto b : *data) sum += static_cast<std::size_t>(b);
  };
  for (const auto& r : records) {
    sum += static_cast<std::size_t>(r.offset ^ r.timestamp);
    add(r.key);
    add(r.value);
    for (const auto& h : r.headers) {
      sum += h.key.size();
      add(h.value);
    }
  }
  return sum;
}

std::size_t decode_all(bytes_view input, bool verify_crc) {
  record_batch_decoder decoder(input,
                               {.verify_crc = verify_crc, .max_decompressed_size = max_output});
  std::size_t sum = 0;
  while (const auto* header = decoder.next()) {
    sum += static_cast<std::size_t>(header->next_offset()) + decoder.batch_bytes().size();
    sum += touch(decoder.records());
  }
  if (decoder.error() && decoder.partial_tail()) std::abort();  // exactly one way to stop
  if (!decoder.error() && !decoder.partial_tail() && decoder.position() != input.size())
    std::abort();
  return sum;
}

// Wraps the fuzz input as the compressed payload of a well-formed batch header, so the record
// parser runs on whatever each codec makes of it.
bytes as_batch_payload(compression codec, std::int32_t record_count, bytes_view payload) {
  bytes batch;
  sluice::kafka::protocol::writer out(batch);
  record_batch_header header;
  header.attributes = static_cast<std::int16_t>(codec);
  header.record_count = record_count;
  write_record_batch_header(out, header);
  out.raw(payload);
  out.patch_int32(batch_layout::batch_length,
                  static_cast<std::int32_t>(batch.size() - batch_layout::log_overhead));
  out.patch_uint32(batch_layout::crc, crc32c(bytes_view(batch).subspan(batch_layout::attributes)));
  return batch;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bytes_view input(reinterpret_cast<const std::byte*>(data), size);
  volatile std::size_t sink = 0;
  sink = sink + decode_all(input, true) + decode_all(input, false);
  if (size == 0) return 0;

  auto codec = all_compressions[data[0] % std::size(all_compressions)];
  auto payload = input.subspan(1);
  bytes out;
  if (!decompress_to(codec, payload, max_output, out)) sink = sink + out.size();
  std::int32_t count = size > 1 ? data[1] : 0;
  sink = sink + decode_all(as_batch_payload(codec, count, payload), true);

  // Whatever decompressed is also valid input to compress, and must round trip.
  if (!out.empty() && out.size() < 65536) {
    auto packed = compress(codec, out);
    if (packed.error) std::abort();
    auto unpacked = decompress(codec, packed.data, max_output);
    if (unpacked.error || unpacked.data != out) std::abort();
  }
  return 0;
}
