#include "kafka/producer/producer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>

#include "kafka/client/clock.hpp"
#include "kafka/producer/batch_completion.hpp"
#include "kafka/producer/failure.hpp"
#include "kafka/producer/partitioner.hpp"
#include "kafka/producer/producer_core.hpp"
#include "kafka/producer/sender.hpp"
#include "kafka/producer/transaction_manager.hpp"

// The public calls and the send path (partition choice, waiting for metadata and buffer memory,
// appending to the queues). The rest of the producer is in its parts: the sender (sender.hpp,
// with the rules it keeps), what becomes of a batch that came back (batch_completion.hpp),
// idempotence (idempotence.hpp), the transaction state machine (transaction_state.hpp) and the
// transaction coordinator's requests (transaction_manager.hpp), sharing producer_core.hpp.

namespace sluice::kafka {

namespace {

using clock = producer_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

[[noreturn]] void throw_state(const std::string& what) {
  throw kafka_error(error_code::invalid_txn_state, what);
}

}  // namespace

// The producer's parts on its shared core; the send path.
//
// Threading: the single-threaded executor given to the producer.
struct producer::impl : producer_core {
  impl(const asio::any_io_executor& executor_, producer_config config_)
      : producer_core(executor_, std::move(config_)),
        outcomes(*this),
        transactions(executor_, net, config, ids, txn, accumulator, fatal,
                     [this](std::exception_ptr failure) { enter_fatal(std::move(failure)); }),
        sending(*this, outcomes, transactions) {}

  batch_completion outcomes;
  transaction_manager transactions;
  sender sending;

  void check_can_send(std::string_view topic) const {
    check_usable("send");
    if (txn.enabled()) txn.check_can_send(topic);
  }

  // The sender must run soon: a batch filled up, a caller waits for memory, or a new batch's
  // linger ends before the sender would wake anyway.
  bool must_wake(const record_accumulator::append_result& result) const {
    return result.batch_full || buffer_waiters > 0 ||
           (result.new_batch && result.created + config.linger < sleep_until);
  }

  std::int32_t choose_partition(topic_queue& topic, std::optional<partition_id> chosen_by_caller,
                                std::optional<protocol::bytes_view> key,
                                std::optional<protocol::bytes_view> value, std::size_t size) {
    const auto count = static_cast<std::int32_t>(topic.partitions.size());
    if (chosen_by_caller) {
      const auto partition = chosen_by_caller->value();
      if (partition < 0 || partition >= count) {
        throw kafka_error(error_code::unknown_topic_or_partition,
                          "send to topic '" + *topic.name + "': partition " +
                              std::to_string(partition) + " does not exist (the topic has " +
                              std::to_string(count) + " partitions)");
      }
      return partition;
    }
    if (config.partitioner) {
      const auto chosen = config.partitioner->partition(topic.info, key, value);
      if (chosen < 0 || chosen >= count) {
        throw kafka_error(error_code::unknown_topic_or_partition,
                          "send to topic '" + *topic.name + "': the partitioner chose partition " +
                              std::to_string(chosen) + " of " + std::to_string(count));
      }
      return chosen;
    }
    if (key && !config.partitioner_ignore_keys) return partition_for_key(*key, count);
    return topic.sticky.next(topic.info, accumulator.estimated_record_bytes(topic, size),
                             config.batch_size);
  }

  void check_size(std::string_view topic, std::size_t size) const {
    if (size > config.max_request_size || size > config.buffer_memory) {
      throw kafka_error(error_code::message_too_large,
                        "send to '" + std::string(topic) + "': the record is about " +
                            std::to_string(size) + " bytes, more than max_request_size (" +
                            std::to_string(config.max_request_size) + ") or buffer_memory (" +
                            std::to_string(config.buffer_memory) + ")");
    }
  }

