#include "runtime/task_assignment.hpp"

#include <algorithm>
#include <numeric>
#include <tuple>

#include "kafka/protocol/wire.hpp"

namespace sluice::runtime {
namespace {

namespace wire = kafka::protocol;

// ---- Encodings -----------------------------------------------------------------------------
//
// report: 'R' version(1) process(int32 length, bytes) offset_sums(int32 n, n * (task, int64))
//         standbys(int32 n, n * task) transactional_id(int32 length, bytes)
// orders: 'O' version(1) standbys(int32 n, n * task) warmups(int32 n, n * task)
//         owners(int32 n, n * (task, int32 length, bytes)) fence(int32 n, n * (int32 length,
//         bytes))
// task:   sub_topology(int32) partition(int32)
// Integers are big-endian (the wire primitives of the Kafka protocol). Lists are in ascending
// order without repeats (as the encoders write them): one value has one encoding. A first byte per
// kind keeps a report from being read as orders; a member of a newer version sends a version this
// build rejects, and the leader then treats it as reporting nothing.

constexpr std::int8_t report_kind = 'R';
constexpr std::int8_t orders_kind = 'O';
constexpr std::int8_t format_version = 1;

// The smallest encoded size of one element: a hostile count cannot make decode allocate more
// than the bytes it was given.
constexpr std::size_t encoded_task_size = 8;
constexpr std::size_t encoded_offset_sum_size = encoded_task_size + 8;

void write_header(wire::writer& out, std::int8_t kind) {
  out.int8(kind);
  out.int8(format_version);
}

bool read_header(wire::reader& in, std::int8_t kind) {
  const auto read_kind = in.int8();
  const auto read_version = in.int8();
  return in.ok() && read_kind == kind && read_version == format_version;
}

void write_task(wire::writer& out, const task_id& task) {
  out.int32(task.sub_topology);
  out.int32(task.partition);
}

task_id read_task(wire::reader& in) {
  task_id task;
  task.sub_topology = in.int32();
  task.partition = in.int32();
  return task;
}

void write_tasks(wire::writer& out, const std::set<task_id>& tasks) {
  out.int32(static_cast<std::int32_t>(tasks.size()));
  for (const auto& task : tasks) write_task(out, task);
}

// Encoders write each task once; a repeated one means the bytes are not ours.
std::set<task_id> read_tasks(wire::reader& in) {
  std::set<task_id> tasks;
  const auto count = in.array_length(encoded_task_size);
  if (!count) in.fail(wire::decode_error::invalid_value);
  for (std::size_t i = 0; in.ok() && i < count.value_or(0); ++i) {
    const auto task = read_task(in);
    if (!tasks.empty() && !(*tasks.rbegin() < task)) in.fail(wire::decode_error::invalid_value);
    tasks.insert(task);
  }
  return tasks;
}

void write_offset_sums(wire::writer& out, const std::map<task_id, std::int64_t>& sums) {
  out.int32(static_cast<std::int32_t>(sums.size()));
  for (const auto& [task, sum] : sums) {
    write_task(out, task);
    out.int64(sum);
  }
}

std::map<task_id, std::int64_t> read_offset_sums(wire::reader& in) {
  std::map<task_id, std::int64_t> sums;
  const auto count = in.array_length(encoded_offset_sum_size);
  if (!count) in.fail(wire::decode_error::invalid_value);
  for (std::size_t i = 0; in.ok() && i < count.value_or(0); ++i) {
    const auto task = read_task(in);
    const auto sum = in.int64();
    if (!sums.empty() && !(sums.rbegin()->first < task)) in.fail(wire::decode_error::invalid_value);
    sums.emplace(task, sum);
  }
  return sums;
}

std::string to_string(const wire::bytes& bytes) {
  return std::string(wire::as_string_view(bytes));
}

void write_owners(wire::writer& out, const std::map<task_id, std::string>& owners) {
  out.int32(static_cast<std::int32_t>(owners.size()));
  for (const auto& [task, owner] : owners) {
    write_task(out, task);
    out.bytes(wire::as_bytes_view(owner));
  }
}

std::map<task_id, std::string> read_owners(wire::reader& in) {
  std::map<task_id, std::string> owners;
  const auto count = in.array_length(encoded_task_size + 4);
  if (!count) in.fail(wire::decode_error::invalid_value);
  for (std::size_t i = 0; in.ok() && i < count.value_or(0); ++i) {
    const auto task = read_task(in);
    auto owner = to_string(in.bytes());
    if (!owners.empty() && !(owners.rbegin()->first < task))
      in.fail(wire::decode_error::invalid_value);
    owners.emplace(task, std::move(owner));
  }
  return owners;
}

void write_names(wire::writer& out, const std::set<std::string>& names) {
  out.int32(static_cast<std::int32_t>(names.size()));
  for (const auto& name : names) out.bytes(wire::as_bytes_view(name));
}

std::set<std::string> read_names(wire::reader& in) {
  std::set<std::string> names;
  const auto count = in.array_length(4);
  if (!count) in.fail(wire::decode_error::invalid_value);
  for (std::size_t i = 0; in.ok() && i < count.value_or(0); ++i) {
    auto name = to_string(in.bytes());
    if (!names.empty() && !(*names.rbegin() < name)) in.fail(wire::decode_error::invalid_value);
    names.insert(std::move(name));
  }
  return names;
}

// The frame both kinds share: kind and version, then the body.
template <typename WriteBody>
std::string encode(std::int8_t kind, WriteBody write_body) {
  wire::bytes bytes;
  wire::writer out(bytes);
  write_header(out, kind);
  write_body(out);
  return to_string(bytes);
}

// Only bytes of `kind` and this version whose body ends at the last byte: trailing bytes are not
// a format we know either.
template <typename Decoded, typename ReadBody>
std::optional<Decoded> decode(std::string_view bytes, std::int8_t kind, ReadBody read_body) {
  wire::reader in(wire::as_bytes_view(bytes));
  if (!read_header(in, kind)) return std::nullopt;
  Decoded decoded = read_body(in);
  if (!in.ok() || !in.at_end()) return std::nullopt;
  return decoded;
}

}  // namespace

std::string encode_report(const member_task_report& report) {
  return encode(report_kind, [&](wire::writer& out) {
    out.bytes(wire::as_bytes_view(report.process));
    write_offset_sums(out, report.offset_sums);
    write_tasks(out, report.standbys);
    out.bytes(wire::as_bytes_view(report.transactional_id));
  });
}

std::optional<member_task_report> decode_report(std::string_view bytes) {
  return decode<member_task_report>(bytes, report_kind, [](wire::reader& in) {
    member_task_report report;
    report.process = to_string(in.bytes());
    report.offset_sums = read_offset_sums(in);
    report.standbys = read_tasks(in);
    report.transactional_id = to_string(in.bytes());
    return report;
  });
}

std::string encode_orders(const member_task_orders& orders) {
  return encode(orders_kind, [&](wire::writer& out) {
    write_tasks(out, orders.standbys);
    write_tasks(out, orders.warmups);
    write_owners(out, orders.owners);
    write_names(out, orders.fence);
  });
}

std::optional<member_task_orders> decode_orders(std::string_view bytes) {
  return decode<member_task_orders>(bytes, orders_kind, [](wire::reader& in) {
    member_task_orders orders;
    orders.standbys = read_tasks(in);
    orders.warmups = read_tasks(in);
    orders.owners = read_owners(in);
    orders.fence = read_names(in);
    return orders;
  });
}

// ---- The assignor --------------------------------------------------------------------------

namespace {

// Members are named by their index in this order everywhere below: ties always break the same
// way, so every leader of the group (and every run of a test) decides the same.
std::vector<const assignor_member*> in_member_order(const std::vector<assignor_member>& members) {
  std::vector<const assignor_member*> ordered;
  ordered.reserve(members.size());
  for (const auto& member : members) ordered.push_back(&member);
  const auto order_key = [](const assignor_member* member) {
    return std::forward_as_tuple(member->instance_id ? *member->instance_id : member->member_id,
                                 member->member_id);
  };
  std::sort(ordered.begin(), ordered.end(),
            [&](const auto* a, const auto* b) { return order_key(a) < order_key(b); });
  return ordered;
}

// One run of the rules over one group; member indices are positions in in_member_order().
class assignment_planner {
 public:
  assignment_planner(const std::set<task_id>& tasks, const std::vector<assignor_member>& members,
                     const task_assignment_settings& settings)
      : tasks_(tasks),
        members_(in_member_order(members)),
        settings_(settings),
        planned_tasks_(members_.size()),
        balance_load_(members_.size(), 0),
        standby_count_(members_.size(), 0) {}

