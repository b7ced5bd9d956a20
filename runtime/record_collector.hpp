#pragma once

// record_collector: every record the app writes (outputs, changelog records, dead letters) goes
// through it (Kafka Streams' RecordCollectorImpl). It keeps the FIRST failure of the commit
// interval, sticky: a send that threw, or a delivery that failed. The commit asks it:
//   exactly-once   check() before commit_transaction: a failure aborts the transaction (the
//                  producer also refuses to commit a transaction with a failed batch; this is
//                  the runtime's own guard, which does not rely on it)
//   at-least-once  confirm() flushes the producer and waits for every delivery of the interval;
//                  the input offsets are committed only when all of them were written
// so no commit ever covers a record that was not delivered. reset() starts the next interval.
//
// Delivered handles are dropped as they complete (checked on the way), so memory holds only the
// records still in flight, not the whole interval.
//
// Sinks on another cluster than the sources' (several clusters) have producers of their own,
// idempotent and outside any transaction (validation refuses them under exactly-once): an output
// whose topic is routed to one goes there, and confirm() flushes every producer and waits for
// every one of their deliveries before an at-least-once commit.
//
// One thread: the app's. The producers outlive it.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "kafka/client/topic_partition.hpp"
#include "kafka/producer/delivery.hpp"
#include "operators/record.hpp"
#include "runtime/client_ports.hpp"

namespace sluice::runtime {

namespace asio = boost::asio;

class record_collector {
 public:
  // Output topic -> the producer of its cluster, for sinks off the home cluster.
  using routes = std::map<std::string, output_port*, std::less<>>;

  explicit record_collector(output_port& producer, routes other_clusters = {})
      : producer_(producer), other_clusters_(std::move(other_clusters)) {}

  // An output or dead-letter record, partitioned by its key.
  asio::awaitable<void> send(const operators::output_record& record);
  // A changelog record to the store's partition; the handle tells the offset the store reached.
  asio::awaitable<kafka::delivery> send_changelog(const kafka::topic_partition& changelog,
                                                  std::string_view key,
                                                  const std::optional<std::string>& value);

  // Throws the interval's first failure, if any.
  void check();
  // Flushes every producer, waits for every delivery of the interval, then check().
  asio::awaitable<void> confirm();
  // Forgets the interval (after a commit or an abort).
  void reset();

  bool failed() const { return static_cast<bool>(first_failure_); }
  // A failure of the interval outside a send (opening its transaction): kept like a send's.
  void fail(std::exception_ptr failure) { note_failure(std::move(failure)); }

 private:
  void track(kafka::delivery delivery);
  void note(const kafka::delivery& done);
  void note_failure(std::exception_ptr failure);
  output_port& producer_for(std::string_view topic);

  output_port& producer_;
  routes other_clusters_;
  std::deque<kafka::delivery> in_flight_;
  std::exception_ptr first_failure_;
};

}  // namespace sluice::runtime
