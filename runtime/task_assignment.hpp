#pragma once

// Where each task runs, decided by the group leader from what every member reports: the
// runtime's own assignor for the classic group protocol (Kafka Streams'
// HighAvailabilityTaskAssignor, KIP-441), a pure function so that its decisions are unit-tested on
// their own.
//
// Rules, in order:
//   1. Sticky: a task stays with the member that owns it now (its owned partitions).
//   2. A task nobody owns (new, or its owner gone) goes to a member that is caught up on it
//      (holds its state within acceptable_recovery_lag of the freshest copy any member reports),
//      the least loaded of those; with no copy anywhere every member counts as caught up.
//   3. Balance by task count: loads end within one of each other. A task moves from an overloaded
//      member only to a member caught up on it. Where balance wants a task on a member that is not
//      caught up, the task stays and that member gets it as a warm-up (at most max_warmup_replicas
//      in the group at once); the member asks for a new rebalance once its warm-ups have caught
//      up, and then rule 3 moves the task.
//   4. Cooperative (KIP-429): a task moving between two live members is given to nobody in this
//      rebalance; its owner revokes it and rejoins, and the next rebalance places it by rule 2.
//   5. Standbys: each task gets up to standby_replicas standbys, never on the member running it
//      (nor on the one it is moving to), preferring another process than the active's, then
//      members holding the freshest copy, then the fewest standbys. A warm-up counts as one.
//      A withheld task's new owner holds one more, uncounted, for the handoff: its caught-up
//      copy keeps following the changelogs until the task is taken over from it.
//
// "Offset sum": the sum, over a task's stores, of the changelog offset each store's local state
// has reached. Members read the same changelog partitions, so the sums of one task compare.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/task_id.hpp"

namespace sluice::runtime {

// What a member says of itself in its subscription's user data.
struct member_task_report {
  // The process the member runs in (several stream threads of one process share it): standbys
  // go to another process where there is one, since a process dies with all its threads.
  std::string process;
  // Tasks with local state on this member (active, standby or only on disk): their offset sums.
  std::map<task_id, std::int64_t> offset_sums;
  // The standby (and warm-up) tasks it holds now.
  std::set<task_id> standbys;
  // Its transactional id under exactly-once (empty otherwise): when it vanishes, the member that
  // takes its tasks over fences it, so that its open transaction is aborted at once instead of
  // blocking read_committed readers until the transaction timeout.
  std::string transactional_id;
  auto operator<=>(const member_task_report&) const = default;
};

// What the leader tells a member besides its partitions (the assignment's user data).
struct member_task_orders {
  std::set<task_id> standbys;  // keep these stores up to date from their changelogs
  std::set<task_id> warmups;   // standbys meant to become active here: rejoin once caught up
  // The transactional id of every task's owner as of this assignment (every member gets the whole
  // map, so whichever member leads next knows who owned what), and the transactional ids of
  // vanished owners this member must fence before it opens the tasks it takes from them.
  std::map<task_id, std::string> owners;
  std::set<std::string> fence;
  auto operator<=>(const member_task_orders&) const = default;
};

// Versioned binary encodings; decode returns nullopt for bytes that are not ours or are of a
// version this build does not know (the member is then treated as reporting nothing).
std::string encode_report(const member_task_report& report);
std::optional<member_task_report> decode_report(std::string_view bytes);
std::string encode_orders(const member_task_orders& orders);
std::optional<member_task_orders> decode_orders(std::string_view bytes);

struct assignor_member {
  std::string member_id;
  std::optional<std::string> instance_id;  // members are ordered by it when set, else by member id
  std::set<task_id> active;                // the tasks it owns now (from its owned partitions)
  member_task_report report;
};

struct task_assignment_settings {
  int standby_replicas = 0;
  std::int64_t acceptable_recovery_lag = 10'000;  // Kafka Streams' acceptable.recovery.lag
  int max_warmup_replicas = 2;                    // Kafka Streams' max.warmup.replicas
};

struct task_assignment {
  std::map<std::string, std::set<task_id>> active;   // every member, possibly with none
  std::map<std::string, member_task_orders> orders;  // every member, possibly empty
  std::set<task_id> withheld;                        // moving: given to nobody this time (rule 4)
};

// `tasks`: every task of the topology. Members absent from the result do not exist; a task
// claimed by two members (a zombie's stale claim) stays with the first in member order.
task_assignment assign_tasks(const std::set<task_id>& tasks,
                             const std::vector<assignor_member>& members,
                             const task_assignment_settings& settings);

}  // namespace sluice::runtime