  task_assignment plan() {
    if (members_.empty()) return {};
    find_freshest_copies();
    keep_current_owners();
    place_unowned_tasks();
    balance();
    return result();
  }

 private:
  using member_index = std::size_t;

  std::int64_t offset_sum(member_index member, const task_id& task) const {
    const auto& sums = members_[member]->report.offset_sums;
    const auto found = sums.find(task);
    return found == sums.end() ? 0 : found->second;
  }

  const std::string& process_of(member_index member) const {
    return members_[member]->report.process;
  }

  void find_freshest_copies() {
    for (const auto& task : tasks_) {
      auto freshest = offset_sum(0, task);
      for (member_index m = 1; m < members_.size(); ++m) {
        freshest = std::max(freshest, offset_sum(m, task));
      }
      freshest_[task] = freshest;
    }
  }

  // The owner runs the task, so its state is as fresh as it gets whatever it reports. The freshest
  // copy is always caught up (a negative lag accepts no lag), so every task has a caught-up member.
  bool caught_up(member_index member, const task_id& task) const {
    const auto owner = current_owner_.find(task);
    if (owner != current_owner_.end() && owner->second == member) return true;
    const auto lag = std::max<std::int64_t>(settings_.acceptable_recovery_lag, 0);
    const auto freshest = freshest_.at(task);
    const auto sum = offset_sum(member, task);
    if (sum >= freshest) return true;
    // freshest - sum is positive and below 2^64: exact in unsigned arithmetic, whatever a
    // (decoded, so untrusted) report says.
    const auto behind = static_cast<std::uint64_t>(freshest) - static_cast<std::uint64_t>(sum);
    return behind <= static_cast<std::uint64_t>(lag);
  }

