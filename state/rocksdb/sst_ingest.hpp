#pragma once

// sst_ingest: writes sorted runs of entries as SST files and ingests them into their column
// families in ONE atomic step (rocksdb::DB::IngestExternalFiles records every file in one MANIFEST
// edit: after a crash at any point either all of them are in the database or none). A restore
// batch arrives sorted by key (buffered_kv_store::apply), so it can skip the write path's WAL,
// memtable inserts and later flush, all of which a restore paid before (docs/benchmarks.md,
// "Restore"): the SST file is written once and linked into the database.
//
// The files are written in a scratch folder inside the database's directory and hard-linked into
// the database by the ingestion (move_files); the scratch names are removed afterwards, and
// task_database removes the whole folder at open, which is what a crash leaves behind.
//
// Used by task_database's tables only; one task's thread, like them.

#include <cstddef>
#include <filesystem>
#include <span>

#include "state/bytes_table.hpp"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
struct Options;
}  // namespace rocksdb

namespace sluice::state::rocksdb {

// The scratch folder's name inside a task's database directory.
inline constexpr const char* ingest_scratch_folder = "ingest";

// Batches of fewer entries go through the write path: an ingestion costs a few file syncs and a
// MANIFEST write, and every ingested file is one more for reads until compaction merges it.
inline constexpr std::size_t bulk_ingest_min_entries = 10'000;

// One column family's part of an ingestion: entries ascending by key, of equal keys the later
// last (it wins; the earlier ones are skipped).
struct sorted_run {
  ::rocksdb::ColumnFamilyHandle* family = nullptr;
  std::span<const table_entry> entries;
};

// Writes each non-empty run to its own file in `scratch` and ingests them all at once. Throws
// store_error (naming `directory`) when writing or ingesting fails; the database is then as it
// was.
void ingest_sorted_runs(::rocksdb::DB& db, const ::rocksdb::Options& options,
                        const std::filesystem::path& directory, std::span<const sorted_run> runs);

}  // namespace sluice::state::rocksdb