  delivery append(topic_queue& topic, std::optional<partition_id> partition,
                  std::optional<timestamp_ms> timestamp, std::optional<protocol::bytes_view> key,
                  std::optional<protocol::bytes_view> value,
                  std::span<const records::header_view> headers, std::size_t size) {
    const auto chosen = choose_partition(topic, partition, key, value, size);
    auto& queue = topic.partitions[static_cast<std::size_t>(chosen)];
    auto result = accumulator.append(topic, queue, timestamp ? timestamp->value() : wall_clock_ms(),
                                     key, value, headers, size);
    // A transactional producer adds the partition to the transaction before its first batch
    // goes out (version 1: the sender sends AddPartitionsToTxn).
    if (txn.join(queue) || must_wake(result)) wake();
    return std::move(result.handle);
  }

  // The topic's queue, waiting (up to the deadline) for its metadata.
  asio::awaitable<topic_queue*> wait_for_topic(std::string name, clock::time_point deadline) {
    std::string last_error = "the topic is not in the cluster's metadata";
    for (;;) {
      try {
        const auto* info = co_await net.topic(name);
        if (info != nullptr && !info->partitions.empty()) co_return &accumulator.update(*info);
        if (info != nullptr && info->error != error_code::none)
          last_error = error_name(info->error);
      } catch (const kafka_error& e) {
        if (!e.retriable()) throw;
        last_error = e.what();
      }
      if (clock::now() + config.retry_backoff > deadline) {
        throw kafka_error(error_code::unknown_topic_or_partition,
                          "send to '" + name + "': no metadata for the topic after max_block (" +
                              std::to_string(config.max_block.count()) + " ms): " + last_error +
                              " (the producer does not create topics)");
      }
      asio::steady_timer pause(executor, config.retry_backoff);
      co_await pause.async_wait(use_tuple);
      // Force a fresh look instead of the cached miss.
      std::vector<std::string> wanted(1, name);
      try {
        co_await net.refresh_metadata(std::move(wanted));
      } catch (const kafka_error& e) {
        if (!e.retriable()) throw;
        last_error = e.what();
      }
    }
  }