  void plan_on(member_index member, const task_id& task) {
    planned_owner_[task] = member;
    planned_tasks_[member].insert(task);
    ++balance_load_[member];
  }

  void move_plan(const task_id& task, member_index from, member_index to) {
    planned_tasks_[from].erase(task);
    --balance_load_[from];
    plan_on(to, task);
  }

  // Rule 1. A task two members claim (a zombie's stale claim) stays with the first in order.
  void keep_current_owners() {
    for (member_index m = 0; m < members_.size(); ++m) {
      for (const auto& task : members_[m]->active) {
        if (!tasks_.contains(task) || current_owner_.contains(task)) continue;
        current_owner_[task] = m;
        plan_on(m, task);
      }
    }
  }

  // Rule 2: the least loaded member caught up on the task; among those the freshest copy, since
  // it restores least.
  void place_unowned_tasks() {
    for (const auto& task : tasks_) {
      if (planned_owner_.contains(task)) continue;
      std::optional<member_index> best;
      for (member_index m = 0; m < members_.size(); ++m) {
        if (!caught_up(m, task)) continue;
        if (!best || better_home(m, *best, task)) best = m;
      }
      // The member with the freshest copy is always caught up, so there is a best.
      plan_on(*best, task);
    }
  }

  bool better_home(member_index candidate, member_index best, const task_id& task) const {
    if (balance_load_[candidate] != balance_load_[best]) {
      return balance_load_[candidate] < balance_load_[best];
    }
    return offset_sum(candidate, task) > offset_sum(best, task);  // equal: the earlier member
  }

