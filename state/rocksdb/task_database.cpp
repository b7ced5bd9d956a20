#include "state/rocksdb/task_database.hpp"

#include <fmt/format.h>
#include <fmt/std.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "state/buffered_kv_store.hpp"
#include "state/bytes_table.hpp"
#include "state/cached_table.hpp"
#include "state/segmented_session_store.hpp"
#include "state/segmented_store.hpp"
#include "state/segmented_window_store.hpp"

namespace sluice::state::rocksdb {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view metadata_family = "sluice.meta";
constexpr std::string_view kind_key = "kind";
constexpr std::string_view segment_interval_key = "segment_interval";

[[noreturn]] void fail(const fs::path& directory, std::string_view what,
                       const ::rocksdb::Status& status) {
  throw store_error(fmt::format("state directory {}: {}: {}", directory, what, status.ToString()));
}

}  // namespace

// The open database, shared by the task_database and its stores' tables.
struct task_database::impl {
  fs::path directory;
  std::shared_ptr<memory_budget> memory;
  open_result result;
  ::rocksdb::ColumnFamilyOptions family_options;
  std::unique_ptr<::rocksdb::DB> db;
  ::rocksdb::ColumnFamilyHandle* metadata = nullptr;
  std::map<std::string, ::rocksdb::ColumnFamilyHandle*, std::less<>> families;  // by store name
  std::set<std::string, std::less<>> open_stores;
  ::rocksdb::WriteOptions write_options;

  impl() {
    // The WAL is on, not synced: a commit's write batch reaches the OS before the write returns,
    // so a process crash (kill -9) loses nothing the store committed, and the restart restores
    // only what changed after (see the header).
    write_options.disableWAL = false;
    write_options.sync = false;
  }

  ~impl() {
    if (!db) return;
    try {
      flush();
    } catch (const std::exception& e) {
      // The next start finds an earlier consistent state and restores the gap.
      spdlog::error("state directory {}: flush on close failed: {}", directory, e.what());
    }
    for (auto& [name, family] : families) db->DestroyColumnFamilyHandle(family);
    if (metadata != nullptr) db->DestroyColumnFamilyHandle(metadata);
    auto status = db->Close();
    if (!status.ok()) {
      spdlog::error("state directory {}: close failed: {}", directory, status.ToString());
    }
  }

  void flush() {
    std::vector<::rocksdb::ColumnFamilyHandle*> all{metadata};
    for (auto& [name, family] : families) all.push_back(family);
    ::rocksdb::FlushOptions options;
    options.wait = true;
    auto status = db->Flush(options, all);
    if (!status.ok()) fail(directory, "flush", status);
  }

  std::string metadata_key(std::string_view store, std::string_view name) const {
    return fmt::format("{}/{}", store, name);
  }
};

namespace {

class rocksdb_cursor final : public table_cursor {
 public:
  rocksdb_cursor(std::shared_ptr<task_database::impl> db, ::rocksdb::ColumnFamilyHandle* family,
                 bytes_view from, std::optional<bytes_view> to)
      : db_(std::move(db)) {
    ::rocksdb::ReadOptions options;
    if (to) {
      upper_ = bytes(*to);
      upper_slice_ = ::rocksdb::Slice(upper_);
      options.iterate_upper_bound = &upper_slice_;
    }
    iterator_.reset(db_->db->NewIterator(options, family));
    iterator_->Seek(::rocksdb::Slice(from.data(), from.size()));
    check();
  }
  bool valid() const override { return iterator_->Valid(); }
  bytes_view key() const override {
    auto key = iterator_->key();
    return {key.data(), key.size()};
  }
  bytes_view value() const override {
    auto value = iterator_->value();
    return {value.data(), value.size()};
  }
  void next() override {
    iterator_->Next();
    check();
  }

 private:
  void check() const {
    if (!iterator_->Valid() && !iterator_->status().ok()) {
      fail(db_->directory, "scan", iterator_->status());
    }
  }

