#include "runtime/checkpoint.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "kafka/protocol/error_code.hpp"
#include "runtime/stream_app.hpp"

namespace sluice::runtime {
namespace {

// The same commit failing this often in a row is not transient (a record too large for the
// topic, an authorisation error): the app stops with it instead of reprocessing forever.
constexpr int max_failures_in_a_row = 5;

// The producer's epoch is gone: a new session (InitProducerId) can go on.
bool producer_fenced(const kafka::kafka_error& e) {
  return e.kafka_code() == kafka::error_code::producer_fenced ||
         e.kafka_code() == kafka::error_code::invalid_producer_epoch;
}

std::map<kafka::topic_partition, kafka::offset_and_metadata> to_commit(
    const std::map<kafka::topic_partition, std::int64_t>& offsets) {
  std::map<kafka::topic_partition, kafka::offset_and_metadata> out;
  for (const auto& [input, offset] : offsets) out[input].offset = offset;
  return out;
}

}  // namespace

checkpoint::checkpoint(const operators::topology& topology, task_manager& tasks,
                       record_collector& collector, input_port& consumer, output_port& producer,
                       const commit_hooks& hooks, runtime_metrics& metrics)
    : topology_(topology),
      tasks_(tasks),
      collector_(collector),
      consumer_(consumer),
      producer_(producer),
      hooks_(hooks),
      metrics_(metrics) {}

bool checkpoint::exactly_once() const {
  return topology_.delivery == operators::delivery_guarantee::exactly_once;
}

void checkpoint::begin_record() {
  if (!exactly_once() || in_transaction_) return;
  try {
    producer_.begin_transaction();
    in_transaction_ = true;
  } catch (const std::exception&) {
    // A producer that failed in the background (fenced): the interval fails at its commit.
    collector_.fail(std::current_exception());
  }
}

asio::awaitable<void> checkpoint::commit() {
  if (!dirty_) co_return;
  const scoped_timer commit_timing(metrics_.commit_time);
  std::vector<store_commit> store_commits;
  const auto offsets = tasks_.consumed_offsets();
  std::exception_ptr failure;
  try {
    store_commits = co_await commit_to_kafka(offsets);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    co_await abort_and_rewind(failure);
    co_return;
  }
  failures_in_a_row_ = 0;
  // Kafka has the interval now. What fails from here on cannot be undone and stops the app; the
  // next start restores the stores' gap from the changelogs.
  if (hooks_.after_kafka_commit) hooks_.after_kafka_commit();
  // 4. Only now do the stores apply their writes, recording how far their changelog got.
  {
    const scoped_timer store_timing(metrics_.store_write_time);
    for (auto& pending : store_commits) pending.store->commit({pending.next_offset()});
  }
  dirty_ = false;
  metrics_.commits.fetch_add(1, std::memory_order_relaxed);
  // 5. At-least-once commits the input offsets last. A failure here (the group moved on) loses
  // nothing: the next owner reprocesses from the older offsets, which at-least-once allows.
  if (topology_.delivery == operators::delivery_guarantee::at_least_once) {
    try {
      auto group_offsets = to_commit(offsets);
      co_await consumer_.commit(std::move(group_offsets));
    } catch (const kafka::kafka_error& e) {
      spdlog::warn(
          "{}: committing the input offsets failed; their records will be processed again: {}",
          topology_.name, e.what());
    }
  }
}

asio::awaitable<std::vector<checkpoint::store_commit>> checkpoint::commit_to_kafka(
    std::map<kafka::topic_partition, std::int64_t> offsets) {
  collector_.check();  // a failed interval is not worth sending on
  // At-least-once writes outputs and changelogs outside a transaction: a changelog record that
  // lands while an output of the same interval is still retrying (a leader down) and then dies
  // with the process would restore a state whose emitted updates were never written, and the
  // replay would count on from it, skipping them. So the outputs are durable first.
  if (!exactly_once()) co_await collector_.confirm();
  // 1. The stores' changes go to their changelogs, with the stream times the operators wrote
  // just now (they keep them in memory between commits).
  std::vector<store_commit> store_commits;
  for (auto& [id, t] : tasks_.tasks()) {
    if (t->processing()) t->processor().before_commit();
    for (auto& entry : t->stores()) {
      if (entry.from_source()) {
        // Its changes are the topic's own records: nothing to write. It commits with the task's
        // position in that topic, which this commit makes the group's.
        entry.store->changes().clear();
        auto position = offsets.find(entry.changelog);
        const auto committed = entry.store->store().committed_offset();
        if (position != offsets.end() && (!committed || committed->value != position->second)) {
          store_commits.push_back({&entry.store->store(), {}, position->second});
        }
        continue;
      }
      auto changes = entry.store->changes().drain();
      if (changes.empty()) continue;
      kafka::delivery last;
      for (auto& [key, value] : changes)
        last = co_await collector_.send_changelog(entry.changelog, key, value);
      metrics_.changelog_records.fetch_add(changes.size(), std::memory_order_relaxed);
      store_commits.push_back({&entry.store->store(), std::move(last)});
    }
  }
  // 2. and 3. Outputs, changelog records and input offsets become durable together, or not at all.
  if (exactly_once()) {
    if (!in_transaction_) {
      producer_.begin_transaction();
      in_transaction_ = true;
    }
    co_await send_offsets_and_confirm(to_commit(offsets));
    if (hooks_.before_transaction_commit) hooks_.before_transaction_commit();
    co_await producer_.commit_transaction();
    in_transaction_ = false;
  } else {
    co_await collector_.confirm();
  }
  collector_.reset();
  co_return store_commits;
}

asio::awaitable<void> checkpoint::send_offsets_and_confirm(
    std::map<kafka::topic_partition, kafka::offset_and_metadata> offsets) {
  // Two round trips that do not depend on each other (TxnOffsetCommit to the group coordinator,
  // the interval's last produce requests to the partition leaders): run together, the commit
  // waits for the slower one instead of both, and every result waits for the commit. Both run to
  // their end (no cancellation half-way through a request); the offsets' failure is reported
  // first, since a fenced producer needs a new session whatever the records' outcome.
  const auto executor = co_await asio::this_coro::executor;
  auto group = consumer_.group_metadata();
  auto [order, offsets_failure, confirm_failure] =
      co_await asio::experimental::make_parallel_group(
          asio::co_spawn(
              executor, producer_.send_offsets_to_transaction(std::move(offsets), std::move(group)),
              asio::deferred),
          asio::co_spawn(executor, collector_.confirm(), asio::deferred))
          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  (void)order;
  if (offsets_failure) std::rethrow_exception(offsets_failure);
  if (confirm_failure) std::rethrow_exception(confirm_failure);
}

asio::awaitable<void> checkpoint::abort_and_rewind(std::exception_ptr failure) {
  std::string reason;
  bool fenced = false;
  try {
    std::rethrow_exception(failure);
  } catch (const kafka::kafka_error& e) {
    // Not allowed to use the transactional id: no retry helps.
    if (e.kafka_code() == kafka::error_code::transactional_id_authorization_failed) throw;
    fenced = producer_fenced(e);
    reason = e.what();
  } catch (const std::exception& e) {
    reason = e.what();
  }
  if (++failures_in_a_row_ >= max_failures_in_a_row) {
    spdlog::error("{}: the commit failed {} times in a row; stopping", topology_.name,
                  failures_in_a_row_);
    std::rethrow_exception(failure);
  }
  if (fenced) {
    // The transaction coordinator aborted our transaction (it outlived transaction.timeout.ms,
    // e.g. while a broker was down) and bumped the epoch; or another process took the
    // transactional id, which the state directory's lock rules out for the default instance id.
    // Kafka Streams treats it as "task migrated": a new producer session, and the work redone.
    spdlog::warn(
        "{}: the producer was fenced; starting a new producer session and reprocessing from the "
        "committed "
        "offsets: {}",
        topology_.name, reason);
    in_transaction_ = false;
    metrics_.aborted_transactions.fetch_add(1, std::memory_order_relaxed);
    co_await producer_.restart();
    co_await rewind();
    co_return;
  }
  spdlog::warn(
      "{}: commit failed, dropping the interval and reprocessing from the committed offsets: {}",
      topology_.name, reason);
  co_await abort_open_transaction();
  co_await rewind();
}

asio::awaitable<void> checkpoint::abort_open_transaction() {
  if (!in_transaction_) co_return;
  in_transaction_ = false;
  metrics_.aborted_transactions.fetch_add(1, std::memory_order_relaxed);
  bool failed = false;
  try {
    co_await producer_.abort_transaction();
  } catch (const kafka::kafka_error& e) {
    // Fenced, or the abort's outcome unknown: a new session's InitProducerId aborts whatever the
    // transactional id still has open, so it is the safe way out of either.
    spdlog::warn("{}: aborting the transaction failed, starting a new producer session: {}",
                 topology_.name, e.what());
    failed = true;
  }
  if (failed) co_await producer_.restart();
}

asio::awaitable<void> checkpoint::drop_interval(std::set<task_id> lost, std::string reason) {
  spdlog::warn("{}: {}: dropping the uncommitted interval", topology_.name, reason);
  co_await abort_open_transaction();
  tasks_.close(lost, false);
  co_await rewind();
}

asio::awaitable<void> checkpoint::rewind() {
  auto inputs = tasks_.abort_all();
  collector_.reset();
  dirty_ = false;
  // Only partitions still assigned: lost ones left the assignment before the event reached us.
  const auto assignment = consumer_.assignment();
  std::vector<kafka::topic_partition> still_ours;
  for (auto& input : inputs) {
    if (assignment.contains(input)) still_ours.push_back(std::move(input));
  }
  if (still_ours.empty()) co_return;
  // The rewind must happen before anything is processed again; a broker down for a while only
  // delays it (the lookup goes to the group coordinator, which moves with its broker).
  constexpr int attempts = 60;
  constexpr std::chrono::milliseconds backoff{500};
  for (int attempt = 1;; ++attempt) {
    std::string retry_reason;
    try {
      co_await consumer_.seek_to_committed(still_ours);
    } catch (const kafka::kafka_error& e) {
      if (!e.retriable() || attempt == attempts) throw;
      retry_reason = e.what();
    }
    if (retry_reason.empty()) co_return;
    spdlog::warn("{}: rewinding to the committed offsets failed, retrying: {}", topology_.name,
                 retry_reason);
    asio::steady_timer pause(co_await asio::this_coro::executor, backoff);
    co_await pause.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> checkpoint::abandon() {
  dirty_ = false;
  collector_.reset();
  if (!in_transaction_) co_return;
  in_transaction_ = false;
  try {
    co_await producer_.abort_transaction();
  } catch (const std::exception& e) {
    spdlog::warn("{}: aborting the open transaction failed: {}", topology_.name, e.what());
  }
}

}  // namespace sluice::runtime
