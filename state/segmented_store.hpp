#pragma once

// segmented_store: the engine under window and session stores. It keeps logical keys (window
// keys or session keys, see key_layout.hpp) in one bytes_table under a time segment:
//
//   table key = [segment id: 8 bytes big-endian][logical key],  segment id = time / interval
//
// where time is the window start or the session end. Expiry drops whole segments: when stream
// time moves the oldest live segment forward, the commit carries one range deletion
// [segment 0 .. first live segment) in the SAME atomic write as the data and the offset (a
// RocksDB DeleteRange in the WriteBatch), so data, offset and expiry never disagree after a
// crash. Reads additionally hide single entries older than the exact retention boundary, so the
// segment width never changes results.
//
// Transactions work as in buffered_kv_store: a write_buffer over logical keys, merged over the
// live segments' committed entries in logical key order; the buffered stream time becomes the
// committed one on commit, and reaches the table with the buffer (at once, or later under a
// write-back policy, write_buffer.hpp). The stream time is stored next to the offset, so a reopened
// store expires exactly where it left off. One task's thread; not thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "state/bytes_table.hpp"
#include "state/kv_store.hpp"
#include "state/write_buffer.hpp"

namespace sluice::state {

class segmented_store {
 public:
  // Extracts the segment time from a logical key; nullopt for a malformed key.
  using time_of_key = std::optional<std::int64_t> (*)(bytes_view logical_key);

  // Throws store_error for a bad name, retention or segment interval, or unreadable metadata.
  segmented_store(std::string name, std::unique_ptr<bytes_table> table, std::int64_t retention_ms,
                  std::int64_t segment_interval_ms, time_of_key time_of,
                  write_back_policy write_back = {});
  // Writes what it has committed and not yet written (a failure is logged: the next start
  // restores that part from the changelog).
  ~segmented_store();
  segmented_store(segmented_store&&) = default;
  segmented_store& operator=(segmented_store&&) = delete;

  const std::string& name() const { return name_; }
  std::int64_t retention_ms() const { return retention_ms_; }
  std::size_t pending_writes() const { return buffer_.transaction_size(); }
  std::optional<changelog_offset> committed_offset() const { return committed_offset_; }
  std::optional<std::int64_t> observed_stream_time() const { return stream_time_; }
  std::uint64_t expired_drops() const { return expired_drops_; }

  // Buffers a write (nullopt: deletion) of a logical key whose segment time is `time` (>= 0).
  // Returns false, and counts a drop for a value, when that time has expired.
  bool write(bytes_view logical_key, std::int64_t time, std::optional<bytes_view> value);
  std::optional<bytes> get(bytes_view logical_key, std::int64_t time) const;

  // Visits live logical keys in [from, to) whose time may lie in [time_from, time_to] (only the
  // segments of that range are read; the caller filters exact times), merged with the buffer.
  void scan(bytes_view from, std::optional<bytes_view> to, std::int64_t time_from,
            std::int64_t time_to, const kv_visitor& visit) const;

  void commit(changelog_offset next_offset);
  void abort();
  // Writes the committed writes not yet in the table (write-back); nothing while one is open.
  void flush_committed();
  void apply(std::span<const change> changes, changelog_offset next_offset);

 private:
  std::int64_t segment_of(std::int64_t time) const { return time / segment_interval_ms_; }
  // Times below this have expired (retention measured from `stream_time`).
  std::int64_t live_from(std::optional<std::int64_t> stream_time) const;
  bytes table_key(std::int64_t time, bytes_view logical_key) const;
  // One atomic table write of `entries` (logical keys) + expiry + offset + stream time.
  // Writes the buffered committed writes (and the committed offset and stream time).
  void flush();
  void write_committed(
      const std::vector<std::pair<bytes_view, const std::optional<bytes>*>>& entries,
      std::optional<std::int64_t> new_stream_time, changelog_offset next_offset);

  std::string name_;
  std::unique_ptr<bytes_table> table_;
  std::int64_t retention_ms_;
  std::int64_t segment_interval_ms_;
  time_of_key time_of_;
  write_buffer buffer_;
  write_back_policy write_back_;
  std::optional<changelog_offset> committed_offset_;
  std::optional<changelog_offset> flushed_offset_;  // the offset the table records
  std::optional<std::int64_t> committed_stream_time_;
  std::optional<std::int64_t> stream_time_;  // including buffered writes
  std::int64_t dropped_below_segment_ = 0;   // segments below this are deleted in the table
  std::uint64_t expired_drops_ = 0;
};

// What the window and session stores built on a segmented_store share: the state_store calls and
// the time queries go to the segmented_store unchanged. Store is window_store or session_store.
template <typename Store>
class segmented_store_base : public Store {
 public:
  const std::string& name() const override { return store_.name(); }
  std::size_t pending_writes() const override { return store_.pending_writes(); }
  void commit(changelog_offset next_offset) override { store_.commit(next_offset); }
  void flush_committed() override { store_.flush_committed(); }
  void abort() override { store_.abort(); }
  std::optional<changelog_offset> committed_offset() const override {
    return store_.committed_offset();
  }
  void apply(std::span<const change> changes, changelog_offset next_offset) override {
    store_.apply(changes, next_offset);
  }
  std::chrono::milliseconds retention() const override {
    return std::chrono::milliseconds(store_.retention_ms());
  }
  std::optional<std::int64_t> observed_stream_time() const override {
    return store_.observed_stream_time();
  }
  std::uint64_t expired_drops() const override { return store_.expired_drops(); }

 protected:
  explicit segmented_store_base(segmented_store store) : store_(std::move(store)) {}

  segmented_store store_;
};

// Upper bound on retention / segment interval (+1): a fetch seeks once per live segment.
inline constexpr std::int64_t max_live_segments = 1024;

// Kafka Streams' default segment interval: max(retention / 2, 60 s).
std::int64_t default_segment_interval(std::int64_t retention_ms);

}  // namespace sluice::state
