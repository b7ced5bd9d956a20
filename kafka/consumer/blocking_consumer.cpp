#include "kafka/consumer/blocking_consumer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <thread>

#include "kafka/consumer/consumer.hpp"
#include "kafka/consumer/consumer_error.hpp"
#include "kafka/protocol/error_code.hpp"

namespace sluice::kafka {

namespace {

// How long close() waits for the consumer's last handlers after stop() before it abandons them.
constexpr std::chrono::seconds drain_limit{10};

// The coroutine calls, as free functions: no capturing lambda coroutines.
asio::awaitable<void> start(consumer* c) {
  co_await c->start();
}
asio::awaitable<void> stop(consumer* c) {
  co_await c->stop();
}
asio::awaitable<void> unsubscribe(consumer* c) {
  co_await c->unsubscribe();
}
asio::awaitable<std::vector<consumer_record>> getmany(consumer* c,
                                                      std::chrono::milliseconds timeout,
                                                      std::size_t max_records) {
  co_return co_await c->getmany(timeout, max_records);
}
asio::awaitable<void> commit_all(consumer* c) {
  co_await c->commit();
}
asio::awaitable<void> commit_offsets(consumer* c,
                                     std::map<topic_partition, offset_and_metadata> offsets) {
  co_await c->commit(std::move(offsets));
}
asio::awaitable<std::map<topic_partition, std::optional<offset_and_metadata>>> committed(
    consumer* c, std::vector<topic_partition> partitions) {
  co_return co_await c->committed(std::move(partitions));
}
asio::awaitable<void> seek_to_beginning(consumer* c, std::vector<topic_partition> partitions) {
  co_await c->seek_to_beginning(std::move(partitions));
}
asio::awaitable<void> seek_to_end(consumer* c, std::vector<topic_partition> partitions) {
  co_await c->seek_to_end(std::move(partitions));
}
asio::awaitable<log_offset> position(consumer* c, topic_partition partition) {
  co_return co_await c->position(std::move(partition));
}
asio::awaitable<std::map<topic_partition, log_offset>> beginning_offsets(
    consumer* c, std::vector<topic_partition> partitions) {
  co_return co_await c->beginning_offsets(std::move(partitions));
}
asio::awaitable<std::map<topic_partition, log_offset>> end_offsets(
    consumer* c, std::vector<topic_partition> partitions) {
  co_return co_await c->end_offsets(std::move(partitions));
}
asio::awaitable<std::map<topic_partition, std::optional<offset_and_timestamp>>> offsets_for_times(
    consumer* c, std::map<topic_partition, timestamp_ms> timestamps) {
  co_return co_await c->offsets_for_times(std::move(timestamps));
}
asio::awaitable<std::set<std::string>> topics(consumer* c) {
  co_return co_await c->topics();
}
asio::awaitable<std::optional<std::set<partition_id>>> partitions_for_topic(consumer* c,
                                                                            std::string topic) {
  co_return co_await c->partitions_for_topic(std::move(topic));
}

}  // namespace

struct blocking_consumer::state {
  asio::io_context context{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{context.get_executor()};
  std::thread thread;
  std::future<void> finished;  // the thread's run() returned
  std::unique_ptr<kafka::consumer> consumer;
  std::chrono::milliseconds iteration_timeout;
  bool closed = false;

  // Runs a coroutine on the consumer's thread and waits for its result (or exception).
  template <typename T>
  T run(asio::awaitable<T> task) {
    if (closed) throw_closed();
    return asio::co_spawn(context, std::move(task), asio::use_future).get();
  }
  // Runs a plain call on the consumer's thread and waits for it.
  template <typename F>
  auto call(F f) {
    if (closed) throw_closed();
    return asio::post(context, asio::use_future(std::move(f))).get();
  }
  [[noreturn]] static void throw_closed() {
    throw kafka_error(make_error_code(consumer_error::illegal_state),
                      "blocking_consumer: the consumer is closed", false);
  }
};

blocking_consumer::blocking_consumer(consumer_config config,
                                     std::chrono::milliseconds iteration_timeout)
    : state_(std::make_unique<state>()) {
  state_->iteration_timeout = iteration_timeout;
  state_->consumer = std::make_unique<consumer>(state_->context.get_executor(), std::move(config));
  std::packaged_task<void()> body([context = &state_->context] { context->run(); });
  state_->finished = body.get_future();
  state_->thread = std::thread(std::move(body));
  try {
    state_->run(start(state_->consumer.get()));
  } catch (...) {
    close();
    throw;
  }
}

blocking_consumer::~blocking_consumer() {
  close();
}

void blocking_consumer::subscribe(std::vector<std::string> topics,
                                  std::shared_ptr<rebalance_listener> listener) {
  auto* c = state_->consumer.get();
  state_->call([c, &topics, &listener] { c->subscribe(std::move(topics), std::move(listener)); });
}

void blocking_consumer::subscribe(std::regex pattern,
                                  std::shared_ptr<rebalance_listener> listener) {
  auto* c = state_->consumer.get();
  state_->call([c, &pattern, &listener] { c->subscribe(std::move(pattern), std::move(listener)); });
}

void blocking_consumer::unsubscribe() {
  state_->run(kafka::unsubscribe(state_->consumer.get()));
}

std::set<std::string> blocking_consumer::subscription() {
  auto* c = state_->consumer.get();
  return state_->call([c] { return c->subscription(); });
}

void blocking_consumer::assign(std::vector<topic_partition> partitions) {
  auto* c = state_->consumer.get();
  state_->call([c, &partitions] { c->assign(partitions); });
}

std::set<topic_partition> blocking_consumer::assignment() {
  auto* c = state_->consumer.get();
  return state_->call([c] { return c->assignment(); });
}

std::vector<consumer_record> blocking_consumer::poll(std::chrono::milliseconds timeout,
                                                     std::size_t max_records) {
  return state_->run(getmany(state_->consumer.get(), timeout, max_records));
}

std::optional<consumer_record> blocking_consumer::next(std::chrono::milliseconds timeout) {
  auto records = state_->run(getmany(state_->consumer.get(), timeout, 1));
  if (records.empty()) return std::nullopt;
  return std::move(records.front());
}

blocking_consumer::iterator& blocking_consumer::iterator::operator++() {
  current_ = owner_ ? owner_->next(owner_->state_->iteration_timeout) : std::nullopt;
  if (!current_) owner_ = nullptr;
  return *this;
}

void blocking_consumer::commit() {
  state_->run(commit_all(state_->consumer.get()));
}

void blocking_consumer::commit(std::map<topic_partition, offset_and_metadata> offsets) {
  state_->run(commit_offsets(state_->consumer.get(), std::move(offsets)));
}

std::map<topic_partition, std::optional<offset_and_metadata>> blocking_consumer::committed(
    std::vector<topic_partition> partitions) {
  return state_->run(kafka::committed(state_->consumer.get(), std::move(partitions)));
}

void blocking_consumer::seek(const topic_partition& partition, log_offset offset) {
  auto* c = state_->consumer.get();
  state_->call([c, &partition, offset] { c->seek(partition, offset); });
}

void blocking_consumer::seek_to_beginning(std::vector<topic_partition> partitions) {
  state_->run(kafka::seek_to_beginning(state_->consumer.get(), std::move(partitions)));
}

void blocking_consumer::seek_to_end(std::vector<topic_partition> partitions) {
  state_->run(kafka::seek_to_end(state_->consumer.get(), std::move(partitions)));
}

log_offset blocking_consumer::position(const topic_partition& partition) {
  return state_->run(kafka::position(state_->consumer.get(), partition));
}

std::map<topic_partition, log_offset> blocking_consumer::beginning_offsets(
    std::vector<topic_partition> partitions) {
  return state_->run(kafka::beginning_offsets(state_->consumer.get(), std::move(partitions)));
}

std::map<topic_partition, log_offset> blocking_consumer::end_offsets(
    std::vector<topic_partition> partitions) {
  return state_->run(kafka::end_offsets(state_->consumer.get(), std::move(partitions)));
}

std::map<topic_partition, std::optional<offset_and_timestamp>> blocking_consumer::offsets_for_times(
    std::map<topic_partition, timestamp_ms> timestamps) {
  return state_->run(kafka::offsets_for_times(state_->consumer.get(), std::move(timestamps)));
}

std::set<std::string> blocking_consumer::topics() {
  return state_->run(kafka::topics(state_->consumer.get()));
}

std::optional<std::set<partition_id>> blocking_consumer::partitions_for_topic(
    const std::string& topic) {
  return state_->run(kafka::partitions_for_topic(state_->consumer.get(), topic));
}

void blocking_consumer::pause(std::vector<topic_partition> partitions) {
  auto* c = state_->consumer.get();
  state_->call([c, &partitions] { c->pause(partitions); });
}

void blocking_consumer::resume(std::vector<topic_partition> partitions) {
  auto* c = state_->consumer.get();
  state_->call([c, &partitions] { c->resume(partitions); });
}

consumer_group_metadata blocking_consumer::group_metadata() {
  auto* c = state_->consumer.get();
  return state_->call([c] { return c->group_metadata(); });
}

void blocking_consumer::close() {
  if (!state_ || state_->closed) return;
  try {
    state_->run(kafka::stop(state_->consumer.get()));
  } catch (...) {
    // stop() is bounded and reports nothing worth an exception out of a destructor.
  }
  state_->closed = true;
  // stop() ended the background tasks and closed the connections: the context runs out of work.
  // Should a handler linger anyway, stop the context rather than hang the caller.
  state_->work.reset();
  if (state_->finished.wait_for(drain_limit) != std::future_status::ready) state_->context.stop();
  state_->thread.join();
  state_->consumer.reset();
}

}  // namespace sluice::kafka