  // Rule 3. Each step moves one task (for real, or as a warm-up that stands for it) from a
  // member to one at least two tasks lighter, which lowers the sum of the squared loads: the
  // loop ends. Real moves come first; warm-ups only when no move to a caught-up member is left.
  void balance() {
    while (true) {
      if (const auto move = find_move(&assignment_planner::task_to_move)) {
        move_plan(move->task, move->from, move->to);
        continue;
      }
      if (warmups_.size() >= warmup_budget()) return;
      const auto warmup = find_move(&assignment_planner::task_to_warm_up);
      if (!warmup) return;
      start_warmup(*warmup);
    }
  }

  struct task_move {
    member_index from;
    member_index to;
    task_id task;
  };
  using task_picker = std::optional<task_id> (assignment_planner::*)(member_index from,
                                                                     member_index to) const;

  std::size_t warmup_budget() const {
    return static_cast<std::size_t>(std::max(settings_.max_warmup_replicas, 0));
  }

  // The heaviest member paired with the lightest first, so that the worst imbalance goes first.
  std::optional<task_move> find_move(task_picker pick) const {
    const auto heaviest_first = members_by_load(true);
    const auto lightest_first = members_by_load(false);
    for (const auto from : heaviest_first) {
      for (const auto to : lightest_first) {
        if (balance_load_[from] - balance_load_[to] <= 1) break;
        if (auto task = (this->*pick)(from, to)) return task_move{from, to, *task};
      }
    }
    return std::nullopt;
  }

  std::vector<member_index> members_by_load(bool heaviest_first) const {
    std::vector<member_index> order(members_.size());
    std::iota(order.begin(), order.end(), member_index{0});
    std::stable_sort(order.begin(), order.end(), [&](member_index a, member_index b) {
      return heaviest_first ? balance_load_[a] > balance_load_[b]
                            : balance_load_[a] < balance_load_[b];
    });
    return order;
  }

  // A task planned on `from` that is not already warming up elsewhere (it counts as gone).
  bool movable(const task_id& task) const { return !warmups_.contains(task); }

  // Among the tasks `to` is caught up on, the one it has the freshest copy of; then one that
  // needs no handoff (nobody runs it now, or `to` does), which saves a rebalance; then task order.
  std::optional<task_id> task_to_move(member_index from, member_index to) const {
    std::optional<task_id> best;
    for (const auto& task : planned_tasks_[from]) {
      if (!movable(task) || !caught_up(to, task)) continue;
      if (!best || better_task_to_move(task, *best, to)) best = task;
    }
    return best;
  }

  bool needs_handoff(const task_id& task, member_index to) const {
    const auto owner = current_owner_.find(task);
    return owner != current_owner_.end() && owner->second != to;
  }

  bool better_task_to_move(const task_id& candidate, const task_id& best, member_index to) const {
    const auto candidate_sum = offset_sum(to, candidate);
    const auto best_sum = offset_sum(to, best);
    if (candidate_sum != best_sum) return candidate_sum > best_sum;
    return !needs_handoff(candidate, to) && needs_handoff(best, to);
  }

  // The task `to` is closest to catching up on (the least to restore before it can take over).
  std::optional<task_id> task_to_warm_up(member_index from, member_index to) const {
    std::optional<task_id> best;
    for (const auto& task : planned_tasks_[from]) {
      if (!movable(task)) continue;
      if (!best || offset_sum(to, task) > offset_sum(to, *best)) best = task;
    }
    return best;
  }

  // The task stays where it is planned; for the balance it is on its way to `to`.
  void start_warmup(const task_move& warmup) {
    warmups_[warmup.task] = warmup.to;
    --balance_load_[warmup.from];
    ++balance_load_[warmup.to];
  }

