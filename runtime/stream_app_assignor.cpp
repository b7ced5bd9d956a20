#include <spdlog/spdlog.h>

#include <algorithm>

#include "kafka/admin/admin_client.hpp"
#include "runtime/stream_app_impl.hpp"

namespace sluice::runtime {

// A task taken over from an instance that vanished (kill -9, a machine gone) may have that
// instance's transaction still open: read_committed readers of every partition it wrote, and our
// lookup of the task's committed offsets, would wait for the broker to time it out (the
// transaction timeout, and up to as long again for the broker's scan). InitProducerId with the
// vanished instance's transactional id aborts it at once and fences the instance, should it be a
// zombie. Best effort: a failure leaves the wait to the broker.
asio::awaitable<void> stream_app::impl::fence_vanished_owners() {
  if (!assignor || !fencing_config || fenced_for == assignor->assignments()) co_return;
  fenced_for = assignor->assignments();
  for (const auto& transactional_id : assignor->orders().fence) {
    auto fencing = *fencing_config;
    fencing.transactional_id = transactional_id;
    fencing.client_id = fencing_config->client_id + "-fencing";
    kafka::producer fencer(executor, fencing);
    std::string failure;
    try {
      co_await fencer.start();
      co_await fencer.stop();
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (failure.empty()) {
      spdlog::info("{}: fenced vanished instance {} (its open transaction, if any, is aborted)",
                   topology.name, transactional_id);
    } else {
      spdlog::warn(
          "{}: fencing vanished instance {} failed, the broker will time its transaction out: {}",
          topology.name, transactional_id, failure);
    }
  }
}

// The group's committed offsets of these partitions, up to which standbys read tables restored
// from their own topic. The admin's OffsetFetch does not set require_stable: it answers the
// offsets of the last committed transaction at once, where the consumer's lookup would wait for
// the active's open one (under exactly-once there nearly always is one). A short timeout: the
// loop waits for it, and a failure only leaves the limits where they are until a later try.
asio::awaitable<std::map<kafka::topic_partition, std::int64_t>>
stream_app::impl::group_committed_offsets(std::vector<kafka::topic_partition> partitions) {
  kafka::admin_client admin(*admin_cluster, {.api_timeout = standby_limit_lookup_timeout});
  const auto committed = co_await admin.list_group_offsets(topology.name, std::move(partitions));
  std::map<kafka::topic_partition, std::int64_t> offsets;
  for (const auto& [partition, found] : committed) {
    // -1: nothing committed, so the active task's table starts empty.
    if (found.error.ok()) offsets.emplace(partition, std::max<std::int64_t>(found.offset, 0));
  }
  co_return offsets;
}

// Standby orders of the last assignment, once its partitions are handled; warm-ups that have
// caught up ask for the rebalance that moves their tasks here.
asio::awaitable<void> stream_app::impl::follow_assignor_orders() {
  if (!assignor) co_return;
  auto& standbys = *tasks->standbys();
  if (assignor->assignments() != applied_assignment && !rebalance->pending()) {
    applied_assignment = assignor->assignments();
    co_await standbys.keep(assignor->orders().standbys, tasks->active_ids());
    warmup_rejoin_asked = false;
    next_probe = std::max(clock::now() + config.probing_rebalance_interval, next_probe);
  }
  co_await standbys.update();
  if (clock::now() >= next_state_cleanup) {
    next_state_cleanup = clock::now() + std::chrono::seconds(30);
    standbys.delete_unused_state(config.state_cleanup_delay, tasks->active_ids());
  }
  ask_for_warmed_up_tasks();
}

// A member whose warm-ups have caught up asks for the rebalance that moves their tasks here. It
// asks with a margin (half the acceptable lag: the active moves on while the group rebalances),
// at most once per pause, and when the same warm-ups come back (the leader still saw them behind:
// the active writes faster than the copy follows) the pause doubles up to the probing interval,
// so a busy active never meets a storm of rebalances.
void stream_app::impl::ask_for_warmed_up_tasks() {
  const auto& warmups = assignor->orders().warmups;
  if (warmups.empty() || warmup_rejoin_asked || applied_assignment != assignor->assignments())
    return;
  auto& standbys = *tasks->standbys();
  bool caught_up = true;
  for (const auto& id : warmups) {
    const auto lag = standbys.lag(id);
    caught_up = caught_up && lag && *lag <= config.acceptable_recovery_lag / 2;
  }
  const auto now = clock::now();
  if (!(caught_up && now >= next_warmup_ask) && now < next_probe) return;
  warmup_pause =
      warmups == warmups_asked_for
          ? std::min<clock::duration>(warmup_pause * 2, config.probing_rebalance_interval)
          : clock::duration(first_warmup_pause);
  warmups_asked_for = warmups;
  spdlog::info("{}: {} warm-up task(s) {}: asking for a rebalance", topology.name, warmups.size(),
               caught_up ? "caught up" : "still behind after the probing interval");
  warmup_rejoin_asked = true;
  next_warmup_ask = now + warmup_pause;
  next_probe = now + config.probing_rebalance_interval;
  consumer->request_rejoin();
}

}  // namespace sluice::runtime
