#pragma once

// source_table_target: how the changelog_reader reads a task's store that is a table restored
// from its own topic (task_store::from_source(), operators::table_restore::source): each record of
// that input partition becomes the store's change through the code processing uses
// (operators/table_row.hpp: a restored store holds the bytes processing would have written; a
// record that does not decode is skipped), read up to `end`, the group's committed offset of the
// partition. An active task's restore and a standby's follower (which moves `end` on with
// changelog_reader::set_limit) share it.
//
// The target borrows the task's store and plan: it lives no longer than the task.

#include <cstdint>

#include "runtime/changelog_restorer.hpp"
#include "runtime/task.hpp"

namespace sluice::runtime {

// `entry` must be one of `t`'s stores with from_source().
restore_target source_table_target(const task& t, task_store& entry, std::int64_t end);

}  // namespace sluice::runtime
