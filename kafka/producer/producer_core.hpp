#pragma once

// What the parts of one producer share (internal to the producer): its configuration, cluster,
// record queues, idempotence and transaction state, and the signals between the callers and the
// sender. The parts are the send path (producer.cpp), the sender (sender.hpp), what becomes of a
// batch that came back (batch_completion.hpp) and the transaction coordinator's requests
// (transaction_manager.hpp); each holds a reference to this.
//
// Shared with the producer's background coroutines (the sender loop, requests, metadata
// refreshes, connects), which keep it alive while they run (spawn()).
//
// Threading: the single-threaded executor given to the producer.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>

#include "kafka/client/cluster.hpp"
#include "kafka/client/task_group.hpp"
#include "kafka/client/wakeup.hpp"
#include "kafka/producer/idempotence.hpp"
#include "kafka/producer/producer.hpp"
#include "kafka/producer/producer_config.hpp"
#include "kafka/producer/record_accumulator.hpp"
#include "kafka/producer/transaction_state.hpp"

namespace sluice::kafka {

// Space for the ProduceRequest framing around the batches (header, topic names, partition
// entries) when keeping a request under max.request.size.
inline constexpr std::size_t produce_request_overhead = 512;

struct producer_core : std::enable_shared_from_this<producer_core> {
  using clock = producer_clock;
  enum class phase : std::uint8_t { created, starting, running, closing, closed };

  producer_core(const asio::any_io_executor& executor, producer_config config);
  producer_core(const producer_core&) = delete;
  producer_core& operator=(const producer_core&) = delete;

  asio::any_io_executor executor;
  producer_config config;
  cluster net;
  record_accumulator accumulator;
  idempotence ids;
  transaction_state txn;
  producer_statistics statistics;

  phase state = phase::created;
  // Set when the producer cannot go on (fenced, not authorised); every call then throws it.
  std::exception_ptr fatal;

  // The sender loop sleeps on wake_timer until the next linger/backoff deadline or a wake().
  asio::steady_timer wake_timer;
  bool sleeping = false;
  bool wake_pending = false;
  // The sender was woken and has not run since. The sender shares the executor with the caller,
  // so a caller queueing records in a loop that never suspends (try_send()) would keep it, and
  // the connections' reads, from running until buffer_memory is full (32 MB: a whole benchmark
  // run of 100 B records was queued before the first ProduceRequest left). Sends then come in
  // bursts, the broker idle while the buffer fills and the caller idle while it drains. So while
  // the sender is due, try_send() declines and send() yields once before queueing: the sender
  // runs once per full batch, overlapping the caller's work with the network.
  bool sender_due = false;
  clock::time_point sleep_until = clock::time_point::max();
  // A leader moved or a broker is unreachable: the sender refreshes metadata when it may.
  bool metadata_needed = false;
  // Callers that want everything queued sent now, regardless of linger.
  int flushing = 0;
  int buffer_waiters = 0;
  // Woken whenever a batch finishes: send() waiting for buffer memory, stop() and
  // abort_transaction() waiting for in-flight batches.
  wakeup progress;

  // Background coroutines, counted so that stop() can wait for them.
  task_group tasks;

  // Runs `task` in the task group, keeping this alive until it ends.
  void spawn(const char* name, asio::awaitable<void> task);
  void wake();
  void notify_progress() { progress.notify_all(); }
  // Waits until the next progress notification or the deadline.
  asio::awaitable<void> wait_progress(clock::time_point deadline) {
    co_await progress.wait(deadline);
  }
  // Whether the sender sends what is queued without waiting for linger.
  bool forced() const { return flushing > 0 || buffer_waiters > 0 || state == phase::closing; }

  // Throws kafka_error unless the producer is running and has not failed fatally.
  void check_usable(const char* what) const;
  void enter_fatal(std::exception_ptr failure);

  // InitProducerId for an idempotent producer without transactions (any broker answers).
  asio::awaitable<void> init_idempotent_id(clock::time_point deadline);
};

}  // namespace sluice::kafka