  std::shared_ptr<task_database::impl> db_;
  bytes upper_;
  ::rocksdb::Slice upper_slice_;
  std::unique_ptr<::rocksdb::Iterator> iterator_;
};

// One store's column family. Its metadata lives in the metadata column family under
// "<store>/<name>", written in the same WriteBatch as the data.
class rocksdb_table final : public bytes_table {
 public:
  rocksdb_table(std::shared_ptr<task_database::impl> db, std::string store)
      : db_(std::move(db)), store_(std::move(store)), family_(db_->families.at(store_)) {}
  ~rocksdb_table() override { db_->open_stores.erase(store_); }
  rocksdb_table(const rocksdb_table&) = delete;
  rocksdb_table& operator=(const rocksdb_table&) = delete;

  std::optional<bytes> get(bytes_view key) const override {
    bytes value;
    auto status = db_->db->Get(::rocksdb::ReadOptions(), family_,
                               ::rocksdb::Slice(key.data(), key.size()), &value);
    if (status.IsNotFound()) return std::nullopt;
    if (!status.ok()) fail(db_->directory, fmt::format("get in store '{}'", store_), status);
    return value;
  }

  std::unique_ptr<table_cursor> scan(bytes_view from, std::optional<bytes_view> to) const override {
    return std::make_unique<rocksdb_cursor>(db_, family_, from, to);
  }

  std::optional<bytes> metadata(std::string_view name) const override {
    bytes value;
    auto status = db_->db->Get(::rocksdb::ReadOptions(), db_->metadata,
                               db_->metadata_key(store_, name), &value);
    if (status.IsNotFound()) return std::nullopt;
    if (!status.ok()) fail(db_->directory, fmt::format("metadata of store '{}'", store_), status);
    return value;
  }

  void write(const table_write& batch) override {
    ::rocksdb::WriteBatch write_batch;
    auto slice = [](bytes_view view) { return ::rocksdb::Slice(view.data(), view.size()); };
    auto check = [&](const ::rocksdb::Status& status) {
      if (!status.ok()) fail(db_->directory, fmt::format("write to store '{}'", store_), status);
    };
    // Expired segments go in the same batch: a range tombstone, cheap to write and read past.
    for (const auto& [from, to] : batch.delete_ranges) {
      check(write_batch.DeleteRange(family_, slice(from), slice(to)));
    }
    for (const auto& entry : batch.entries) {
      if (entry.value) {
        check(write_batch.Put(family_, slice(entry.key), slice(*entry.value)));
      } else {
        check(write_batch.Delete(family_, slice(entry.key)));
      }
    }
    for (const auto& [name, value] : batch.metadata) {
      check(write_batch.Put(db_->metadata, db_->metadata_key(store_, name), slice(value)));
    }
    check(db_->db->Write(db_->write_options, &write_batch));
  }

 private:
  std::shared_ptr<task_database::impl> db_;
  std::string store_;
  ::rocksdb::ColumnFamilyHandle* family_;
};

struct marker {
  int format = 0;
  std::string application_id;
  std::string task_id;
};

std::string marker_text(const marker& m) {
  return fmt::format("format={}\napplication_id={}\ntask_id={}\n", m.format, m.application_id,
                     m.task_id);
}

// nullopt when the file is missing; an error string when it cannot be parsed.
std::optional<marker> read_marker(const fs::path& path, std::string& error) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  marker m;
  bool has_format = false;
  bool has_app = false;
  bool has_task = false;
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto name = line.substr(0, eq);
    auto value = line.substr(eq + 1);
    if (name == "format") {
      try {
        m.format = std::stoi(value);
        has_format = true;
      } catch (const std::exception&) {
        error = fmt::format("marker format '{}' is not a number", value);
        return m;
      }
    } else if (name == "application_id") {
      m.application_id = value;
      has_app = true;
    } else if (name == "task_id") {
      m.task_id = value;
      has_task = true;
    }
  }
  if (!has_format || !has_app || !has_task)
    error = "marker lacks format, application_id or task_id";
  return m;
}