  // Rule 4: a task planned away from the live member that owns it is withheld from both.
  bool withheld(const task_id& task) const {
    const auto owner = current_owner_.find(task);
    return owner != current_owner_.end() && owner->second != planned_owner_.at(task);
  }

  task_assignment result() {
    task_assignment out;
    for (const auto* member : members_) {
      out.active[member->member_id];
      out.orders[member->member_id];
    }
    for (const auto& [task, owner] : planned_owner_) {
      if (withheld(task)) {
        out.withheld.insert(task);
        // Its new owner keeps (or opens) a standby of it meanwhile: the warm-up it caught up
        // goes on following the changelogs and is taken over in the next rebalance, instead of
        // being closed for one rebalance and reopened from disk with the gap to restore. Not
        // counted among the task's standby replicas (it becomes the active), only in the
        // member's load of standbys.
        out.orders[members_[owner]->member_id].standbys.insert(task);
        ++standby_count_[owner];
      } else {
        out.active[members_[owner]->member_id].insert(task);
      }
    }
    for (const auto& [task, member] : warmups_) {
      auto& orders = out.orders[members_[member]->member_id];
      orders.warmups.insert(task);
      orders.standbys.insert(task);
      ++standby_count_[member];
    }
    for (const auto& task : tasks_) place_standbys(task, out);
    return out;
  }

  // Rule 5. The planned owner is left out: it runs the task, or (withheld) is about to and holds
  // a standby of it for the handoff (result()). The current owner of a withheld task is a good
  // standby: it holds the freshest state.
  void place_standbys(const task_id& task, task_assignment& out) {
    std::set<member_index> holders;
    if (const auto warmup = warmups_.find(task); warmup != warmups_.end()) {
      holders.insert(warmup->second);
    }
    const auto owner = planned_owner_.at(task);
    while (holders.size() < static_cast<std::size_t>(std::max(settings_.standby_replicas, 0))) {
      std::optional<member_index> best;
      for (member_index m = 0; m < members_.size(); ++m) {
        if (m == owner || holders.contains(m)) continue;
        if (!best || better_standby(m, *best, owner, task)) best = m;
      }
      if (!best) return;  // fewer members than replicas: fewer standbys
      holders.insert(*best);
      ++standby_count_[*best];
      out.orders[members_[*best]->member_id].standbys.insert(task);
    }
  }

  bool better_standby(member_index candidate, member_index best, member_index owner,
                      const task_id& task) const {
    const bool candidate_elsewhere = process_of(candidate) != process_of(owner);
    const bool best_elsewhere = process_of(best) != process_of(owner);
    if (candidate_elsewhere != best_elsewhere) return candidate_elsewhere;
    const auto candidate_sum = offset_sum(candidate, task);
    const auto best_sum = offset_sum(best, task);
    if (candidate_sum != best_sum) return candidate_sum > best_sum;
    return standby_count_[candidate] < standby_count_[best];  // equal: the earlier member
  }

  const std::set<task_id>& tasks_;
  const std::vector<const assignor_member*> members_;
  const task_assignment_settings& settings_;
  std::map<task_id, std::int64_t> freshest_;       // the highest offset sum any member reports
  std::map<task_id, member_index> current_owner_;  // rule 1's owner: the live member running it
  std::map<task_id, member_index> planned_owner_;  // where the task ends up
  std::vector<std::set<task_id>> planned_tasks_;   // the same, per member
  std::vector<int> balance_load_;            // planned tasks, warm-ups counted on their target
  std::map<task_id, member_index> warmups_;  // task -> the member warming up for it
  std::vector<int> standby_count_;           // standbys and warm-ups given to each member
};

}  // namespace

task_assignment assign_tasks(const std::set<task_id>& tasks,
                             const std::vector<assignor_member>& members,
                             const task_assignment_settings& settings) {
  return assignment_planner(tasks, members, settings).plan();
}

}  // namespace sluice::runtime
