#pragma once

// state_directory: the application's folder under the state directory
// (`<state_dir>/<application>`), held by one process at a time.
//
// It holds the instance id, made at random on the first start and kept, so that a restarted
// process uses the same transactional id (it fences its own zombie at once: InitProducerId bumps
// the epoch) and the same static membership id (KIP-345: the coordinator hands it its partitions
// back without a rebalance and without waiting for the session timeout). Two live processes with
// one instance id would fence each other forever, so the folder is locked (flock, released by
// the kernel when the process dies, kill -9 included): a second process on the same state
// directory is refused with a clear error.
//
// It also keeps the group member id of the last process (KIP-848): a successor of a process
// killed with kill -9 releases that member on its behalf, so its partitions come back at once
// instead of after the session timeout (kafka::consumer_config::previous_member_id).
//
// Lifetime: the lock is held from construction until destruction.

#include <filesystem>
#include <optional>
#include <string>

namespace sluice::runtime {

class state_directory {
 public:
  // Creates and locks the folder; throws std::runtime_error when another process holds it.
  explicit state_directory(std::filesystem::path app_dir);
  ~state_directory();
  state_directory(const state_directory&) = delete;
  state_directory& operator=(const state_directory&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The instance id kept in the folder (made on first use).
  std::string instance_id();
  // The member id the previous process kept (empty: none).
  std::optional<std::string> member_id() const;
  // Keeps this process's member id for the next one.
  void keep_member_id(const std::string& id);

 private:
  std::filesystem::path path_;
  int lock_fd_ = -1;
};

}  // namespace sluice::runtime