  asio::awaitable<void> wait_for_room(std::string topic, std::size_t size,
                                      clock::time_point deadline) {
    ++buffer_waiters;
    wake();  // everything queued becomes sendable, to free memory sooner
    while (!accumulator.has_room(size) && clock::now() < deadline && state == phase::running &&
           !fatal) {
      co_await wait_progress(deadline);
    }
    --buffer_waiters;
    if (!accumulator.has_room(size)) {
      check_usable("send");
      throw kafka_error(
          error_code::request_timed_out,
          "send to '" + topic + "': buffer_memory (" + std::to_string(config.buffer_memory) +
              " bytes) stayed full for max_block (" + std::to_string(config.max_block.count()) +
              " ms): records are produced faster than the brokers take them");
    }
  }
};

// --- producer ---------------------------------------------------------------------------------
producer::producer(asio::any_io_executor executor, producer_config config) {
  config.validate();
  impl_ = std::make_shared<impl>(std::move(executor), std::move(config));
}

producer::~producer() {
  if (!impl_) return;
  auto& self = *impl_;
  if (self.state != impl::phase::closed) {
    self.state = impl::phase::closed;
    self.outcomes.fail_all_queued(
        make_failure(error_code::request_timed_out, "the producer was destroyed before delivery"));
    self.wake();
    self.net.close();
  }
}

const producer_config& producer::config() const {
  return impl_->config;
}
producer_statistics producer::statistics() const {
  return impl_->statistics;
}

producer_identity producer::identity() const {
  return {producer_id{impl_->ids.producer_id()}, producer_epoch{impl_->ids.producer_epoch()}};
}

void producer::skip_sequence_for_testing(const std::string& topic, partition_id skipped) {
  const auto partition = skipped.value();
  auto* queues = impl_->accumulator.find(topic);
  if (queues == nullptr || partition < 0 ||
      static_cast<std::size_t>(partition) >= queues->partitions.size()) {
    throw std::invalid_argument("skip_sequence_for_testing: unknown partition " + topic + "-" +
                                std::to_string(partition));
  }
  auto& queue = queues->partitions[static_cast<std::size_t>(partition)];
  queue.next_sequence = increment_sequence(queue.next_sequence, 1);
}

int producer::transaction_version() const {
  return impl_->txn.version();
}

void producer::limit_transaction_version_for_testing(int version) {
  if (impl_->state != impl::phase::created)
    throw std::logic_error("limit_transaction_version_for_testing: call it before start()");
  impl_->txn.limit_version(version);
}

void producer::close_connections_for_testing() {
  impl_->sending.close_connections();
}

asio::awaitable<void> producer::start() {
  auto self = impl_;
  if (self->state != impl::phase::created) throw_state("start: the producer was already started");
  self->state = impl::phase::starting;
  const auto deadline = clock::now() + self->config.max_block;
  try {
    co_await self->net.start();
    if (self->txn.enabled()) {
      co_await self->transactions.detect_version(deadline);
      spdlog::debug("producer: {} uses transaction version {}", self->txn.name(),
                    self->txn.version());
      co_await self->transactions.init_producer_id(false, deadline);
    } else if (self->ids.enabled()) {
      co_await self->init_idempotent_id(deadline);
    }
  } catch (...) {
    self->state = impl::phase::closed;
    self->net.close();
    throw;
  }
  self->state = impl::phase::running;
  self->spawn("sender", self->sending.run());
}

asio::awaitable<void> producer::stop(std::chrono::milliseconds timeout) {
  auto self = impl_;
  if (self->state == impl::phase::closed || self->state == impl::phase::closing) co_return;
  const bool was_running = self->state == impl::phase::running;
  self->state = impl::phase::closing;
  const auto deadline = clock::now() + timeout;
  self->wake();
  // Phase one: send what is queued and wait for it, up to the deadline.
  while (was_running && self->accumulator.open_batches() > 0 && clock::now() < deadline &&
         !self->fatal) {
    co_await self->wait_progress(deadline);
  }
  if (was_running && self->config.acks == acks::none) co_await self->sending.write_barrier();
  // Phase two: fail what is left, stop the sender, close the connections (requests in flight
  // fail at once), and wait briefly for the background coroutines.
  self->state = impl::phase::closed;
  self->outcomes.fail_all_queued(
      make_failure(error_code::request_timed_out,
                   "the producer stopped before the record was delivered (stop timeout " +
                       std::to_string(timeout.count()) + " ms)"));
  self->wake();
  self->net.close();
  self->sending.close_connections();
  const auto drain_deadline = clock::now() + std::chrono::seconds(5);
  if (!co_await self->tasks.wait_idle(drain_deadline))
    spdlog::warn("producer: {} background tasks still running after stop", self->tasks.running());
}

asio::awaitable<delivery> producer::send(std::string topic, std::optional<protocol::bytes> value,
                                         std::optional<protocol::bytes> key,
                                         std::optional<partition_id> partition,
                                         std::optional<timestamp_ms> timestamp,
                                         std::vector<records::record_header> headers) {
  auto self = impl_;
  self->check_can_send(topic);
  const auto deadline = clock::now() + self->config.max_block;
  std::vector<records::header_view> header_views;
  header_views.reserve(headers.size());
  for (const auto& header : headers) {
    std::optional<protocol::bytes_view> header_value;
    if (header.value) header_value = protocol::bytes_view(*header.value);
    header_views.push_back({header.key, header_value});
  }
  std::optional<protocol::bytes_view> key_view;
  std::optional<protocol::bytes_view> value_view;
  if (key) key_view = protocol::bytes_view(*key);
  if (value) value_view = protocol::bytes_view(*value);
  const auto size = record_accumulator::estimated_size(key_view, value_view, header_views);
  self->check_size(topic, size);

  auto* queues = self->accumulator.find(topic);
  if (queues == nullptr || queues->partitions.empty())
    queues = co_await self->wait_for_topic(topic, deadline);
  if (!self->accumulator.has_room(size)) co_await self->wait_for_room(topic, size, deadline);
  // Let the sender run first if it was woken (see sender_due).
  if (self->sender_due) co_await asio::post(self->executor, asio::use_awaitable);
  // The state may have changed while waiting.
  self->check_can_send(topic);
  co_return self->append(*queues, partition, timestamp, key_view, value_view, header_views, size);
}

batch_builder producer::create_batch() const {
  const auto& config = impl_->config;
  records::record_batch_builder_options options;
  options.codec = config.compression;
  options.level = config.compression_level;
  options.transactional = impl_->txn.enabled();
  return batch_builder(options, config.batch_size);
}

asio::awaitable<delivery> producer::send_batch(batch_builder batch, std::string topic,
                                               partition_id target) {
  auto self = impl_;
  const auto partition = target.value();
  self->check_can_send(topic);
  const auto where_to = "send a batch of " + std::to_string(batch.record_count()) + " records to " +
                        topic + "-" + std::to_string(partition);
  if (batch.sent_) {
    throw kafka_error(make_error_code(net_error::bad_configuration),
                      where_to + ": the batch was already sent", false);
  }
  if (batch.empty()) {
    throw kafka_error(make_error_code(net_error::bad_configuration),
                      where_to + ": the batch is empty (Kafka has no empty batches)", false);
  }
  if (batch.builder_.options().transactional != self->txn.enabled()) {
    throw kafka_error(make_error_code(net_error::bad_configuration),
                      where_to + ": the batch was not made by this producer's create_batch()",
                      false);
  }
  const auto size = std::max(batch.size(), batch.reserved_);
  if (size + produce_request_overhead > self->config.max_request_size ||
      size > self->config.buffer_memory) {
    throw kafka_error(error_code::message_too_large,
                      where_to + ": the batch is about " + std::to_string(size) +
                          " bytes, more than max_request_size (" +
                          std::to_string(self->config.max_request_size) + ") or buffer_memory (" +
                          std::to_string(self->config.buffer_memory) + ")");
  }
  batch.sent_ = true;
  const auto deadline = clock::now() + self->config.max_block;
  auto* queues = self->accumulator.find(topic);
  if (queues == nullptr || queues->partitions.empty())
    queues = co_await self->wait_for_topic(topic, deadline);
  const auto count = static_cast<std::int32_t>(queues->partitions.size());
  if (partition < 0 || partition >= count) {
    throw kafka_error(error_code::unknown_topic_or_partition,
                      where_to + ": the partition does not exist (the topic has " +
                          std::to_string(count) + " partitions)");
  }
  if (!self->accumulator.has_room(size)) co_await self->wait_for_room(topic, size, deadline);
  self->check_can_send(topic);
  auto& queue = queues->partitions[static_cast<std::size_t>(partition)];
  auto handle = self->accumulator.append_batch(*queues, queue, std::move(batch.builder_),
                                               std::move(batch.timestamps_), size);
  // A closed batch goes out at once (under transaction version 1 after AddPartitionsToTxn).
  self->txn.join(queue);
  self->wake();
  co_return handle;
}

asio::awaitable<record_metadata> producer::send_and_wait(
    std::string topic, std::optional<protocol::bytes> value, std::optional<protocol::bytes> key,
    std::optional<partition_id> partition, std::optional<timestamp_ms> timestamp,
    std::vector<records::record_header> headers) {
  auto handle = co_await send(std::move(topic), std::move(value), std::move(key), partition,
                              timestamp, std::move(headers));
  co_return co_await handle.get();
}

std::optional<delivery> producer::try_send(std::string_view topic,
                                           std::optional<protocol::bytes_view> value,
                                           std::optional<protocol::bytes_view> key,
                                           std::optional<partition_id> partition,
                                           std::optional<timestamp_ms> timestamp,
                                           std::span<const records::header_view> headers) {
  auto& self = *impl_;
  self.check_can_send(topic);
  const auto size = record_accumulator::estimated_size(key, value, headers);
  self.check_size(topic, size);
  auto* queues = self.accumulator.find(topic);
  if (queues == nullptr || queues->partitions.empty() || !self.accumulator.has_room(size) ||
      self.sender_due)
    return std::nullopt;
  return self.append(*queues, partition, timestamp, key, value, headers, size);
}

asio::awaitable<void> producer::flush() {
  auto self = impl_;
  self->check_usable("flush");
  std::vector<std::shared_ptr<detail::batch_state>> waiting;
  for (auto& [name, topic] : self->accumulator.topics()) {
    for (auto& queue : topic->partitions) {
      for (auto* batch : queue.in_flight) waiting.push_back(batch->state);
      for (auto& batch : queue.batches) waiting.push_back(batch->state);
    }
  }
  ++self->flushing;
  self->wake();
  for (auto& state : waiting) co_await state->wait();
  --self->flushing;
  if (self->config.acks == acks::none) co_await self->sending.write_barrier();
}

asio::awaitable<std::vector<partition_id>> producer::partitions_for(std::string topic) {
  auto self = impl_;
  self->check_usable("partitions_for");
  auto* queues = co_await self->wait_for_topic(topic, clock::now() + self->config.max_block);
  std::vector<partition_id> partitions;
  for (const auto& queue : queues->partitions) partitions.push_back(partition_id{queue.partition});
  co_return partitions;
}

void producer::begin_transaction() {
  auto& self = *impl_;
  self.txn.require_transactional("begin_transaction");
  self.check_usable("begin_transaction");
  self.txn.begin();
}

asio::awaitable<void> producer::commit_transaction() {
  auto self = impl_;
  self->txn.require_transactional("commit_transaction");
  self->check_usable("commit_transaction");
  self->txn.start_commit();
  co_await flush();
  while (self->txn.adding()) co_await self->wait_progress(clock::now() + self->config.max_block);
  if (self->fatal) std::rethrow_exception(self->fatal);
  self->txn.check_nothing_failed();
  if (self->txn.needs_end_txn()) co_await self->transactions.end_transaction(true);
  self->txn.reset();
}

asio::awaitable<void> producer::abort_transaction() {
  auto self = impl_;
  self->txn.require_transactional("abort_transaction");
  self->check_usable("abort_transaction");
  self->txn.start_abort();
  // Records not sent yet are dropped (Java: "Failing batch since transaction was aborted").
  self->outcomes.fail_all_queued(
      make_failure(error_code::transaction_abortable,
                   "the transaction of the " + self->txn.name() + " was aborted"));
  const auto deadline = clock::now() + self->config.max_block;
  const auto busy = [&self]() {
    return self->sending.batches_in_flight() > 0 || self->txn.adding();
  };
  while (busy() && clock::now() < deadline && !self->fatal) co_await self->wait_progress(deadline);
  if (self->fatal) std::rethrow_exception(self->fatal);
  if (busy()) {
    throw kafka_error(error_code::request_timed_out,
                      "abort the transaction of the " + self->txn.name() +
                          ": requests still in flight after max_block; call abort again");
  }
  if (self->txn.needs_end_txn()) co_await self->transactions.end_transaction(false);
  if (self->txn.sequence_gap() && self->txn.version() < transaction_version_2) {
    // A batch of the aborted transaction left a sequence gap: start the partitions over under a
    // new epoch (KIP-360). (With version 2 EndTxn has bumped the epoch already.)
    co_await self->transactions.init_producer_id(true, clock::now() + self->config.max_block);
    idempotence::reset_sequences(self->accumulator);
  }
  self->txn.clear_sequence_gap();
  self->txn.reset();
  self->wake();
}

asio::awaitable<void> producer::send_offsets_to_transaction(
    std::map<topic_partition, offset_and_metadata> offsets, consumer_group_metadata group) {
  auto self = impl_;
  self->txn.require_transactional("send_offsets_to_transaction");
  self->check_usable("send_offsets_to_transaction");
  self->txn.check_can_send_offsets(group.group_id);
  co_await self->transactions.send_offsets(std::move(offsets), std::move(group),
                                           clock::now() + self->config.max_block);
}

asio::awaitable<void> producer::send_offsets_to_transaction(
    std::map<topic_partition, offset_and_metadata> offsets, std::string group_id) {
  consumer_group_metadata group;
  group.group_id = std::move(group_id);
  co_await send_offsets_to_transaction(std::move(offsets), std::move(group));
}

asio::awaitable<void> producer::abort_after_failure(std::exception_ptr failure) {
  auto self = impl_;
  if (!self->fatal && self->txn.phase() != transaction_phase::ready) {
    try {
      co_await abort_transaction();
    } catch (const std::exception& e) {
      spdlog::warn("producer: aborting the transaction of the {} after a failure also failed: {}",
                   self->txn.name(), e.what());
    }
  }
  std::rethrow_exception(failure);
}

}  // namespace sluice::kafka