void write_marker(const fs::path& directory, const marker& m) {
  // Write-then-rename: a crash leaves either no marker (the directory is wiped next time) or
  // a whole one.
  auto path = directory / marker_file_name;
  auto temporary = directory / (std::string(marker_file_name) + ".tmp");
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << marker_text(m);
    out.flush();
    if (!out)
      throw store_error(fmt::format("state directory {}: cannot write {}", directory, temporary));
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) {
    throw store_error(fmt::format("state directory {}: cannot rename {}: {}", directory, temporary,
                                  ec.message()));
  }
}

bool directory_is_empty(const fs::path& directory) {
  return fs::directory_iterator(directory) == fs::directory_iterator();
}

// Why the directory's existing content cannot be used, or nullopt when it can (or there is
// none). Sets `created_reason` when there is nothing to keep.
std::optional<std::string> check_directory(const task_database_options& options,
                                           std::string& created_reason) {
  const auto& directory = options.directory;
  if (!fs::exists(directory)) {
    created_reason = "no state directory";
    return std::nullopt;
  }
  if (!fs::is_directory(directory)) {
    // Not something a task left behind: refuse rather than delete a file we do not know.
    throw store_error(fmt::format("state directory {}: exists but is not a directory", directory));
  }
  if (directory_is_empty(directory)) {
    created_reason = "empty state directory";
    return std::nullopt;
  }
  std::string error;
  auto found = read_marker(directory / marker_file_name, error);
  if (!found) {
    // A RocksDB database without our marker (a crash between creating the database and writing
    // the marker, or another tool's database) is replaced. Anything else is not state at all:
    // a misconfigured directory must never cost a user their files.
    if (fs::exists(directory / "CURRENT") || fs::exists(directory / "IDENTITY")) {
      return fmt::format("a RocksDB database without a {} marker: not a Sluice state directory",
                         marker_file_name);
    }
    throw store_error(fmt::format(
        "state directory {}: not empty and neither a Sluice state directory nor a RocksDB "
        "database; refusing to delete it (point the state directory elsewhere or empty it)",
        directory));
  }
  if (!error.empty()) return error;
  if (found->format != state_format_version || found->application_id != options.application_id ||
      found->task_id != options.task_id) {
    return fmt::format(
        "foreign state: the marker says application '{}', task '{}', format {}; expected "
        "application '{}', task '{}', format {}",
        found->application_id, found->task_id, found->format, options.application_id,
        options.task_id, state_format_version);
  }
  if (!fs::exists(directory / "CURRENT")) return "the marker is there but the database is missing";
  return std::nullopt;
}

::rocksdb::ColumnFamilyOptions family_options(const memory_budget& memory) {
  ::rocksdb::ColumnFamilyOptions options;
  ::rocksdb::BlockBasedTableOptions table;
  table.block_cache = memory.cache();
  // Index and filter blocks count against the budget, kept in the high-priority pool; L0's stay
  // pinned so a flush does not make reads miss them.
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.filter_policy.reset(::rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(::rocksdb::NewBlockBasedTableFactory(table));
  options.write_buffer_size = memory.config().memtable_bytes_per_store;
  return options;
}

// Corruption, or files the database's own metadata names but that are missing: the directory's
// content is unusable. Everything else (a lock held, permissions) is not ours to wipe.
bool is_damage(const ::rocksdb::Status& status) {
  return status.IsCorruption() || status.IsPathNotFound() ||
         (status.IsIOError() && status.subcode() == ::rocksdb::Status::kPathNotFound);
}

}  // namespace

