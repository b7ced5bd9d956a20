// The Sluice side of the records interop check (see RecordsInterop.java and run.sh):
//   records_interop write <dir>   writes sluice-<codec>.bin and sluice-markers.bin
//   records_interop dump <file>   decodes every batch and prints the canonical text
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "kafka/records/control_record.hpp"
#include "kafka/records/record_batch_builder.hpp"
#include "kafka/records/record_batch_decoder.hpp"

namespace {

using namespace sluice::kafka::records;
using sluice::kafka::protocol::bytes;
using sluice::kafka::protocol::bytes_view;

// Must match sampleRecords() in RecordsInterop.java.
constexpr std::int64_t base_timestamp = 1700000000000;
constexpr int filler_records = 50;
constexpr std::size_t big_value_size = 100000;

bytes text(const std::string& value) {
  return sluice::kafka::protocol::to_bytes(value);
}

std::vector<record> sample_records() {
  std::vector<record> records;
  records.push_back({0,
                     base_timestamp,
                     text("key-0"),
                     text("value-0"),
                     {{"trace", text("abc")}, {"empty", std::nullopt}}});
  records.push_back({0, base_timestamp + 5, std::nullopt, text("no key"), {}});
  records.push_back({0, base_timestamp - 10, text("tombstone"), std::nullopt, {}});
  records.push_back({0, base_timestamp + 100, text(""), text(""), {{"", text("")}}});
  bytes big(big_value_size);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>(i % 251);
  records.push_back({0, base_timestamp + 50, text("big"), big, {}});
  for (int i = 0; i < filler_records; ++i) {
    auto n = std::to_string(i);
    records.push_back({0,
                       base_timestamp + i,
                       text("k" + n),
                       text("filler value " + n + " filler value filler value"),
                       {}});
  }
  return records;
}

void append_batch(bytes& out, const record_batch_builder_options& options) {
  record_batch_builder builder(options);
  for (const auto& r : sample_records()) builder.append(r);
  if (auto failed = builder.build_to(out)) throw std::system_error(failed, "build");
}

void save(const std::string& path, const bytes& data) {
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!file) throw std::runtime_error("cannot write " + path);
}

void write(const std::string& dir) {
  for (auto codec : all_compressions) {
    bytes out;
    append_batch(out, {.codec = codec});
    append_batch(out, {.codec = codec,
                       .base_offset = 100,
                       .partition_leader_epoch = 3,
                       .producer_id = 1234,
                       .producer_epoch = 5,
                       .base_sequence = 42,
                       .transactional = true});
    save(dir + "/sluice-" + to_string(codec) + ".bin", out);
  }
  auto markers =
      build_end_txn_marker_batch(1234, 5, {control_record_type::commit, 17}, base_timestamp, 200);
  auto abort =
      build_end_txn_marker_batch(1234, 5, {control_record_type::abort, 18}, base_timestamp, 201);
  markers.insert(markers.end(), abort.begin(), abort.end());
  save(dir + "/sluice-markers.bin", markers);
}

std::string hex(std::optional<bytes_view> data) {
  if (!data) return "null";
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data->size() * 2);
  for (auto b : *data) {
    out.push_back(digits[static_cast<unsigned>(b) >> 4]);
    out.push_back(digits[static_cast<unsigned>(b) & 0xf]);
  }
  return out;
}

int dump(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  bytes input;
  std::transform(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>(),
                 std::back_inserter(input), [](char c) { return static_cast<std::byte>(c); });
  record_batch_decoder decoder(input);
  int batches = 0;
  while (const auto* h = decoder.next()) {
    auto horizon = h->delete_horizon();
    std::printf("batch base_offset=%" PRId64
                " leader_epoch=%d magic=%d codec=%d timestamp_type=%d"
                " transactional=%s control=%s last_offset_delta=%d base_timestamp=%" PRId64
                " max_timestamp=%" PRId64 " producer_id=%" PRId64
                " producer_epoch=%d base_sequence=%d"
                " count=%d delete_horizon=%s\n",
                h->base_offset, h->partition_leader_epoch, h->magic, static_cast<int>(h->codec()),
                static_cast<int>(h->timestamps()), h->is_transactional() ? "true" : "false",
                h->is_control() ? "true" : "false", h->last_offset_delta, h->base_timestamp,
                h->max_timestamp, h->producer_id, h->producer_epoch, h->base_sequence,
                h->record_count, horizon ? std::to_string(*horizon).c_str() : "none");
    std::printf("raw size=%zu crc=%08x\n", h->size_in_bytes(), h->crc);
    for (const auto& r : decoder.records()) {
      std::printf("record offset=%" PRId64 " timestamp=%" PRId64 " key=%s value=%s headers=%zu\n",
                  r.offset, r.timestamp, hex(r.key).c_str(), hex(r.value).c_str(),
                  r.headers.size());
      for (const auto& header : r.headers) {
        std::printf("header key=%s value=%s\n",
                    hex(sluice::kafka::protocol::as_bytes_view(header.key)).c_str(),
                    hex(header.value).c_str());
      }
    }
    ++batches;
  }
  if (decoder.error() || decoder.partial_tail()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(),
                 decoder.error() ? decoder.error().message().c_str() : "ends with a partial batch");
    return 1;
  }
  std::printf("end batches=%d\n", batches);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "write") {
    write(args[1]);
    return 0;
  }
  if (args.size() == 2 && args[0] == "dump") return dump(args[1]);
  std::fprintf(stderr, "usage: records_interop write <dir> | dump <file>\n");
  return 2;
}
