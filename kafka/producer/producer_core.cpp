#include "kafka/producer/producer_core.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "kafka/net/net_error.hpp"
#include "kafka/producer/failure.hpp"
#include "kafka/protocol/messages/init_producer_id.hpp"

namespace sluice::kafka {

namespace {

constexpr std::int16_t init_producer_id_max = 5;  // v6 is two-phase commit (KIP-939)

accumulator_options accumulator_options_for(const producer_config& config) {
  return accumulator_options{config.batch_size,
                             config.buffer_memory,
                             config.compression,
                             config.compression_level,
                             config.transactional(),
                             config.max_request_size > produce_request_overhead
                                 ? config.max_request_size - produce_request_overhead
                                 : config.max_request_size};
}

// The frame of a spawned task: `owner` lives as long as the task runs.
asio::awaitable<void> owned_task(std::shared_ptr<producer_core> owner, asio::awaitable<void> task) {
  co_await std::move(task);
  (void)owner;
}

}  // namespace

producer_core::producer_core(const asio::any_io_executor& executor_, producer_config config_)
    : executor(executor_),
      config(std::move(config_)),
      net(executor_, static_cast<const client_config&>(config)),
      accumulator(executor_, accumulator_options_for(config)),
      ids(config.idempotent()),
      txn(config.transactional_id),
      wake_timer(executor_),
      progress(executor_),
      tasks(executor_, "producer") {}

void producer_core::spawn(const char* name, asio::awaitable<void> task) {
  tasks.spawn(name, owned_task(shared_from_this(), std::move(task)));
}

void producer_core::wake() {
  sender_due = true;
  if (sleeping) {
    sleeping = false;
    wake_timer.cancel();
  } else {
    wake_pending = true;
  }
}

void producer_core::check_usable(const char* what) const {
  if (fatal) {
    throw kafka_error(error_code::producer_fenced,
                      std::string(what) + ": the producer failed fatally and must be stopped: " +
                          describe_failure(fatal));
  }
  if (state == phase::created || state == phase::starting) {
    throw kafka_error(make_error_code(net_error::bad_configuration),
                      std::string(what) + ": the producer is not started (call start() first)",
                      false);
  }
  if (state != phase::running) {
    throw kafka_error(make_error_code(net_error::connection_closed),
                      std::string(what) + ": the producer is stopped", false);
  }
}

void producer_core::enter_fatal(std::exception_ptr failure) {
  if (!fatal) {
    fatal = std::move(failure);
    spdlog::error("producer: fatal: {}", describe_failure(fatal));
  }
  wake();
  notify_progress();
}

asio::awaitable<void> producer_core::init_idempotent_id(clock::time_point deadline) {
  for (;;) {
    std::string why;
    try {
      auto conn = co_await net.any_connection();
      auto version = std::min(conn->required_version(protocol::api_key::init_producer_id),
                              init_producer_id_max);
      protocol::init_producer_id_request request;
      request.transactional_id = std::nullopt;
      request.transaction_timeout_ms =
          static_cast<std::int32_t>(config.transaction_timeout.count());
      auto response = co_await conn->send(std::move(request), version);
      const auto code = static_cast<error_code>(response.error_code);
      if (code == error_code::none) {
        ids.set_producer(response.producer_id, response.producer_epoch);
        co_return;
      }
      if (classify(code) == error_action::fatal || classify(code) == error_action::abortable) {
        throw kafka_error(code, "InitProducerId for the idempotent producer");
      }
      why = error_name(code);
    } catch (const kafka_error& e) {
      if (!e.retriable()) throw;
      why = e.what();
    }
    if (clock::now() + config.retry_backoff > deadline) {
      throw kafka_error(error_code::request_timed_out,
                        "InitProducerId: no producer id within max_block (" +
                            std::to_string(config.max_block.count()) + " ms); last error: " + why);
    }
    asio::steady_timer pause(executor, config.retry_backoff);
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace sluice::kafka