task_database task_database::open(task_database_options options) {
  if (!options.memory) {
    throw store_error(fmt::format("state directory {}: no memory budget given", options.directory));
  }
  if (options.application_id.empty() || options.task_id.empty()) {
    throw store_error(fmt::format("state directory {}: application id and task id are required",
                                  options.directory));
  }
  auto state = std::make_shared<impl>();
  state->write_options.disableWAL = !options.write_ahead_log;
  state->directory = options.directory;
  state->memory = options.memory;
  state->family_options = family_options(*options.memory);

  ::rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.atomic_flush = true;
  // Bounds the WAL: past this, the memtables are flushed and the old log files dropped.
  db_options.max_total_wal_size = 64ull << 20;
  db_options.write_buffer_manager = options.memory->write_buffer_manager();
  db_options.info_log_level = ::rocksdb::InfoLogLevel::WARN_LEVEL;

  auto wipe = [&](const std::string& reason) {
    spdlog::warn(
        "state directory {} (application '{}', task '{}') wiped: {}; its stores will be "
        "restored from their changelogs",
        options.directory, options.application_id, options.task_id, reason);
    std::error_code ec;
    fs::remove_all(options.directory, ec);
    if (ec) {
      throw store_error(fmt::format("state directory {}: cannot wipe it ({}): {}",
                                    options.directory, reason, ec.message()));
    }
    state->result = {open_outcome::wiped, reason};
  };

  std::string created_reason;
  if (auto unusable = check_directory(options, created_reason)) {
    wipe(*unusable);
  } else if (!created_reason.empty()) {
    state->result = {open_outcome::created, created_reason};
    spdlog::info("state directory {}: {}; creating it", options.directory, created_reason);
  } else {
    state->result = {open_outcome::reopened, {}};
  }

  // Twice at most: a damaged database is wiped once and opened empty.
  for (int attempt = 0;; ++attempt) {
    std::error_code ec;
    fs::create_directories(options.directory, ec);
    if (ec) {
      throw store_error(
          fmt::format("state directory {}: cannot create it: {}", options.directory, ec.message()));
    }
    std::vector<std::string> names;
    auto path = options.directory.string();
    if (state->result.outcome == open_outcome::reopened) {
      auto status = ::rocksdb::DB::ListColumnFamilies(db_options, path, &names);
      if (!status.ok()) {
        if (attempt == 0 && is_damage(status)) {
          wipe(fmt::format("RocksDB cannot read it: {}", status.ToString()));
          continue;
        }
        fail(options.directory, "list column families", status);
      }
    }
    std::vector<::rocksdb::ColumnFamilyDescriptor> descriptors;
    descriptors.emplace_back(::rocksdb::kDefaultColumnFamilyName, state->family_options);
    descriptors.emplace_back(std::string(metadata_family), state->family_options);
    for (const auto& name : names) {
      if (name == ::rocksdb::kDefaultColumnFamilyName || name == metadata_family) continue;
      descriptors.emplace_back(name, state->family_options);
    }
    std::vector<::rocksdb::ColumnFamilyHandle*> handles;
    ::rocksdb::DB* db = nullptr;
    auto status = ::rocksdb::DB::Open(db_options, path, descriptors, &handles, &db);
    if (!status.ok()) {
      if (attempt == 0 && is_damage(status)) {
        wipe(fmt::format("RocksDB cannot open it: {}", status.ToString()));
        continue;
      }
      fail(options.directory, "open", status);
    }
    state->db.reset(db);
    // The default family is unused; its handle is owned by the DB.
    db->DestroyColumnFamilyHandle(handles[0]);
    state->metadata = handles[1];
    for (std::size_t i = 2; i < handles.size(); ++i) {
      state->families.emplace(descriptors[i].name, handles[i]);
    }
    break;
  }
  if (state->result.outcome != open_outcome::reopened) {
    write_marker(options.directory,
                 {state_format_version, options.application_id, options.task_id});
  }
  return task_database(std::move(state));
}

task_database::task_database(std::shared_ptr<impl> impl) : impl_(std::move(impl)) {}
task_database::task_database(task_database&&) noexcept = default;
task_database& task_database::operator=(task_database&&) noexcept = default;
task_database::~task_database() = default;

const open_result& task_database::result() const {
  return impl_->result;
}
const fs::path& task_database::directory() const {
  return impl_->directory;
}

void task_database::flush() {
  impl_->flush();
}

