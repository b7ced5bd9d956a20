#include "runtime/changelog_restorer.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <set>

#include "kafka/consumer/consumer.hpp"

namespace sluice::runtime {
namespace {

using clock = std::chrono::steady_clock;

constexpr std::chrono::seconds report_every{5};

}  // namespace

kafka::consumer_config restore_consumer_config(const kafka::client_config& client) {
  kafka::consumer_config config;
  static_cast<kafka::client_config&>(config) = client;
  config.client_id = client.client_id + "-restore";
  config.enable_auto_commit = false;
  config.isolation = kafka::isolation_level::read_committed;
  config.offset_reset = kafka::auto_offset_reset::earliest;
  // Restores read in large batches: a batch is applied in one write, sorted by key (see
  // buffered_kv_store::apply), and the larger it is the closer its keys sit in RocksDB's memtable.
  config.max_poll_records = 50'000;
  config.max_partition_fetch_bytes = 8 * 1024 * 1024;
  // A restore asks only for what is there already. The broker answers at once when data is
  // waiting, so a short wait costs nothing while the restore has records to read; at the end of
  // the range (an exactly-once store's recorded offset is its commit marker's) it saves the
  // default 500 ms per store on every clean restart.
  config.fetch_max_wait = std::chrono::milliseconds(10);
  return config;
}

changelog_reader::changelog_reader(kafka::consumer& consumer, std::string label,
                                   std::function<void(std::size_t)> on_batch, reading_mode mode)
    : consumer_(consumer),
      label_(std::move(label)),
      on_batch_(std::move(on_batch)),
      mode_(mode),
      last_report_(clock::now()) {}

asio::awaitable<void> changelog_reader::add(owner_id owner, std::vector<restore_target> targets) {
  owner_progress progress;
  progress.started = clock::now();
  std::vector<kafka::topic_partition> changelogs;
  changelogs.reserve(targets.size());
  for (const auto& target : targets) changelogs.push_back(target.changelog);
  const bool follows = mode_ == reading_mode::follow;
  if (!changelogs.empty()) {
    std::map<kafka::topic_partition, kafka::log_offset> ends;
    std::vector<kafka::topic_partition> without_end;
    for (const auto& target : targets) {
      if (!target.end) without_end.push_back(target.changelog);
    }
    // The high watermark: everything written so far, transactions still open included (see the
    // header); the read_committed fetches wait at each open one until it has ended.
    if (!follows && !without_end.empty())
      ends = co_await consumer_.end_offsets(without_end, kafka::isolation_level::read_uncommitted);
    std::map<kafka::topic_partition, kafka::log_offset> beginnings;
    for (const auto& target : targets) {
      if (target.store->committed_offset()) continue;
      // Named vector, not a braced list, in a co_await expression: GCC 12 miscompiles
      // initializer_list temporaries that live across a suspension point.
      const std::vector<kafka::topic_partition> only(1, target.changelog);
      auto found = co_await consumer_.beginning_offsets(only);
      beginnings.insert(found.begin(), found.end());
    }
    for (const auto& target : targets) {
      store_progress store{target, {}, 0, follows};
      if (target.end) {
        store.outcome.to = *target.end;
      } else if (!follows) {
        store.outcome.to = ends.at(target.changelog).value();
      }
      if (auto committed = target.store->committed_offset()) {
        store.outcome.from = committed->value;
      } else {
        store.outcome.from = beginnings.at(target.changelog).value();
      }
      store.position = store.outcome.from;
      if (!follows && !store.done()) {
        spdlog::info("{}: task {}: restoring store {} from {} offsets {}..{}", label_, owner,
                     target.store->name(), target.changelog.to_string(), store.outcome.from,
                     store.outcome.to);
      }
      progress.stores.push_back(std::move(store));
    }
  }
  owners_[owner] = std::move(progress);
  reassign();
  for (const auto& store : owners_[owner].stores) {
    if (store.fetching()) consumer_.seek(store.target.changelog, kafka::log_offset{store.position});
  }
}

void changelog_reader::remove(const owner_id& owner) {
  if (owners_.erase(owner) > 0) reassign();
}

void changelog_reader::set_limit(const kafka::topic_partition& partition, std::int64_t limit) {
  for (auto& [owner, progress] : owners_) {
    for (auto& store : progress.stores) {
      if (!store.follows || !store.bounded() || store.target.changelog != partition) continue;
      const bool was_fetching = store.fetching();
      store.outcome.to = limit;
      if (was_fetching == store.fetching()) continue;
      reassign();
      // Back where the store is: the consumer may have fetched past the old limit before it
      // stopped (those records were not applied), or never had the partition.
      if (store.fetching()) consumer_.seek(partition, kafka::log_offset{store.position});
    }
  }
}

void changelog_reader::reassign() {
  std::vector<kafka::topic_partition> active;
  for (const auto& [owner, progress] : owners_) {
    for (const auto& store : progress.stores) {
      if (store.fetching()) active.push_back(store.target.changelog);
    }
  }
  consumer_.assign(active);  // partitions kept keep their position
}

std::vector<changelog_reader::store_progress_view> changelog_reader::progress() const {
  std::vector<store_progress_view> out;
  for (const auto& [owner, progress] : owners_) {
    for (const auto& store : progress.stores) {
      out.push_back({owner, store.target.store->name(), store.target.changelog, store.outcome.from,
                     store.position, store.outcome.to, store.outcome.records,
                     clock::now() - progress.started});
    }
  }
  return out;
}

std::int64_t changelog_reader::remaining() const {
  std::int64_t left = 0;
  for (const auto& [owner, progress] : owners_) {
    for (const auto& store : progress.stores)
      left += std::max<std::int64_t>(0, store.outcome.to - store.position);
  }
  return left;
}

std::optional<std::int64_t> changelog_reader::lag(const owner_id& owner) const {
  auto found = owners_.find(owner);
  if (found == owners_.end()) return std::nullopt;
  std::int64_t behind = 0;
  for (const auto& store : found->second.stores) {
    if (store.bounded()) {
      // An input topic's store is caught up at its limit, the group's committed offset: what
      // lies past it is the active task's input, which a takeover processes rather than restores.
      behind += std::max<std::int64_t>(0, store.outcome.to - store.position);
      continue;
    }
    // The last stable offset: a read_committed reader never gets past an open transaction.
    auto end = consumer_.last_stable_offset(store.target.changelog);
    if (!end) return std::nullopt;
    behind += std::max<std::int64_t>(0, end->value() - store.position);
  }
  return behind;
}

asio::awaitable<std::vector<changelog_reader::finished>> changelog_reader::poll(
    std::chrono::milliseconds timeout) {
  std::vector<finished> out;
  bool any_active = false;
  for (const auto& [owner, progress] : owners_) {
    for (const auto& store : progress.stores) any_active = any_active || store.fetching();
  }
  std::map<kafka::topic_partition, std::vector<state::change>> changes;
  // Where each store is: a record below it was applied already (the consumer went back, below).
  // A store restored from an input topic stops at its end; a record there or after is input.
  struct applicable {
    std::int64_t from = 0;
    std::optional<std::int64_t> until;
    const restore_target* target = nullptr;
  };
  std::map<kafka::topic_partition, applicable> applies;
  for (const auto& [owner, progress] : owners_) {
    for (const auto& store : progress.stores) {
      applies[store.target.changelog] = {
          store.position, store.bounded() ? std::optional(store.outcome.to) : std::nullopt,
          &store.target};
    }
  }
  if (any_active) {
    // A short poll: the rest of a range may hold no record at all (an exactly-once store records
    // the offset after its last record, where the transaction's commit marker sits), and the
    // position passes it without getmany returning anything before its timeout.
    auto batch = co_await consumer_.getmany(timeout);
    for (const auto& record : batch) {
      const kafka::topic_partition changelog{std::string(record.topic), record.partition};
      const auto at = applies.find(changelog);
      if (at != applies.end() && (record.offset < at->second.from ||
                                  (at->second.until && record.offset >= *at->second.until)))
        continue;
      if (at != applies.end() && at->second.target->convert) {
        if (auto change = at->second.target->convert(record))
          changes[changelog].push_back(std::move(*change));
        continue;
      }
      state::change change;
      if (record.key) change.key = std::string(kafka::protocol::as_string_view(*record.key));
      if (record.value) change.value = std::string(kafka::protocol::as_string_view(*record.value));
      changes[changelog].push_back(std::move(change));
    }
  }
  bool assignment_changed = false;
  for (auto& [owner, progress] : owners_) {
    for (auto& store : progress.stores) {
      if (!store.fetching()) continue;
      // The position, not the last record's offset: transaction markers take offsets too. An
      // input topic's restore (or follower) stops at its end, wherever the fetch got to.
      auto position = (co_await consumer_.position(store.target.changelog)).value();
      if (store.bounded()) position = std::min(position, store.outcome.to);
      if (position < store.position) {
        // The consumer went back below what the store holds: a reset after a leader change
        // it took for a log truncation (KIP-320) at the tail, past the last committed record.
        // What the store applied is committed data, which acks=all keeps; read on from there.
        spdlog::warn(
            "{}: task {}: store {}: the consumer went back to {} on {}, below the {} the store "
            "holds; "
            "reading on from there",
            label_, owner, store.target.store->name(), position, store.target.changelog.to_string(),
            store.position);
        consumer_.seek(store.target.changelog, kafka::log_offset{store.position});
        continue;
      }
      auto found = changes.find(store.target.changelog);
      if (found == changes.end() && position == store.position) continue;
      static const std::vector<state::change> none;
      const auto& applied = found == changes.end() ? none : found->second;
      const auto apply_started = clock::now();
      store.target.store->apply(applied, {position});
      store.outcome.applying += clock::now() - apply_started;
      store.outcome.records += applied.size();
      store.position = position;
      if (on_batch_ && !applied.empty()) on_batch_(applied.size());
      if (store.done()) {
        store.outcome.elapsed = clock::now() - progress.started;
        log_done(owner, store);
        assignment_changed = true;
      } else if (store.waiting()) {
        assignment_changed = true;  // at its limit: not fetched until the limit moves
      }
    }
  }
  if (mode_ == reading_mode::restore && clock::now() - last_report_ > report_every &&
      !owners_.empty()) {
    for (const auto& store : progress()) {
      if (store.remaining() == 0) continue;
      spdlog::info("{}: restoring {}{}", label_, describe_progress(store),
                   waiting_for_transaction(store));
    }
    last_report_ = clock::now();
  }
  for (auto it = owners_.begin(); it != owners_.end();) {
    bool all_done = true;
    for (const auto& store : it->second.stores) all_done = all_done && store.done();
    if (!all_done) {
      ++it;
      continue;
    }
    finished done{it->first, {}};
    for (const auto& store : it->second.stores) done.stores.push_back(store.outcome);
    out.push_back(std::move(done));
    it = owners_.erase(it);
  }
  if (assignment_changed) reassign();
  co_return out;
}

std::string changelog_reader::waiting_for_transaction(const store_progress_view& store) const {
  const auto stable = consumer_.last_stable_offset(store.changelog);
  if (!stable || stable->value() > store.position || stable->value() >= store.end) return "";
  return fmt::format(
      "; waiting at offset {} for a transaction to end (a commit's markers on their way, or a "
      "stopped instance's transaction, which fencing or the broker's transaction timeout aborts)",
      stable->value());
}

std::string describe_progress(const changelog_reader::store_progress_view& store) {
  const auto rate = store.rate();
  std::string left =
      rate > 0 ? fmt::format(", about {:.0f} s left", static_cast<double>(store.remaining()) / rate)
               : "";
  return fmt::format("task {}: store {} {}/{} offsets ({} records), {:.0f}/s{}", store.owner,
                     store.store, store.position - store.from, store.end - store.from,
                     store.records, rate, left);
}

void changelog_reader::log_done(const owner_id& owner, const store_progress& store) const {
  spdlog::info(
      "{}: task {}: store {} restored {} records ({} offsets) in {:.2f} s ({:.2f} s writing)",
      label_, owner, store.target.store->name(), store.outcome.records,
      store.outcome.to - store.outcome.from, store.outcome.elapsed.count(),
      store.outcome.applying.count());
}

asio::awaitable<restore_outcome> restore_store(kafka::consumer& consumer, state::state_store& store,
                                               kafka::topic_partition changelog, std::string label,
                                               std::function<void(std::size_t)> on_batch) {
  constexpr std::chrono::milliseconds poll_timeout{20};
  const auto started = clock::now();
  changelog_reader reader(consumer, std::move(label), std::move(on_batch));
  std::vector<restore_target> targets(1, restore_target{&store, std::move(changelog)});
  changelog_reader::owner_id owner = "restore";
  co_await reader.add(std::move(owner), std::move(targets));
  while (true) {
    auto done = co_await reader.poll(poll_timeout);
    if (done.empty()) continue;
    auto outcome = done.front().stores.front();
    outcome.elapsed = clock::now() - started;
    co_return outcome;
  }
}

}  // namespace sluice::runtime
