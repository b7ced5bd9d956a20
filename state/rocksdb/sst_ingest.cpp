#include "state/rocksdb/sst_ingest.hpp"

#include <fmt/format.h>
#include <fmt/std.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_writer.h>

#include <vector>

namespace sluice::state::rocksdb {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const fs::path& directory, std::string_view what,
                       const ::rocksdb::Status& status) {
  throw store_error(fmt::format("state directory {}: {}: {}", directory, what, status.ToString()));
}

// Removes the scratch names of the files written, whatever happened to the ingestion: after a
// successful one the database holds its own links.
class scratch_files {
 public:
  scratch_files() = default;
  scratch_files(const scratch_files&) = delete;
  scratch_files& operator=(const scratch_files&) = delete;
  ~scratch_files() {
    for (const auto& path : paths_) {
      std::error_code ignored;  // a leftover is removed at the next open
      fs::remove(path, ignored);
    }
  }
  const std::string& add(fs::path path) { return paths_.emplace_back(path.string()); }

 private:
  std::vector<std::string> paths_;
};

void write_run(const ::rocksdb::Options& options, const fs::path& directory, const sorted_run& run,
               const std::string& path) {
  // The file stays in the page cache (no invalidation): it is read back as the store's data.
  ::rocksdb::SstFileWriter writer(::rocksdb::EnvOptions(), options, run.family,
                                  /*invalidate_page_cache=*/false);
  auto check = [&](const ::rocksdb::Status& status) {
    if (!status.ok()) fail(directory, fmt::format("writing {}", path), status);
  };
  check(writer.Open(path));
  const auto& entries = run.entries;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    // Of equal keys (adjacent, sorted) only the last is written: it is the latest change.
    if (i + 1 < entries.size() && entries[i + 1].key == entries[i].key) continue;
    const ::rocksdb::Slice key(entries[i].key.data(), entries[i].key.size());
    if (entries[i].value) {
      check(writer.Put(key, ::rocksdb::Slice(entries[i].value->data(), entries[i].value->size())));
    } else {
      check(writer.Delete(key));
    }
  }
  check(writer.Finish());
}

}  // namespace

void ingest_sorted_runs(::rocksdb::DB& db, const ::rocksdb::Options& options,
                        const fs::path& directory, std::span<const sorted_run> runs) {
  const auto scratch = directory / ingest_scratch_folder;
  std::error_code ec;
  fs::create_directories(scratch, ec);
  if (ec) {
    throw store_error(
        fmt::format("state directory {}: cannot create {}: {}", directory, scratch, ec.message()));
  }
  scratch_files files;
  std::vector<::rocksdb::IngestExternalFileArg> args;
  for (const auto& run : runs) {
    if (run.entries.empty()) continue;
    const auto& path = files.add(scratch / fmt::format("{}.sst", run.family->GetID()));
    write_run(options, directory, run, path);
    ::rocksdb::IngestExternalFileArg arg;
    arg.column_family = run.family;
    arg.external_files.push_back(path);
    arg.options.move_files = true;  // hard links: the files are not copied
    // The files are ours and new: no global sequence number needs writing into them.
    arg.options.write_global_seqno = false;
    args.push_back(std::move(arg));
  }
  if (args.empty()) return;
  auto status = db.IngestExternalFiles(args);
  if (!status.ok()) fail(directory, "ingesting a sorted batch", status);
}

}  // namespace sluice::state::rocksdb
