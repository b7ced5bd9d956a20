#pragma once

// restore_store: brings one store up to the end of its changelog partition, Kafka Streams'
// StoreChangelogReader for one store. It reads with a group-less read_committed consumer (aborted
// transactions must not reach the store) from the offset the store recorded, or from the
// changelog's beginning when it recorded none, to the end offset looked up when it starts, and
// applies every fetched batch together with the position reached in ONE atomic store write. So a
// restore that dies half way resumes where the last batch left off, a clean restart (the store at
// the end already) reads nothing, and a crash only the gap.
//
// stream_app restores each task's stores with it before the task processes; bench/restore times
// it. Runs on the consumer's executor; the consumer must not be used for anything else meanwhile
// (its assignment is replaced, and cleared at the end).

#include "kafka/client/client_config.hpp"
#include "kafka/client/topic_partition.hpp"
#include "kafka/consumer/consumer_config.hpp"
#include "state/state_store.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace sluice::kafka {
class consumer;
}

namespace sluice::runtime {

namespace asio = boost::asio;

// The restore consumer's settings: no group, read_committed, large batches.
kafka::consumer_config restore_consumer_config(const kafka::client_config& client);

struct restore_outcome {
  std::int64_t from = 0;      // the first changelog offset read
  std::int64_t to = 0;        // the end offset reached (from == to: nothing to restore)
  std::uint64_t records = 0;  // records applied (transaction markers take offsets but are none)
  std::chrono::duration<double> elapsed{0};
  std::chrono::duration<double> applying{0};  // of which in store.apply (RocksDB writes)
};

// `on_batch` (optional) is called after each applied batch with its record count; `label` starts
// the progress log lines ("app: task 0_1").
asio::awaitable<restore_outcome> restore_store(kafka::consumer& consumer, state::state_store& store,
                                               kafka::topic_partition changelog, std::string label,
                                               std::function<void(std::size_t)> on_batch = {});

}  // namespace sluice::runtime
