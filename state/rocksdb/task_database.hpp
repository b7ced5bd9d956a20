#pragma once

// task_database: the RocksDB database of ONE task (one input partition of a pipeline), in its
// own directory, with one column family per store and one metadata column family. Stores are
// opened from it; each store's commit is one WriteBatch carrying the store's data AND the
// changelog offset it reflects (and, for windowed stores, the stream time and the expired
// segments' range deletion).
//
// Durability: the WAL is on but never synced. Every commit's WriteBatch (data and offset
// together) is in the OS's page cache when the write returns, so a process crash, kill -9
// included, loses none of it: the restart finds the store at its last commit and restores only
// what changed since. A machine crash can lose the unsynced tail; `atomic_flush` makes every
// flush persist all column families together, so what survives is still a consistent earlier
// state (data and offsets agree) and the restore replays the gap from the changelog, which stays
// the source of truth. Closing (the last store and the task_database released) flushes.
//
// Opening checks the directory:
//   missing or empty           created                 (restore fully)
//   marker mismatch/missing    wiped and created       foreign: another application, task or
//                                                      format version, or not ours at all
//   RocksDB reports corruption wiped and created       e.g. a damaged CURRENT or MANIFEST
//   anything else failing      store_error             e.g. the lock held by another process:
//                                                      never wipe what may be in use
// and says which in open_result(), with a spdlog line giving the reason when it wipes.
//
// Lifetime: stores keep the database open (shared ownership); it closes when the task_database
// and all its stores are gone. One task's thread; the memory budget is the only shared part.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "state/kv_store.hpp"
#include "state/rocksdb/memory_budget.hpp"
#include "state/session_store.hpp"
#include "state/window_store.hpp"

namespace sluice::state::rocksdb {

struct task_database_options {
  std::filesystem::path directory;  // this task's own directory
  std::string application_id;
  std::string task_id;                    // e.g. "0_3": sub-topology 0, partition 3
  std::shared_ptr<memory_budget> memory;  // required: the process-wide budget
  // The WAL (unsynced) makes every commit survive a process crash. Off, a crash loses what was
  // not flushed and the restart restores it from the changelogs; bench/state compares the two.
  bool write_ahead_log = true;
};

enum class open_outcome : std::uint8_t {
  reopened,  // existing state kept: restore from each store's committed_offset()
  created,   // there was no state: restore every store fully
  wiped,     // state was foreign or corrupt and is gone: restore every store fully
};

struct open_result {
  open_outcome outcome = open_outcome::created;
  std::string reason;  // why created or wiped; empty when reopened
  bool needs_full_restore() const { return outcome != open_outcome::reopened; }
};

// The marker file in every task directory: application id, task id and format version.
inline constexpr const char* marker_file_name = "SLUICE_STATE";
inline constexpr int state_format_version = 1;

class task_database {
 public:
  // Throws store_error when the directory cannot be used (permissions, lock held, ...).
  static task_database open(task_database_options options);

  task_database(task_database&&) noexcept;
  task_database& operator=(task_database&&) noexcept;
  ~task_database();

  const open_result& result() const;
  const std::filesystem::path& directory() const;

  // Opens (creating if needed) a store's column family. Throws store_error for a bad or reserved
  // name, a store already open, or a store that exists with another kind or segment interval.
  std::unique_ptr<kv_store> open_kv_store(std::string name);
  std::unique_ptr<window_store> open_window_store(std::string name, window_store_options options);
  std::unique_ptr<session_store> open_session_store(std::string name,
                                                    session_store_options options);

  // Persists every committed write (all column families, atomically). Commits do not flush;
  // with the WAL on a process crash loses nothing anyway, this bounds the WAL's replay.
  void flush();

  struct impl;

 private:
  explicit task_database(std::shared_ptr<impl> impl);
  std::shared_ptr<impl> impl_;
};

}  // namespace sluice::state::rocksdb
