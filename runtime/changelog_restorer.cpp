#include "runtime/changelog_restorer.hpp"

#include "kafka/consumer/consumer.hpp"

#include <spdlog/spdlog.h>

#include <vector>

namespace sluice::runtime {
namespace {

constexpr std::chrono::milliseconds poll_timeout{20};

}  // namespace

kafka::consumer_config restore_consumer_config(const kafka::client_config& client) {
  kafka::consumer_config config;
  static_cast<kafka::client_config&>(config) = client;
  config.client_id = client.client_id + "-restore";
  config.enable_auto_commit = false;
  config.isolation = kafka::isolation_level::read_committed;
  config.offset_reset = kafka::auto_offset_reset::earliest;
  config.max_poll_records = 10'000;  // restores read in large batches
  // A restore asks only for what is there already. The broker answers at once when data is
  // waiting, so a short wait costs nothing while the restore has records to read; at the end of
  // the range (an exactly-once store's recorded offset is its commit marker's) it saves the
  // default 500 ms per store on every clean restart.
  config.fetch_max_wait = std::chrono::milliseconds(10);
  return config;
}

asio::awaitable<restore_outcome> restore_store(kafka::consumer& consumer, state::state_store& store,
                                               kafka::topic_partition changelog, std::string label,
                                               std::function<void(std::size_t)> on_batch) {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  // Named vectors, not braced lists, in co_await expressions: GCC 12 miscompiles
  // initializer_list temporaries that live across a suspension point.
  const std::vector<kafka::topic_partition> only_changelog(1, changelog);
  auto ends = co_await consumer.end_offsets(only_changelog);
  restore_outcome outcome;
  outcome.to = ends.at(changelog);
  if (auto committed = store.committed_offset()) {
    outcome.from = committed->value;
  } else {
    auto beginnings = co_await consumer.beginning_offsets(only_changelog);
    outcome.from = beginnings.at(changelog);
  }
  if (outcome.from >= outcome.to) {  // a clean restart: nothing to restore
    outcome.elapsed = clock::now() - started;
    co_return outcome;
  }
  spdlog::info("{}: restoring store {} from {} offsets {}..{}", label, store.name(), changelog.to_string(),
               outcome.from, outcome.to);
  consumer.assign(only_changelog);
  consumer.seek(changelog, outcome.from);
  std::int64_t position = outcome.from;
  std::vector<state::change> changes;
  auto last_report = clock::now();
  while (position < outcome.to) {
    // A short poll: the rest of the range may hold no record at all (an exactly-once store
    // records the offset after its last record, where the transaction's commit marker sits), and
    // the position passes it without getmany returning anything before its timeout.
    auto batch = co_await consumer.getmany(poll_timeout);
    changes.clear();
    changes.reserve(batch.size());
    for (const auto& record : batch) {
      state::change change;
      if (record.key) change.key = std::string(kafka::protocol::as_string_view(*record.key));
      if (record.value) change.value = std::string(kafka::protocol::as_string_view(*record.value));
      changes.push_back(std::move(change));
    }
    // The position, not the last record's offset: transaction markers take offsets too.
    position = co_await consumer.position(changelog);
    const auto apply_started = clock::now();
    store.apply(changes, {position});
    outcome.applying += clock::now() - apply_started;
    outcome.records += changes.size();
    if (on_batch) on_batch(changes.size());
    if (clock::now() - last_report > std::chrono::seconds(5)) {
      spdlog::info("{}: store {} restored up to offset {} of {}", label, store.name(), position, outcome.to);
      last_report = clock::now();
    }
  }
  const std::vector<kafka::topic_partition> none;
  consumer.assign(none);
  outcome.elapsed = clock::now() - started;
  spdlog::info("{}: store {} restored {} records ({} offsets) in {:.2f} s ({:.2f} s writing)", label, store.name(),
               outcome.records, outcome.to - outcome.from, outcome.elapsed.count(), outcome.applying.count());
  co_return outcome;
}

}  // namespace sluice::runtime
