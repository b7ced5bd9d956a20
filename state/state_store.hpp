#pragma once

// state_store: what every store (key-value, window, session; every backend and every decorator)
// offers for transactions and restore. The key-value, window and session interfaces add their
// reads and writes on top.
//
// Transactions (KIP-892's idea): writes never reach the committed state directly. They are
// buffered; reads see the buffer merged over the committed state (read-your-writes). commit()
// applies the buffer together with the changelog offset it reflects, in ONE atomic write, once
// the Kafka transaction that carried the changelog records has committed; abort() drops the
// buffer and leaves the store exactly as it was. apply() is the restore path: changes read from
// the changelog go straight to the committed state, again together with their offset.
//
// Lifetime and threads: a store belongs to one task and is used from that task's thread (or
// strand) only; it is not thread-safe. Visitors passed to scans must not write to the store or
// commit it.

#include <optional>
#include <span>
#include <string>

#include "state/store_types.hpp"

namespace sluice::state {

class state_store {
 public:
  virtual ~state_store() = default;

  virtual const std::string& name() const = 0;

  // Number of buffered (uncommitted) writes.
  virtual std::size_t pending_writes() const = 0;

  // Applies the buffered writes and records `next_offset` (the changelog offset the store now
  // reflects, see changelog_offset) in one atomic write, now or with a later commit (write-back).
  // Throws store_error if `next_offset` is before the committed one.
  virtual void commit(changelog_offset next_offset) = 0;

  // Drops the buffered writes.
  virtual void abort() = 0;

  // Write-back (store_types.hpp): writes what was committed and not yet written to the backend,
  // with its offset, so that a clean restart restores nothing. Not while a transaction is open.
  virtual void flush_committed() = 0;

  // Where a restore starts: the offset recorded by the last commit or apply, or nullopt when the
  // store has never recorded one (restore from the beginning of the changelog).
  virtual std::optional<changelog_offset> committed_offset() const = 0;

  // Restore: applies changes read from the changelog (keys in the changelog layout) and records
  // `next_offset`, in one atomic write. Throws store_error while writes are buffered, for a
  // malformed key, or when `next_offset` goes backwards.
  virtual void apply(std::span<const change> changes, changelog_offset next_offset) = 0;
};

}  // namespace sluice::state
