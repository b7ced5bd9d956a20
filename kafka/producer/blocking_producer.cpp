#include "kafka/producer/blocking_producer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <thread>

#include "kafka/producer/producer.hpp"
#include "kafka/protocol/error_code.hpp"

namespace sluice::kafka {

struct blocking_producer::state {
  asio::io_context context{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{context.get_executor()};
  std::thread thread;
  std::unique_ptr<kafka::producer> producer;
  bool closed = false;

  // Runs a coroutine on the producer's thread and waits for its result.
  template <typename T>
  T run(asio::awaitable<T> task) {
    return asio::co_spawn(context, std::move(task), asio::use_future).get();
  }
};

namespace {

// Queues the record (fulfilling `queued`), then waits for its delivery.
asio::awaitable<record_metadata> send_and_deliver(
    producer* p, std::shared_ptr<std::promise<void>> queued, std::string topic,
    std::optional<protocol::bytes> value, std::optional<protocol::bytes> key,
    std::optional<partition_id> partition, std::optional<timestamp_ms> timestamp,
    std::vector<records::record_header> headers) {
  delivery handle;
  try {
    handle = co_await p->send(std::move(topic), std::move(value), std::move(key), partition,
                              timestamp, std::move(headers));
  } catch (...) {
    queued->set_exception(std::current_exception());
    throw;
  }
  queued->set_value();
  co_return co_await handle.get();
}

asio::awaitable<void> start_producer(producer* p) {
  co_await p->start();
}
asio::awaitable<void> flush_producer(producer* p) {
  co_await p->flush();
}
asio::awaitable<void> commit(producer* p) {
  co_await p->commit_transaction();
}
asio::awaitable<void> abort(producer* p) {
  co_await p->abort_transaction();
}
asio::awaitable<void> stop_producer(producer* p, std::chrono::milliseconds timeout) {
  co_await p->stop(timeout);
}
asio::awaitable<std::vector<partition_id>> partitions(producer* p, std::string topic) {
  co_return co_await p->partitions_for(std::move(topic));
}
asio::awaitable<void> send_offsets(producer* p,
                                   std::map<topic_partition, offset_and_metadata> offsets,
                                   consumer_group_metadata group) {
  co_await p->send_offsets_to_transaction(std::move(offsets), std::move(group));
}
asio::awaitable<void> begin(producer* p) {
  p->begin_transaction();
  co_return;
}

}  // namespace

record_metadata blocking_producer::future::get(std::chrono::milliseconds timeout) {
  if (timeout != std::chrono::milliseconds::max() &&
      result_.wait_for(timeout) != std::future_status::ready) {
    throw kafka_error(error_code::request_timed_out,
                      "delivery not known within " + std::to_string(timeout.count()) + " ms");
  }
  return result_.get();
}

bool blocking_producer::future::done() const {
  return result_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

blocking_producer::blocking_producer(producer_config config) : state_(std::make_unique<state>()) {
  state_->producer = std::make_unique<producer>(state_->context.get_executor(), std::move(config));
  state_->thread = std::thread([context = &state_->context] { context->run(); });
  try {
    state_->run(start_producer(state_->producer.get()));
  } catch (...) {
    close(std::chrono::milliseconds(0));
    throw;
  }
}

blocking_producer::~blocking_producer() {
  close();
}

blocking_producer::future blocking_producer::send(std::string topic,
                                                  std::optional<protocol::bytes> value,
                                                  std::optional<protocol::bytes> key,
                                                  std::optional<partition_id> partition,
                                                  std::optional<timestamp_ms> timestamp,
                                                  std::vector<records::record_header> headers) {
  auto queued = std::make_shared<std::promise<void>>();
  auto enqueued = queued->get_future();
  auto result = asio::co_spawn(
      state_->context,
      send_and_deliver(state_->producer.get(), queued, std::move(topic), std::move(value),
                       std::move(key), partition, timestamp, std::move(headers)),
      asio::use_future);
  // Wait until queued, so that the caller's next send is queued after this one.
  enqueued.get();
  return future(std::move(result));
}

void blocking_producer::flush() {
  state_->run(flush_producer(state_->producer.get()));
}

std::vector<partition_id> blocking_producer::partitions_for(const std::string& topic) {
  return state_->run(partitions(state_->producer.get(), topic));
}

void blocking_producer::begin_transaction() {
  state_->run(begin(state_->producer.get()));
}
void blocking_producer::commit_transaction() {
  state_->run(commit(state_->producer.get()));
}
void blocking_producer::abort_transaction() {
  state_->run(abort(state_->producer.get()));
}

void blocking_producer::send_offsets_to_transaction(
    std::map<topic_partition, offset_and_metadata> offsets, consumer_group_metadata group) {
  state_->run(send_offsets(state_->producer.get(), std::move(offsets), std::move(group)));
}

void blocking_producer::close(std::chrono::milliseconds timeout) {
  if (!state_ || state_->closed) return;
  state_->closed = true;
  try {
    state_->run(stop_producer(state_->producer.get(), timeout));
  } catch (...) {
    // stop() does not throw for delivery failures; anything else must not escape a destructor.
  }
  // The producer's own coroutines have finished; destroy it on its thread's terms, then join.
  state_->work.reset();
  state_->thread.join();
  state_->producer.reset();
}

}  // namespace sluice::kafka