namespace {

// Opens or creates the column family of `name`, checks its recorded kind (and segment interval
// for windowed stores), records them for a new store, and marks the store open.
std::unique_ptr<bytes_table> open_table(const std::shared_ptr<task_database::impl>& db,
                                        const std::string& name, std::string_view kind,
                                        std::optional<std::int64_t> segment_interval) {
  check_store_name(name);
  if (name == metadata_family || name == ::rocksdb::kDefaultColumnFamilyName) {
    throw store_error(fmt::format("store name '{}' is reserved", name));
  }
  if (db->open_stores.contains(name)) {
    throw store_error(
        fmt::format("state directory {}: store '{}' is already open", db->directory, name));
  }
  if (!db->families.contains(name)) {
    ::rocksdb::ColumnFamilyHandle* handle = nullptr;
    auto status = db->db->CreateColumnFamily(db->family_options, name, &handle);
    if (!status.ok()) fail(db->directory, fmt::format("create store '{}'", name), status);
    db->families.emplace(name, handle);
  }
  auto read = [&](std::string_view key) -> std::optional<std::string> {
    std::string value;
    auto status =
        db->db->Get(::rocksdb::ReadOptions(), db->metadata, db->metadata_key(name, key), &value);
    if (status.IsNotFound()) return std::nullopt;
    if (!status.ok()) fail(db->directory, fmt::format("metadata of store '{}'", name), status);
    return value;
  };
  std::string interval_text = segment_interval ? std::to_string(*segment_interval) : "";
  auto recorded_kind = read(kind_key);
  if (recorded_kind && *recorded_kind != kind) {
    throw store_error(
        fmt::format("state directory {}: store '{}' is a {} store, opened as a {} store",
                    db->directory, name, *recorded_kind, kind));
  }
  auto recorded_interval = read(segment_interval_key);
  if (segment_interval && recorded_interval && *recorded_interval != interval_text) {
    // Table keys carry the segment id, so another width would misplace every entry.
    throw store_error(fmt::format(
        "state directory {}: store '{}' was written with segment interval {} ms, now configured "
        "{} ms; keep the interval or delete the task's state directory",
        db->directory, name, *recorded_interval, interval_text));
  }
  if (!recorded_kind || (segment_interval && !recorded_interval)) {
    ::rocksdb::WriteBatch batch;
    batch.Put(db->metadata, db->metadata_key(name, kind_key), std::string(kind));
    if (segment_interval) {
      batch.Put(db->metadata, db->metadata_key(name, segment_interval_key), interval_text);
    }
    auto status = db->db->Write(db->write_options, &batch);
    if (!status.ok()) fail(db->directory, fmt::format("record store '{}'", name), status);
  }
  db->open_stores.insert(name);
  return std::make_unique<cached_table>(std::make_unique<rocksdb_table>(db, name),
                                        db->memory->store_cache());
}

std::int64_t effective_interval(std::chrono::milliseconds retention,
                                std::chrono::milliseconds interval) {
  return interval.count() == 0 ? default_segment_interval(retention.count()) : interval.count();
}

}  // namespace

std::unique_ptr<kv_store> task_database::open_kv_store(std::string name) {
  auto table = open_table(impl_, name, "key-value", std::nullopt);
  return std::make_unique<buffered_kv_store>(std::move(name), std::move(table),
                                             impl_->memory->next_store_write_back());
}

std::unique_ptr<window_store> task_database::open_window_store(std::string name,
                                                               window_store_options options) {
  auto table = open_table(impl_, name, "window",
                          effective_interval(options.retention, options.segment_interval));
  options.write_back = impl_->memory->next_store_write_back();
  return std::make_unique<segmented_window_store>(std::move(name), std::move(table), options);
}

std::unique_ptr<session_store> task_database::open_session_store(std::string name,
                                                                 session_store_options options) {
  auto table = open_table(impl_, name, "session",
                          effective_interval(options.retention, options.segment_interval));
  options.write_back = impl_->memory->next_store_write_back();
  return std::make_unique<segmented_session_store>(std::move(name), std::move(table), options);
}

}  // namespace sluice::state::rocksdb
